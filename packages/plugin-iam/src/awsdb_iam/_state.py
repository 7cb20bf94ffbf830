"""The per-process state of the authentication plugins, kept in the core's stash.

One :class:`AuthState` per process services: the boto3 clients, the token and secret
caches and the log guard. It is created on first use (never at import) and released by
``awsdb.release_resources()``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from awsdb.stash import StashKey
from awsdb_iam._aws import AwsClients
from awsdb_iam._cache import ExpiringCache
from awsdb_iam._logguard import ThirdPartyLogGuard

if TYPE_CHECKING:
    from awsdb._service import Services
    from awsdb_iam._secrets import Credentials

__all__ = ["AuthState", "auth_state"]


class AuthState:
    """Shared by every connection of the process. Thread-safe."""

    def __init__(self, services: Services) -> None:
        self.secrets_filter = services.secrets
        self.clients = AwsClients()
        self.iam_tokens: ExpiringCache[str] = ExpiringCache()
        self.federated_tokens: ExpiringCache[str] = ExpiringCache()
        self.secrets: ExpiringCache[Credentials] = ExpiringCache()
        self.regions: ExpiringCache[str] = ExpiringCache()
        self.log_guard = ThirdPartyLogGuard(services.secrets.redact)
        self._guarded = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"AuthState(iam_tokens={self.iam_tokens!r}, "
            f"federated_tokens={self.federated_tokens!r}, secrets={self.secrets!r})"
        )

    def remember_secret(self, value: object) -> None:
        """Have every awsdb log record (and the guarded libraries') redact ``value``."""
        self.secrets_filter.add(value)

    def guard_logs(self) -> None:
        """Attach the third-party log guard (after boto3 / requests are imported)."""
        self.log_guard.attach()

    def release(self) -> None:
        """Close the clients, drop the caches, detach the log guard."""
        self.clients.release()
        self.iam_tokens.clear()
        self.federated_tokens.clear()
        self.secrets.clear()
        self.regions.clear()
        self.log_guard.release()


_KEY: StashKey[AuthState] = StashKey("awsdb_iam.state")


def auth_state(services: Services) -> AuthState:
    """The :class:`AuthState` of ``services``, created once under the stash lock."""
    return services.stash.setdefault(_KEY, lambda: AuthState(services))
