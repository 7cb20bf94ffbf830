"""The driver-dialect contract: how awsdb talks to one DB-API driver.

A driver dialect knows how to open a connection with the target function, map awsdb's
properties to the driver's (timeouts, keepalives, database name), read transaction state,
abort a connection from another thread without freeing it under its owner, run auxiliary
queries without disturbing the session, and classify the driver's exceptions.

Third-party driver dialects subclass :class:`DriverDialect` and register through the
``awsdb.drivers`` entry-point group (name = dialect code, value = ``module:Class``) or the
``awsdb_driver_dialects`` registration hook.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from awsdb.errors import DriverFailoverErrors, UnsupportedOperationError, bind_driver_errors

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties

__all__ = ["DriverDialect", "ErrorKind"]


class ErrorKind(enum.Enum):
    """What an exception means for cluster awareness."""

    NETWORK = "network"  # the connection/host is lost: fail over
    LOGIN = "login"  # authentication failed: retry with fresh credentials
    READ_ONLY = "read_only"  # the server refused a write: writer demoted
    TIMEOUT = "timeout"  # a client-side or statement timeout/cancel: NOT a host failure
    RESOURCE = "resource"  # the server is short of resources (class 53): retry, not failover
    OTHER = "other"  # pass through unchanged


class DriverDialect:
    """Base class of driver dialects. Instances are stateless and shared per process."""

    code: ClassVar[str] = ""
    family: ClassVar[str] = ""  # "pg", "mysql", or a driver's own family
    threadsafety: ClassVar[int] = 1
    paramstyle: ClassVar[str] = "pyformat"
    default_port: ClassVar[int | None] = None
    database_key: ClassVar[str] = "database"

    local_methods: ClassVar[frozenset[str]] = frozenset()
    """DB-API methods (names of :data:`awsdb.plugin.ALL_METHODS`) that never talk to the
    server on this driver: plugins with :attr:`~awsdb.plugin.Plugin.server_calls_only`
    are left out of their chains."""

    session_attributes: ClassVar[tuple[str, ...]] = ()
    """Driver connection attributes that are session settings (psycopg
    ``isolation_level``): set through the wrapper, they are carried over a switch."""

    @classmethod
    def matches(cls, target: Callable[..., Any]) -> bool:
        """True if ``target`` (the user's connect function or class) belongs to this driver."""
        return False

    # --- connecting --------------------------------------------------------------------

    def connect_kwargs(self, host: HostInfo, props: Properties) -> dict[str, Any]:
        """Driver keyword arguments for one physical connection to ``host``."""
        kwargs = props.driver_kwargs()
        kwargs["host"] = host.host
        if host.port is not None:
            kwargs["port"] = host.port
        return kwargs

    def connect(self, target: Callable[..., Any], host: HostInfo, props: Properties) -> Any:
        """Open a raw connection to ``host`` with the user's ``target`` function."""
        return target(**self.connect_kwargs(host, props))

    # --- session state -----------------------------------------------------------------

    def in_transaction(self, conn: Any) -> bool:
        """True while a transaction is open on ``conn``."""
        raise UnsupportedOperationError(f"{self.code}: in_transaction is not supported")

    def fetches_from_server(self, cursor_type: type) -> bool:
        """True if fetching from a driver cursor of ``cursor_type`` may read from the server
        (rows streamed rather than buffered by ``execute``). The default is ``True``."""
        return True

    def transaction_probe(self, conn: Any) -> Callable[[], bool]:
        """A function of no argument answering :meth:`in_transaction` for ``conn``.

        For the per-call path: a plugin that must know, before every call, whether a
        transaction is open gets the probe once per connection. The default calls
        :meth:`in_transaction`; a dialect overrides it where the answer can be read with
        less work per call.
        """
        return functools.partial(self.in_transaction, conn)

    def get_autocommit(self, conn: Any) -> bool:
        """The connection's autocommit flag."""
        return bool(conn.autocommit)

    def set_autocommit(self, conn: Any, value: bool) -> None:
        """Set the autocommit flag."""
        conn.autocommit = value

    def get_read_only(self, conn: Any) -> bool:
        """The connection's read-only flag."""
        return bool(getattr(conn, "read_only", False))

    def set_read_only(self, conn: Any, value: bool) -> None:
        """Set the read-only flag."""
        conn.read_only = value

    def is_closed(self, conn: Any) -> bool:
        """True if ``conn`` is closed (locally or known broken)."""
        return bool(getattr(conn, "closed", False))

    def abort(self, conn: Any) -> None:
        """Make a call blocked on ``conn`` in another thread fail now, without freeing it.

        Never closes ``conn``: the owner thread does that. Raises
        :class:`~awsdb.errors.UnsupportedOperationError` when the driver offers no way.
        """
        raise UnsupportedOperationError(f"{self.code}: abort is not supported")

    def run_aux_query(
        self,
        conn: Any,
        sql: str,
        params: Sequence[object] | None = None,
        timeout_s: float = 5.0,
    ) -> list[tuple[Any, ...]]:
        """Run one auxiliary statement and return its rows, leaving the session as found."""
        cur = conn.cursor()
        try:
            cur.execute(sql, params) if params is not None else cur.execute(sql)
            rows = cur.fetchall() if cur.description is not None else []
        finally:
            cur.close()
        return [tuple(r) for r in rows]

    # --- errors ------------------------------------------------------------------------

    def operational_error(self) -> type[BaseException]:
        """The driver's ``OperationalError`` class."""
        raise NotImplementedError

    def failover_errors(self) -> DriverFailoverErrors:
        """The failover outcome classes bound to this driver's ``OperationalError``."""
        return bind_driver_errors(self.operational_error())

    def classify(self, exc: BaseException) -> ErrorKind:
        """Classify ``exc`` by type and SQLSTATE/errno, never by message alone."""
        return ErrorKind.OTHER

    def is_network_error(self, exc: BaseException) -> bool:
        """True if ``exc`` means the connection or host is lost."""
        return self.classify(exc) is ErrorKind.NETWORK

    def is_login_error(self, exc: BaseException) -> bool:
        """True if ``exc`` is an authentication failure."""
        return self.classify(exc) is ErrorKind.LOGIN

    def is_read_only_error(self, exc: BaseException) -> bool:
        """True if ``exc`` is a write refused by a read-only server."""
        return self.classify(exc) is ErrorKind.READ_ONLY
