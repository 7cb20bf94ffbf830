"""Driver dialect for mysql-connector-python (pure-Python mode)."""

from __future__ import annotations

import contextlib
import math
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from awsdb.drivers._base import DriverDialect, ErrorKind
from awsdb.errors import UnsupportedOperationError
from awsdb.resolver import get_resolver

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties

__all__ = ["MySQLConnectorDialect"]

# MySQL client error codes meaning the connection is lost (aurora-facts §4.2).
_NETWORK_ERRNOS = frozenset({2001, 2002, 2003, 2004, 2006, 2012, 2013, 2026, 2055})
_LOGIN_ERRNOS = frozenset({1045, 1044, 1698})
_READ_ONLY_ERRNOS = frozenset({1836, 1290, 1792})  # 1290: --read-only; 1792: READ ONLY tx
# client read timeout, query interrupted, max_execution_time, MariaDB max_statement_time
_TIMEOUT_ERRNOS = frozenset({3024, 1317, 1028, 1969})


class MySQLConnectorDialect(DriverDialect):
    """mysql-connector-python, used in pure-Python mode (``use_pure=True``)."""

    code: ClassVar[str] = "mysql-connector-python"
    family: ClassVar[str] = "mysql"
    session_attributes: ClassVar[tuple[str, ...]] = ("database", "time_zone", "sql_mode")
    threadsafety: ClassVar[int] = 1  # the driver's own level; never claim 2 over it
    paramstyle: ClassVar[str] = "pyformat"
    default_port: ClassVar[int | None] = 3306
    database_key: ClassVar[str] = "database"

    @classmethod
    def matches(cls, target: Callable[..., Any]) -> bool:
        """True for ``mysql.connector.connect`` and the connector's connection classes."""
        module = getattr(target, "__module__", "") or ""
        return module == "mysql.connector" or module.startswith("mysql.connector.")

    def connect_kwargs(self, host: HostInfo, props: Properties) -> dict[str, Any]:
        """Connector keywords: dbname → database, timeouts mapped, pure mode, resolver."""
        kwargs = super().connect_kwargs(host, props)
        if "dbname" in kwargs and "database" not in kwargs:
            kwargs["database"] = kwargs.pop("dbname")
        if "port" in kwargs:
            kwargs["port"] = int(kwargs["port"])
        connect_timeout = props.get("connect_timeout")
        if connect_timeout is not None:
            kwargs.setdefault("connection_timeout", max(1, round(float(connect_timeout))))
        socket_timeout = props.get("socket_timeout")
        if socket_timeout is not None and float(socket_timeout) > 0:
            seconds = max(1, math.ceil(float(socket_timeout)))  # the connector takes int seconds
            kwargs.setdefault("read_timeout", seconds)
            kwargs.setdefault("write_timeout", seconds)
        kwargs.setdefault("use_pure", True)
        address = host.dial_address or get_resolver().override(host.host)
        if address is not None:
            kwargs["host"] = address
        return kwargs

    def in_transaction(self, conn: Any) -> bool:
        """The connector's own flag."""
        return bool(conn.in_transaction)

    def get_read_only(self, conn: Any) -> bool:
        """The flag last set through :meth:`set_read_only` (the driver has none)."""
        return bool(getattr(conn, "_awsdb_read_only", False))

    def set_read_only(self, conn: Any, value: bool) -> None:
        """``SET SESSION TRANSACTION READ ONLY`` / ``READ WRITE``."""
        cur = conn.cursor()
        try:
            cur.execute(f"SET SESSION TRANSACTION {'READ ONLY' if value else 'READ WRITE'}")
        finally:
            cur.close()
        conn._awsdb_read_only = bool(value)

    def is_closed(self, conn: Any) -> bool:
        """True once the connector dropped its socket (no server round trip)."""
        return getattr(conn, "_socket", None) is None

    def abort(self, conn: Any) -> None:
        """Shut down the pure-Python connector's socket; unsupported for the C extension."""
        net = getattr(conn, "_socket", None)
        sock = getattr(net, "sock", None)
        if not isinstance(sock, socket.socket):
            if net is None and hasattr(conn, "_socket"):
                return  # already closed
            raise UnsupportedOperationError(
                "mysql-connector-python: abort needs the pure-Python connection (use_pure=True)"
            )
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def run_aux_query(
        self,
        conn: Any,
        sql: str,
        params: Sequence[object] | None = None,
        timeout_s: float = 5.0,
    ) -> list[tuple[Any, ...]]:
        """Run on a buffered cursor; an implicit transaction it opened is rolled back."""
        was_idle = conn.autocommit or not conn.in_transaction
        cur = conn.cursor(buffered=True)
        try:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        finally:
            cur.close()
            if was_idle and not conn.autocommit and self._open(conn) and conn.in_transaction:
                conn.rollback()
        return rows

    def _open(self, conn: Any) -> bool:
        return not self.is_closed(conn)

    def operational_error(self) -> type[BaseException]:
        """``mysql.connector.errors.OperationalError``."""
        from mysql.connector import errors

        return errors.OperationalError

    def classify(self, exc: BaseException) -> ErrorKind:
        """errno sets of aurora-facts §4.2; ``HY*`` sqlstates are not network errors."""
        from mysql.connector import errors

        if isinstance(exc, errors.ReadTimeoutError | errors.WriteTimeoutError | TimeoutError):
            return ErrorKind.TIMEOUT
        if not isinstance(exc, errors.Error):
            return ErrorKind.OTHER
        errno = exc.errno
        if errno in _NETWORK_ERRNOS:
            return ErrorKind.NETWORK
        if errno in _TIMEOUT_ERRNOS:
            return ErrorKind.TIMEOUT
        if errno in _LOGIN_ERRNOS or (exc.sqlstate or "").startswith("28"):
            return ErrorKind.LOGIN
        if errno in _READ_ONLY_ERRNOS:
            return ErrorKind.READ_ONLY
        if isinstance(exc, errors.InterfaceError) and (exc.sqlstate or "").startswith("08"):
            return ErrorKind.NETWORK
        if isinstance(exc, errors.OperationalError) and errno in (None, -1):
            # "MySQL Connection not available": raised for a lost connection; a local
            # close() is ruled out by the caller (the wrapper tracks its own close).
            return ErrorKind.NETWORK
        return ErrorKind.OTHER
