"""Driver dialect for mysql-connector-python (pure-Python mode; the C extension too, with
an abort through the socket descriptor recorded at connect on Linux)."""

from __future__ import annotations

import contextlib
import math
import os
import socket
import stat
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

    def fetches_from_server(self, cursor_type: type) -> bool:
        """Unbuffered cursors (the connector's default) read their rows at fetch time; the
        buffered ones (``MySQLCursorBuffered``, ``...BufferedDict``, ``...BufferedRaw`` and
        the C extension's) hold them after ``execute``."""
        return not any("Buffered" in k.__name__ for k in cursor_type.__mro__)

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

    def connect(self, target: Callable[..., Any], host: HostInfo, props: Properties) -> Any:
        """Open the connection; in C-extension mode (``use_pure=False``) also record which
        socket descriptor it opened, for :meth:`abort` (Linux: ``/proc/self/fd``)."""
        kwargs = self.connect_kwargs(host, props)
        if kwargs.get("use_pure", True):
            return target(**kwargs)
        before = _socket_inodes()
        conn = target(**kwargs)
        if before is not None and not hasattr(conn, "_socket"):
            found = _new_socket(before, int(kwargs.get("port") or 3306))
            if found is not None:
                conn._awsdb_socket = found
        return conn

    def abort(self, conn: Any) -> None:
        """Shut down the connection's socket: the pure-Python connector's own socket, or
        for the C extension the descriptor recorded at connect (still the same socket: its
        inode is checked). Unsupported for a C-extension connection whose descriptor is
        unknown (not on Linux, or several sockets to the port opened at the same moment)."""
        net = getattr(conn, "_socket", None)
        sock = getattr(net, "sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            return
        if net is None and hasattr(conn, "_socket"):
            return  # already closed
        recorded = getattr(conn, "_awsdb_socket", None)
        if recorded is None:
            raise UnsupportedOperationError(
                "mysql-connector-python: abort needs the pure-Python connection (use_pure=True) "
                "or, for the C extension, a socket descriptor known from connect (Linux)"
            )
        fd, inode = recorded
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_ino != inode:
                return  # that socket is gone (the descriptor number was reused)
            raw = socket.socket(fileno=fd)
            try:
                raw.shutdown(socket.SHUT_RDWR)
            finally:
                raw.detach()  # the descriptor stays the C library's

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


def _socket_inodes() -> dict[int, int] | None:
    """This process's socket descriptors, fd → inode; ``None`` without ``/proc``."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return None
    out: dict[int, int] = {}
    for name in names:
        with contextlib.suppress(OSError, ValueError):
            st = os.fstat(int(name))
            if stat.S_ISSOCK(st.st_mode):
                out[int(name)] = st.st_ino
    return out


def _new_socket(before: dict[int, int], port: int) -> tuple[int, int] | None:
    """The one TCP socket to ``port`` opened since ``before`` (fd, inode), else ``None``."""
    after = _socket_inodes() or {}
    found = []
    for fd, inode in after.items():
        if before.get(fd) == inode:
            continue
        with contextlib.suppress(OSError):
            probe = socket.socket(fileno=fd)
            try:
                peer = probe.getpeername()
            finally:
                probe.detach()
            if isinstance(peer, tuple) and len(peer) >= 2 and peer[1] == port:
                found.append((fd, inode))
    return found[0] if len(found) == 1 else None
