"""boto3 sessions and clients, made once and reused (never per connect).

boto3 is imported on first use, not when awsdb_iam is imported. Sessions are kept per
profile, clients per (service, profile, region, endpoint); clients made from temporary
credentials (federation) are kept per credentials in a small LRU, so a refreshed token
needs no new client while its credentials last. ``release()`` closes every client.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from typing import Any, NamedTuple

__all__ = ["AwsClients", "TemporaryCredentials"]

_MAX_CREDENTIAL_CLIENTS = 16


class TemporaryCredentials(NamedTuple):
    """Credentials returned by STS. ``repr`` never shows the secret parts."""

    access_key_id: str
    secret_access_key: str
    session_token: str

    def __repr__(self) -> str:
        return "TemporaryCredentials(access_key_id=***, secret_access_key=***, session_token=***)"

    def __str__(self) -> str:
        return self.__repr__()


class AwsClients:
    """The process's boto3 sessions and clients for the authentication plugins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str | None, Any] = {}
        self._clients: dict[tuple[str, str | None, str | None, str | None], Any] = {}
        self._temporary: OrderedDict[tuple[str, str, str, str], Any] = OrderedDict()
        self.sessions_created = 0
        self.clients_created = 0

    def __repr__(self) -> str:
        return (
            f"AwsClients({len(self._sessions)} sessions, "
            f"{len(self._clients) + len(self._temporary)} clients)"
        )

    def session(self, profile: str | None) -> Any:
        """The boto3 session of ``profile`` (``None``: the default credential chain)."""
        with self._lock:
            return self._session_locked(profile)

    def _session_locked(self, profile: str | None) -> Any:
        session = self._sessions.get(profile)
        if session is None:
            import boto3

            session = boto3.session.Session(profile_name=profile)
            self._sessions[profile] = session
            self.sessions_created += 1
        return session

    def client(
        self,
        service: str,
        *,
        profile: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
        signed: bool = True,
    ) -> Any:
        """A shared client of ``service`` (boto3 clients are thread-safe). ``signed=False``
        makes an anonymous client (STS ``AssumeRoleWithSAML`` needs no credentials)."""
        key = (service, profile if signed else "(unsigned)", region, endpoint)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                session = self._session_locked(profile)
                config = None
                if not signed:
                    from botocore import UNSIGNED
                    from botocore.config import Config

                    config = Config(signature_version=UNSIGNED)
                client = session.client(
                    service, region_name=region, endpoint_url=endpoint, config=config
                )
                self._clients[key] = client
                self.clients_created += 1
            return client

    def client_for(self, service: str, region: str, credentials: TemporaryCredentials) -> Any:
        """A client of ``service`` that signs with ``credentials`` (kept in a small LRU)."""
        key = (service, region, credentials.access_key_id, credentials.session_token)
        with self._lock:
            client = self._temporary.get(key)
            if client is not None:
                self._temporary.move_to_end(key)
                return client
            import boto3

            session = boto3.session.Session(
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
                region_name=region,
            )
            client = session.client(service, region_name=region)
            self.clients_created += 1
            self._temporary[key] = client
            while len(self._temporary) > _MAX_CREDENTIAL_CLIENTS:
                _, old = self._temporary.popitem(last=False)
                _close(old)
            return client

    def release(self) -> None:
        """Close every client and forget the sessions."""
        with self._lock:
            clients = [*self._clients.values(), *self._temporary.values()]
            self._clients.clear()
            self._temporary.clear()
            self._sessions.clear()
        for client in clients:
            _close(client)


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):  # a client that cannot close is just dropped
            close()
