"""The test engine server: a gRPC server on loopback over an in-memory DuckDB."""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc

from ._control import EngineControl
from ._duck import Database
from ._service import EngineService

__all__ = ["SERVER_OPTIONS", "Engine"]

# Tolerate the published client's keepalive pings (every 30 s, also when idle).
SERVER_OPTIONS = [
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10000),
    ("grpc.http2.max_ping_strikes", 0),
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
]


class Engine:
    """A running (after :meth:`start`) e6data-compatible engine on 127.0.0.1.

    ``engine.control`` switches behaviours (phases, suspension, faults...), ``engine.sql()``
    runs setup SQL, ``engine.forget_sessions()`` expires every session. Use as a context
    manager, or call :meth:`stop`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_port: int | None = None,
        tls_cert: bytes | None = None,
        tls_key: bytes | None = None,
        catalogs: tuple[str, ...] = ("e6data",),
        schemas: tuple[str, ...] = (),
        users: dict[str, str] | None = None,
        max_workers: int = 32,
        **settings: Any,
    ) -> None:
        self.host = host
        self.control = EngineControl()
        if users is not None:
            self.control.users = dict(users)
        if settings:
            self.control.set(**settings)
        self.db = Database(catalogs, schemas)
        self.service = EngineService(self.db, self.control)
        self._requested = (port, tls_port)
        self._tls = (tls_cert, tls_key)
        self._max_workers = max_workers
        self._server: grpc.Server | None = None
        self.port = 0
        self.tls_port: int | None = None

    def start(self) -> Engine:
        """Bind the listeners and start serving."""
        server = grpc.server(
            futures.ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix="e6data-engine"
            ),
            handlers=self.service.handlers(),
            options=SERVER_OPTIONS,
        )
        port, tls_port = self._requested
        self.port = server.add_insecure_port(f"{self.host}:{port}")
        cert, key = self._tls
        if tls_port is not None and cert and key:
            creds = grpc.ssl_server_credentials([(key, cert)])
            self.tls_port = server.add_secure_port(f"{self.host}:{tls_port}", creds)
        server.start()
        self._server = server
        return self

    def stop(self, grace: float | None = 0.5) -> None:
        """Stop serving and close the database."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace).wait()
            self.db.close()

    def sql(self, statement: str, catalog: str = "", schema: str = "") -> list[tuple[Any, ...]]:
        """Run setup SQL directly on the engine's database."""
        return self.db.sql(statement, catalog, schema)

    def forget_sessions(self) -> None:
        """Expire every session."""
        self.service.forget_sessions()

    def __enter__(self) -> Engine:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()
