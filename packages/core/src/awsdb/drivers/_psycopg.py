"""Driver dialect for psycopg 3."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from awsdb.drivers._base import DriverDialect, ErrorKind
from awsdb.resolver import get_resolver

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties

__all__ = ["PsycopgDialect"]

# SQLSTATE classes and codes that mean "the connection or host is lost" (prefix match).
# Class XX (internal error) is a server-side failure of one statement and class 53
# (insufficient resources) is worth a retry: neither means the host is gone.
_NETWORK_CLASSES = ("08", "58", "F0")
_RESOURCE_CLASS = "53"
_PQTRANS_IDLE = 0  # libpq PGTransactionStatusType PQTRANS_IDLE
_NETWORK_CODES = frozenset({"57P01", "57P02", "57P03"})  # listed one by one, never "57"
_TIMEOUT_CODES = frozenset({"57014", "57P05"})  # query_canceled, idle_session_timeout
_LOGIN_CODES = frozenset({"28000", "28P01"})
_READ_ONLY_CODES = frozenset({"25006"})
_AUTH_PHRASES = ("password authentication failed", "PAM authentication failed")
_LOCALLY_CLOSED = "the connection is closed"

# awsdb property -> libpq keyword
_KEEPALIVE_MAP = {
    "tcp_keepalive_time": "keepalives_idle",
    "tcp_keepalive_interval": "keepalives_interval",
    "tcp_keepalive_probes": "keepalives_count",
}


class PsycopgDialect(DriverDialect):
    """psycopg 3 (``psycopg.connect`` / ``psycopg.Connection.connect``)."""

    code: ClassVar[str] = "psycopg"
    family: ClassVar[str] = "pg"
    threadsafety: ClassVar[int] = 2
    paramstyle: ClassVar[str] = "pyformat"
    default_port: ClassVar[int | None] = 5432
    database_key: ClassVar[str] = "dbname"
    session_attributes: ClassVar[tuple[str, ...]] = ("isolation_level", "deferrable")
    # cursor() only checks the connection's local state (a named cursor is declared by its
    # first execute); on a broken connection it raises "the connection is closed"
    local_methods: ClassVar[frozenset[str]] = frozenset({"Connection.cursor"})

    @classmethod
    def matches(cls, target: Callable[..., Any]) -> bool:
        """True for psycopg 3 connect functions and connection classes."""
        module = getattr(target, "__module__", "") or ""
        return module == "psycopg" or module.startswith("psycopg.")

    def connect_kwargs(self, host: HostInfo, props: Properties) -> dict[str, Any]:
        """libpq keywords: database → dbname, timeouts and keepalives mapped, resolver applied."""
        kwargs = super().connect_kwargs(host, props)
        if "database" in kwargs and "dbname" not in kwargs:
            kwargs["dbname"] = kwargs.pop("database")
        connect_timeout = props.get("connect_timeout")
        if connect_timeout is not None:
            kwargs["connect_timeout"] = max(1, round(float(connect_timeout)))
        keepalive = props.get("tcp_keepalive")
        if keepalive is not None:
            kwargs["keepalives"] = 1 if keepalive else 0
        for prop, key in _KEEPALIVE_MAP.items():
            value = props.get(prop)
            if value is not None:
                kwargs[key] = int(value)
        socket_timeout = props.get("socket_timeout")
        if socket_timeout is not None and float(socket_timeout) > 0:
            # Detect a dead peer, not a slow statement: unacknowledged data times out after
            # socket_timeout, and keepalives catch a peer that stopped answering while we wait
            # for a reply. Explicit libpq/awsdb keepalive settings win.
            seconds = float(socket_timeout)
            kwargs.setdefault("tcp_user_timeout", int(seconds * 1000))
            kwargs.setdefault("keepalives", 1)
            kwargs.setdefault("keepalives_idle", max(1, int(seconds)))
            kwargs.setdefault("keepalives_interval", 1)
            kwargs.setdefault("keepalives_count", 3)
        address = host.dial_address or get_resolver().override(host.host)
        if address is not None:
            kwargs["hostaddr"] = address
        return kwargs

    def in_transaction(self, conn: Any) -> bool:
        """True unless libpq reports the session idle.

        On the hot path (the failover plugin asks before every call): libpq's raw status
        code, not ``conn.info`` (a new object and an enum conversion per call).
        """
        return bool(conn.pgconn.transaction_status != _PQTRANS_IDLE)

    def fetches_from_server(self, cursor_type: type) -> bool:
        """Server-side (named) cursors fetch from the server; client-side cursors hold the
        whole result after ``execute``."""
        import psycopg

        return issubclass(cursor_type, psycopg.ServerCursor | psycopg.AsyncServerCursor)

    def transaction_probe(self, conn: Any) -> Callable[[], bool]:
        """:meth:`in_transaction` with the connection's libpq handle looked up once (it is
        the same object for the life of the psycopg connection)."""
        pgconn = conn.pgconn

        def probe() -> bool:
            status: int = pgconn.transaction_status
            return status != _PQTRANS_IDLE

        return probe

    def is_closed(self, conn: Any) -> bool:
        """Closed locally or broken."""
        return bool(conn.closed or conn.broken)

    def abort(self, conn: Any) -> None:
        """Shut the socket down under a blocked owner; the owner then closes the connection."""
        try:
            fd = conn.fileno()
        except Exception:  # already closed: nothing to abort
            return
        sock = socket.socket(fileno=fd)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.detach()  # release the wrapper without closing the descriptor

    def run_aux_query(
        self,
        conn: Any,
        sql: str,
        params: Sequence[object] | None = None,
        timeout_s: float = 5.0,
    ) -> list[tuple[Any, ...]]:
        """Run under a local ``statement_timeout``, leaving the transaction state as found.

        Outside a transaction the statement runs in its own transaction block that is
        rolled back (without parameters: the timeout and the statement in one simple-protocol
        message, one round trip); inside one it runs in a savepoint (without the timeout,
        which would outlive the savepoint), so a failing probe cannot abort the user's
        transaction.
        """
        if self.in_transaction(conn):
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(sql, params)
                return [tuple(r) for r in cur.fetchall()] if cur.description else []
        autocommit = conn.autocommit
        if params is None:
            return _aux_in_one_round_trip(conn, sql, timeout_s, autocommit)
        try:
            with conn.cursor() as cur:
                if autocommit:
                    cur.execute("BEGIN")
                cur.execute(
                    "SELECT pg_catalog.set_config('statement_timeout', %s, true)",
                    (str(max(1, int(timeout_s * 1000))),),
                )
                cur.execute(sql, params)
                rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        finally:
            if not conn.closed and not conn.broken:
                conn.rollback() if not autocommit else conn.execute("ROLLBACK")
        return rows

    def operational_error(self) -> type[BaseException]:
        """``psycopg.OperationalError``."""
        import psycopg

        return psycopg.OperationalError

    def classify(self, exc: BaseException) -> ErrorKind:
        """SQLSTATE rules (classes 08, 58, F0 and 57P01-03: network; 53: resource), typed
        errors first."""
        import psycopg
        from psycopg import errors as e

        if isinstance(exc, e.ConnectionTimeout):
            return ErrorKind.NETWORK
        if isinstance(exc, e.QueryCanceled | TimeoutError):
            return ErrorKind.TIMEOUT
        if not isinstance(exc, psycopg.Error):
            return ErrorKind.OTHER
        state = exc.sqlstate
        if state:
            if state in _TIMEOUT_CODES:
                return ErrorKind.TIMEOUT
            if state in _NETWORK_CODES or state.startswith(_NETWORK_CLASSES):
                return ErrorKind.NETWORK
            if state.startswith(_RESOURCE_CLASS):
                return ErrorKind.RESOURCE
            if state in _LOGIN_CODES:
                return ErrorKind.LOGIN
            if state in _READ_ONLY_CODES:
                return ErrorKind.READ_ONLY
            return ErrorKind.OTHER
        # No SQLSTATE: libpq-level failure (lost connection, failed connect). psycopg gives
        # no typed distinction for these, so the message decides only here.
        if isinstance(exc, psycopg.OperationalError):
            text = str(exc)
            if any(p in text for p in _AUTH_PHRASES):
                return ErrorKind.LOGIN
            if text.startswith(_LOCALLY_CLOSED):
                return ErrorKind.OTHER  # the application's own close(), not a host failure
            return ErrorKind.NETWORK
        return ErrorKind.OTHER


def _aux_in_one_round_trip(
    conn: Any, sql: str, timeout_s: float, autocommit: bool
) -> list[tuple[Any, ...]]:
    """The local timeout and ``sql`` as one simple-protocol message on an idle connection.

    The server runs both in one implicit transaction: the timeout ends with it, an error
    rolls it back, and the connection is idle again either way (one round trip instead of
    BEGIN, timeout, statement, ROLLBACK). A non-autocommit connection is switched to
    autocommit for the call (a client-side flag while idle: no round trip) so that the
    driver does not open a transaction of its own first.
    """
    ms = max(1, int(timeout_s * 1000))
    message = f"SELECT pg_catalog.set_config('statement_timeout', '{ms}', true); " + (
        sql.strip().rstrip(";")
    )
    if not autocommit:
        conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(message)
            cur.nextset()
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
    finally:
        if not autocommit and not conn.closed and not conn.broken:
            conn.autocommit = False
