"""What the four authentication plugins share: the connect layer and the driver overrides.

A plugin of this kind sits innermost (next to the driver), subscribes to ``connect`` and
``force_connect``, sets ``password`` (and for federation ``user``) for the physical
connection, and on MySQL asks mysql-connector for ``mysql_clear_password``: RDS IAM tokens
are checked by the server's cleartext plugin, and mysql-connector sends a cleartext
password only over TLS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from awsdb import Plugin, hookimpl
from awsdb.errors import ProgrammingError
from awsdb_iam._state import AuthState, auth_state

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties

__all__ = ["AuthPlugin", "driver_overrides"]

_log = logging.getLogger("awsdb_iam")

_TRUE = frozenset({"1", "true", "yes", "on"})

CallNext = Callable[["HostInfo", "Properties", bool], Any]


def _truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def driver_overrides(
    plugin_code: str,
    driver_family: str,
    props: Properties,
    password: str,
    user: str | None = None,
    *,
    cleartext: bool = True,
) -> Properties:
    """``props`` with the credentials set for the driver.

    On MySQL with ``cleartext`` (tokens), ``auth_plugin=mysql_clear_password`` is set unless
    the user chose an ``auth_plugin``; ``ssl_disabled`` then is a clear error, since
    mysql-connector refuses to send a cleartext password without TLS (and RDS requires TLS
    for IAM authentication).
    """
    overrides: dict[str, object] = {"password": password}
    if user is not None:
        overrides["user"] = user
    if cleartext and driver_family == "mysql" and "auth_plugin" not in props:
        if _truthy(props.get("ssl_disabled", False)):
            raise ProgrammingError(
                f"{plugin_code}: IAM tokens reach a MySQL server through the "
                "mysql_clear_password plugin, which mysql-connector only uses over TLS; "
                "remove ssl_disabled (RDS requires TLS for IAM authentication)"
            )
        overrides["auth_plugin"] = "mysql_clear_password"
    return props.with_overrides(**overrides)


class AuthPlugin(Plugin):
    """Base of the token plugins: cache, one retry with a fresh token after a login error."""

    code: ClassVar[str] = ""
    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"connect", "force_connect"})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r})"

    @hookimpl
    def connect(
        self, host: HostInfo, props: Properties, is_initial: bool, call_next: CallNext
    ) -> Any:
        """Open the connection with a (cached) token as password."""
        return self._open(host, props, is_initial, call_next)

    @hookimpl
    def force_connect(
        self, host: HostInfo, props: Properties, is_initial: bool, call_next: CallNext
    ) -> Any:
        """The same as :meth:`connect`: tokens apply to every physical connection."""
        return self._open(host, props, is_initial, call_next)

    def state(self) -> AuthState:
        """The process-wide state (clients, caches)."""
        return auth_state(self.service.services)

    def plan(
        self, host: HostInfo, props: Properties, state: AuthState
    ) -> tuple[str | None, str, int, Callable[[], str]]:
        """``(user override, cache key, lifetime in s, token factory)`` for one connect."""
        raise NotImplementedError

    def cache(self, state: AuthState) -> Any:
        """The token cache of this plugin kind."""
        return state.iam_tokens

    def _open(
        self, host: HostInfo, props: Properties, is_initial: bool, call_next: CallNext
    ) -> Any:
        state = self.state()
        user, key, ttl, create = self.plan(host, props, state)
        cache = self.cache(state)
        token, cached = cache.get_or_create(key, ttl, create)
        family = self.service.driver.family
        conn_props = driver_overrides(self.code, family, props, token, user)
        try:
            return call_next(host, conn_props, is_initial)
        except Exception as exc:
            if not (cached and self.service.is_login_error(exc)):
                raise
            _log.debug("%s: login with the cached token for %s failed; new token", self.code, key)
        cache.invalidate(key, token)
        token, _ = cache.get_or_create(key, ttl, create)
        return call_next(host, driver_overrides(self.code, family, props, token, user), is_initial)
