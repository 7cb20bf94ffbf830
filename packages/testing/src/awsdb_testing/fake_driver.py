"""A fake PEP 249 driver with scriptable results and failures, for unit tests of plugins.

A :class:`FakeDriver` plays the role of a driver *module*: ``driver.connect(**kwargs)`` returns
a :class:`FakeConnection` whose cursors answer from a :class:`Script`. The script holds

- results per SQL text (exact match, or a regular expression), and
- failures: an exception on the Nth call of a method (a network error, a login failure on
  connect, a read-only error, any driver error), or a *hang*: the call blocks until the test
  releases it or the connection is aborted (:meth:`FakeConnection.shutdown`, what the
  driver dialect's ``abort`` does, like a socket shutdown under a blocked reader).

Every call that reaches the driver is appended to :attr:`FakeDriver.calls` under the method
names awsdb uses (``"Cursor.execute"``, ``"Connection.commit"``, ``"Connection.autocommit"``
for a read of the property, ``"Connection.autocommit.set"`` for a write), plus
``"connect"`` and ``"shutdown"``. The fake has its own PEP 249 exception tree; each error
carries ``sqlstate`` and ``errno`` so that :class:`~awsdb_testing.fake_dialect.FakeDriverDialect`
classifies it by code, never by message.

::

    driver = FakeDriver()
    driver.script.on_sql("SELECT 1", rows=[(1,)], columns=["one"])
    driver.script.network_error("Cursor.execute", nth=2)
    conn = awsdb.connect(driver.connect, "host=db1 user=app", plugins="dev")

Nothing here starts a thread or opens a socket.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "SQLSTATE_CONNECTION_FAILURE",
    "SQLSTATE_INVALID_PASSWORD",
    "SQLSTATE_QUERY_CANCELED",
    "SQLSTATE_READ_ONLY",
    "Call",
    "CallLog",
    "DataError",
    "DatabaseError",
    "Error",
    "FakeConnection",
    "FakeCursor",
    "FakeDriver",
    "Hang",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Result",
    "Script",
    "Warning",
    "apilevel",
    "connect",
    "login_error",
    "network_error",
    "paramstyle",
    "read_only_error",
    "threadsafety",
    "timeout_error",
]

apilevel = "2.0"
threadsafety = 2
paramstyle = "pyformat"

SQLSTATE_CONNECTION_FAILURE = "08006"
"""SQLSTATE of a lost connection (classified as a network error)."""
SQLSTATE_INVALID_PASSWORD = "28P01"
"""SQLSTATE of an authentication failure (classified as a login error)."""
SQLSTATE_READ_ONLY = "25006"
"""SQLSTATE of a write refused by a read-only server or transaction."""
SQLSTATE_QUERY_CANCELED = "57014"
"""SQLSTATE of a statement cancelled by a timeout (not a host failure)."""

T = TypeVar("T")


# --- exceptions ------------------------------------------------------------------------------


class Warning(Exception):
    """PEP 249 ``Warning``."""


class Error(Exception):
    """Base of the fake driver's errors; ``sqlstate`` and ``errno`` are optional codes."""

    def __init__(
        self, message: str = "", *, sqlstate: str | None = None, errno: int | None = None
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.errno = errno

    def __repr__(self) -> str:
        codes = "".join(
            f", {name}={value!r}"
            for name, value in (("sqlstate", self.sqlstate), ("errno", self.errno))
            if value is not None
        )
        return f"{type(self).__name__}({str(self)!r}{codes})"


class InterfaceError(Error):
    """Misuse of the driver interface (closed connection or cursor)."""


class DatabaseError(Error):
    """An error reported by the (fake) database."""


class DataError(DatabaseError):
    """Bad data (division by zero, value out of range)."""


class OperationalError(DatabaseError):
    """Lost connections, failed logins, cancelled statements."""


class IntegrityError(DatabaseError):
    """A constraint was violated."""


class InternalError(DatabaseError):
    """The database is in a state that refuses the operation (read-only transaction)."""


class ProgrammingError(DatabaseError):
    """Bad SQL, fetch without a result set."""


class NotSupportedError(DatabaseError):
    """The operation is not supported."""


def network_error(message: str = "server closed the connection unexpectedly") -> OperationalError:
    """A lost-connection error (SQLSTATE 08006, errno 2013)."""
    return OperationalError(message, sqlstate=SQLSTATE_CONNECTION_FAILURE, errno=2013)


def login_error(message: str = "password authentication failed") -> OperationalError:
    """An authentication failure (SQLSTATE 28P01, errno 1045)."""
    return OperationalError(message, sqlstate=SQLSTATE_INVALID_PASSWORD, errno=1045)


def read_only_error(
    message: str = "cannot execute statement in a read-only transaction",
) -> InternalError:
    """A write refused by a read-only server (SQLSTATE 25006, errno 1290)."""
    return InternalError(message, sqlstate=SQLSTATE_READ_ONLY, errno=1290)


def timeout_error(
    message: str = "canceling statement due to statement timeout",
) -> OperationalError:
    """A statement cancelled by a timeout (SQLSTATE 57014, errno 3024)."""
    return OperationalError(message, sqlstate=SQLSTATE_QUERY_CANCELED, errno=3024)


# --- call log --------------------------------------------------------------------------------


@dataclass
class Call:
    """One call that reached the fake driver; ``error`` is set when it raised."""

    seq: int
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    connection_id: int | None
    host: str | None
    thread: str
    error: BaseException | None = None


class CallLog:
    """The calls that reached a fake driver, in order. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._seq = itertools.count(1)

    def _add(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        connection_id: int | None,
        host: str | None,
    ) -> Call:
        call = Call(
            next(self._seq),
            method,
            args,
            dict(kwargs),
            connection_id,
            host,
            threading.current_thread().name,
        )
        with self._lock:
            self._calls.append(call)
        return call

    def all(self) -> list[Call]:
        """A copy of every recorded call."""
        with self._lock:
            return list(self._calls)

    def methods(self) -> list[str]:
        """The method names of every recorded call, in order."""
        return [c.method for c in self.all()]

    def of(self, method: str) -> list[Call]:
        """The recorded calls of ``method``."""
        return [c for c in self.all() if c.method == method]

    def count(self, method: str) -> int:
        """How many times ``method`` reached the driver."""
        return len(self.of(method))

    def last(self, method: str | None = None) -> Call:
        """The most recent call (of ``method`` when given); ``LookupError`` if none."""
        calls = self.all() if method is None else self.of(method)
        if not calls:
            raise LookupError(f"no call of {method or 'any method'} reached the fake driver")
        return calls[-1]

    def clear(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._calls.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(self.all())


# --- script ----------------------------------------------------------------------------------

Rows = Sequence[Sequence[Any]]
RowsFactory = Callable[[Any], Rows]
Pattern = str | re.Pattern[str]


@dataclass(frozen=True)
class Result:
    """What a statement produces: rows (or a function of the parameters), column names,
    ``rowcount``, ``lastrowid``, or an ``error`` raised instead."""

    rows: Rows | RowsFactory = ()
    columns: tuple[str, ...] | None = None
    rowcount: int | None = None
    lastrowid: Any = None
    error: BaseException | None = None


class Hang:
    """A scripted hang: the matching call blocks until :meth:`release`, an abort of its
    connection (:meth:`FakeConnection.shutdown` or ``close`` from another thread: the call then
    raises a network error) or its ``timeout`` (the call then raises :func:`timeout_error`)."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout
        self._cond = threading.Condition()
        self._released = False
        self._started = threading.Event()
        self._blocked = 0

    @property
    def released(self) -> bool:
        """True once :meth:`release` was called."""
        with self._cond:
            return self._released

    @property
    def blocked(self) -> int:
        """How many calls are blocked on this hang now."""
        with self._cond:
            return self._blocked

    def wait_started(self, timeout: float | None = None) -> bool:
        """Wait until a call is blocked on this hang (or has been); False on timeout."""
        return self._started.wait(timeout)

    def release(self) -> None:
        """Let blocked and later matching calls proceed normally."""
        with self._cond:
            self._released = True
            self._cond.notify_all()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _wait(self, conn: FakeConnection | None) -> str:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        with self._cond:
            self._blocked += 1
            self._started.set()
            try:
                while True:
                    if self._released:
                        return "released"
                    if conn is not None and (conn._broken or conn._closed):
                        return "aborted"
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return "timeout"
                    self._cond.wait(remaining)
            finally:
                self._blocked -= 1


@dataclass
class _Fault:
    method: str
    action: BaseException | Hang
    nth: int
    times: int | None
    sql: Pattern | None
    host: str | None
    break_connection: bool
    seen: int = 0
    fired: int = 0


@dataclass
class _Rule:
    pattern: Pattern
    result: Result = field(default_factory=Result)


def _matches(pattern: Pattern, sql: object) -> bool:
    if not isinstance(sql, str):
        return False
    if isinstance(pattern, re.Pattern):
        return pattern.search(sql) is not None
    return sql.strip() == pattern.strip()


class Script:
    """Scripted results and failures of a fake driver. Thread-safe; methods chain.

    Results: the most recently added rule whose pattern matches the statement wins; an
    unmatched statement produces no result set (or raises ``ProgrammingError`` when
    ``strict``). Failures: each counts the calls that match its method (and optional SQL and
    host filters) and fires on calls ``nth`` .. ``nth + times - 1`` (``times=None``: from the
    ``nth`` on, forever). The first failure that fires wins.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._faults: list[_Fault] = []

    # --- results ---------------------------------------------------------------------

    def on_sql(
        self,
        pattern: Pattern,
        rows: Rows | RowsFactory = (),
        *,
        columns: Sequence[str] | None = None,
        rowcount: int | None = None,
        lastrowid: Any = None,
        error: BaseException | None = None,
        regex: bool = False,
    ) -> Script:
        """Answer statements matching ``pattern`` (exact text, or a regex when ``regex`` or a
        compiled pattern) with ``rows`` and ``columns``, or raise ``error``. ``rows`` may be a
        function of the statement's parameters. Also used for ``callproc`` (procedure name)."""
        if regex and isinstance(pattern, str):
            pattern = re.compile(pattern)
        cols = tuple(columns) if columns is not None else None
        if cols is None and rows and not callable(rows):
            cols = tuple(f"column{i + 1}" for i in range(len(rows[0])))
        if cols is None and callable(rows):
            cols = ("column1",)
        result = Result(
            rows if callable(rows) else tuple(tuple(r) for r in rows),
            cols,
            rowcount,
            lastrowid,
            error,
        )
        with self._lock:
            self._rules.append(_Rule(pattern, result))
        return self

    def result_for(self, sql: object) -> Result | None:
        """The scripted result for ``sql``; ``None`` when no rule matches."""
        with self._lock:
            rules = list(self._rules)
        for rule in reversed(rules):
            if _matches(rule.pattern, sql):
                return rule.result
        return None

    # --- failures --------------------------------------------------------------------

    def fail(
        self,
        method: str,
        exc: BaseException,
        *,
        nth: int = 1,
        times: int | None = 1,
        sql: Pattern | None = None,
        host: str | None = None,
        break_connection: bool = False,
    ) -> Script:
        """Raise ``exc`` on the ``nth`` matching call of ``method`` (``"connect"``,
        ``"Cursor.execute"``, ``"Connection.commit"`` ...). ``sql`` filters execute calls by
        statement, ``host`` by the connection's host. With ``break_connection`` the connection
        is lost afterwards: every later call on it raises a network error."""
        self._add(method, exc, nth, times, sql, host, break_connection)
        return self

    def network_error(
        self,
        method: str = "Cursor.execute",
        *,
        nth: int = 1,
        times: int | None = 1,
        sql: Pattern | None = None,
        host: str | None = None,
        exc: BaseException | None = None,
    ) -> Script:
        """Lose the connection on the ``nth`` matching call: it raises a network error and
        the connection stays broken (on ``"connect"``: the connect fails)."""
        error = exc if exc is not None else network_error()
        self._add(method, error, nth, times, sql, host, True)
        return self

    def login_failure(
        self, *, nth: int = 1, times: int | None = 1, host: str | None = None
    ) -> Script:
        """Fail the ``nth`` connect (to ``host``) with an authentication error."""
        self._add("connect", login_error(), nth, times, None, host, False)
        return self

    def read_only_error(
        self,
        method: str = "Cursor.execute",
        *,
        nth: int = 1,
        times: int | None = 1,
        sql: Pattern | None = None,
        host: str | None = None,
    ) -> Script:
        """Refuse the ``nth`` matching call as a write on a read-only server."""
        self._add(method, read_only_error(), nth, times, sql, host, False)
        return self

    def hang(
        self,
        method: str = "Cursor.execute",
        *,
        nth: int = 1,
        times: int | None = 1,
        sql: Pattern | None = None,
        host: str | None = None,
        timeout: float | None = None,
    ) -> Hang:
        """Block the ``nth`` matching call; returns the :class:`Hang` that releases it."""
        hang = Hang(timeout)
        self._add(method, hang, nth, times, sql, host, False)
        return hang

    def clear(self) -> None:
        """Drop every rule and failure."""
        with self._lock:
            self._rules.clear()
            self._faults.clear()

    def _add(
        self,
        method: str,
        action: BaseException | Hang,
        nth: int,
        times: int | None,
        sql: Pattern | None,
        host: str | None,
        break_connection: bool,
    ) -> None:
        if nth < 1:
            raise ValueError(f"nth must be 1 or more, not {nth}")
        if times is not None and times < 1:
            raise ValueError(f"times must be 1 or more (or None for always), not {times}")
        if not isinstance(action, BaseException | Hang):
            raise TypeError(f"expected an exception instance, got {type(action).__name__}")
        with self._lock:
            self._faults.append(_Fault(method, action, nth, times, sql, host, break_connection))

    def _take(self, method: str, sql: object, host: str | None) -> _Fault | None:
        """Count this call against every matching failure; return the one that fires."""
        fired: _Fault | None = None
        with self._lock:
            for fault in self._faults:
                if fault.method != method:
                    continue
                if fault.sql is not None and not _matches(fault.sql, sql):
                    continue
                if fault.host is not None and fault.host != host:
                    continue
                fault.seen += 1
                last = None if fault.times is None else fault.nth + fault.times - 1
                due = fault.seen >= fault.nth and (last is None or fault.seen <= last)
                if due and fired is None:
                    fault.fired += 1
                    fired = fault
        return fired


# --- driver ----------------------------------------------------------------------------------


class FakeDriver:
    """A fake driver module: ``connect(**kwargs)`` plus the PEP 249 module attributes.

    It keeps every connection it opened (:meth:`open_connections` lists those not closed)
    and a :class:`CallLog` of every call that reached it.
    """

    apilevel = apilevel
    threadsafety = threadsafety
    paramstyle = paramstyle
    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(self, script: Script | None = None) -> None:
        self.script = script if script is not None else Script()
        self.calls = CallLog()
        self._lock = threading.Lock()
        self._connections: list[FakeConnection] = []
        self._ids = itertools.count(1)

    def connect(self, **kwargs: Any) -> FakeConnection:
        """Open a fake connection; ``host`` and ``port`` are kept, every keyword is recorded."""
        host = kwargs.get("host")
        host_name = str(host) if host is not None else None
        call = self.calls._add("connect", (), kwargs, None, host_name)
        try:
            fault = self.script._take("connect", None, host_name)
            if fault is not None:
                _apply_fault(fault, None)
        except BaseException as exc:
            call.error = exc
            raise
        conn = FakeConnection(self, next(self._ids), kwargs)
        call.connection_id = conn.id
        with self._lock:
            self._connections.append(conn)
        return conn

    def connections(self) -> list[FakeConnection]:
        """Every connection this driver opened, in order."""
        with self._lock:
            return list(self._connections)

    def open_connections(self) -> list[FakeConnection]:
        """The connections not closed yet (a broken connection is still open)."""
        return [c for c in self.connections() if not c.closed]

    def break_connections(self, host: str | None = None) -> int:
        """Lose every open connection (to ``host``), as a server crash would: blocked calls
        fail and every later call raises a network error. Returns how many broke."""
        broken = 0
        for conn in self.open_connections():
            if host is None or conn.host == host:
                conn._lose()
                broken += 1
        return broken


def connect(*, script: Script | None = None, **kwargs: Any) -> FakeConnection:
    """Open a connection of a new private :class:`FakeDriver` (answering from ``script``)."""
    return FakeDriver(script).connect(**kwargs)


def _apply_fault(fault: _Fault, conn: FakeConnection | None) -> None:
    action = fault.action
    if isinstance(action, Hang):
        if conn is not None:
            conn._hangs.add(action)
        try:
            outcome = action._wait(conn)
        finally:
            if conn is not None:
                conn._hangs.discard(action)
        if outcome == "aborted":
            raise network_error("connection aborted while waiting for the server")
        if outcome == "timeout":
            raise timeout_error()
        return
    if fault.break_connection and conn is not None:
        conn._lose()
    raise action


class _Endpoint:
    """Shared call path of connections and cursors: log, state checks, faults."""

    _conn: FakeConnection

    def _call(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        body: Callable[[], T],
        *,
        sql: object = None,
        allow_closed: bool = False,
    ) -> T:
        conn = self._conn
        call = conn.driver.calls._add(method, args, kwargs, conn.id, conn.host)
        try:
            if not allow_closed:
                self._check_open()
            if conn._broken and not allow_closed:
                raise network_error("the connection to the server was lost")
            fault = conn.driver.script._take(method, sql, conn.host)
            if fault is not None:
                _apply_fault(fault, conn)
            return body()
        except BaseException as exc:
            call.error = exc
            raise

    def _check_open(self) -> None:
        if self._conn._closed:
            raise InterfaceError("the connection is closed")


class FakeConnection(_Endpoint):
    """A fake PEP 249 connection. ``kwargs`` are the keywords it was opened with."""

    def __init__(self, driver: FakeDriver, conn_id: int, kwargs: dict[str, Any]) -> None:
        self.driver = driver
        self.id = conn_id
        self.kwargs = dict(kwargs)
        host = kwargs.get("host")
        self.host: str | None = str(host) if host is not None else None
        self.port: Any = kwargs.get("port")
        self._conn = self
        self._closed = False
        self._broken = False
        self._autocommit = bool(kwargs.get("autocommit", False))
        self._read_only = False
        self._in_transaction = False
        self._prepared: list[Any] = []
        self._xid: Any = None
        self._hangs: set[Hang] = set()
        self.cursors: list[FakeCursor] = []

    # --- state read without a logged call (for the dialect and tests) -------------------

    @property
    def closed(self) -> bool:
        """True once closed by its owner."""
        return self._closed

    @property
    def broken(self) -> bool:
        """True once the connection was lost (network error, shutdown, server crash)."""
        return self._broken

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open."""
        return self._in_transaction

    def shutdown(self) -> None:
        """Abort from another thread, like ``shutdown(SHUT_RDWR)`` on the socket: a blocked
        call fails with a network error, later calls too; the owner still has to close."""
        self.driver.calls._add("shutdown", (), {}, self.id, self.host)
        self._lose()

    def _lose(self) -> None:
        self._broken = True
        for hang in list(self._hangs):
            hang._wake()

    def _begin_if_needed(self) -> None:
        if not self._autocommit:
            self._in_transaction = True

    # --- DB-API ------------------------------------------------------------------------

    def cursor(self, *args: Any, **kwargs: Any) -> FakeCursor:
        """A new cursor."""

        def body() -> FakeCursor:
            cur = FakeCursor(self)
            self.cursors.append(cur)
            return cur

        return self._call("Connection.cursor", args, kwargs, body)

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> FakeCursor:
        """Run ``query`` on a new cursor and return it (the psycopg shortcut)."""
        args = (query,) if params is None else (query, params)

        def body() -> FakeCursor:
            cur = FakeCursor(self)
            self.cursors.append(cur)
            cur._run(query, params)
            return cur

        return self._call("Connection.execute", args, kwargs, body, sql=query)

    def commit(self) -> None:
        """End the transaction."""

        def body() -> None:
            self._in_transaction = False

        self._call("Connection.commit", (), {}, body)

    def rollback(self) -> None:
        """Roll the transaction back."""

        def body() -> None:
            self._in_transaction = False

        self._call("Connection.rollback", (), {}, body)

    def close(self) -> None:
        """Close the connection (idempotent); wakes a call hanging on it."""

        def body() -> None:
            self._closed = True
            self._in_transaction = False
            for hang in list(self._hangs):
                hang._wake()

        self._call("Connection.close", (), {}, body, allow_closed=True)

    @property
    def autocommit(self) -> bool:
        """The autocommit flag."""
        return self._call("Connection.autocommit", (), {}, lambda: self._autocommit)

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        def body() -> None:
            if self._in_transaction:
                raise ProgrammingError("cannot change autocommit inside a transaction")
            self._autocommit = bool(value)

        self._call("Connection.autocommit.set", (value,), {}, body)

    @property
    def read_only(self) -> bool:
        """The read-only flag."""
        return self._call("Connection.read_only", (), {}, lambda: self._read_only)

    @read_only.setter
    def read_only(self, value: bool) -> None:
        def body() -> None:
            self._read_only = bool(value)

        self._call("Connection.read_only.set", (value,), {}, body)

    def xid(self, format_id: int, gtrid: str, bqual: str) -> tuple[int, str, str]:
        """A two-phase transaction id."""
        return self._call(
            "Connection.xid", (format_id, gtrid, bqual), {}, lambda: (format_id, gtrid, bqual)
        )

    def tpc_begin(self, xid: Any) -> None:
        """Begin a two-phase transaction."""

        def body() -> None:
            self._in_transaction = True
            self._xid = xid

        self._call("Connection.tpc_begin", (xid,), {}, body)

    def tpc_prepare(self) -> None:
        """Prepare the two-phase transaction."""

        def body() -> None:
            if self._xid is None:
                raise ProgrammingError("tpc_prepare() outside a two-phase transaction")
            self._prepared.append(self._xid)

        self._call("Connection.tpc_prepare", (), {}, body)

    def _tpc_end(self, args: tuple[Any, ...]) -> None:
        xid = args[0] if args else self._xid
        if xid in self._prepared:
            self._prepared.remove(xid)
        if not args:
            self._in_transaction = False
            self._xid = None

    def tpc_commit(self, *args: Any) -> None:
        """Commit a two-phase transaction (the current one, or a prepared ``xid``)."""
        self._call("Connection.tpc_commit", args, {}, lambda: self._tpc_end(args))

    def tpc_rollback(self, *args: Any) -> None:
        """Roll back a two-phase transaction (the current one, or a prepared ``xid``)."""
        self._call("Connection.tpc_rollback", args, {}, lambda: self._tpc_end(args))

    def tpc_recover(self) -> list[Any]:
        """The xids prepared on this connection and not yet committed or rolled back."""
        return self._call("Connection.tpc_recover", (), {}, lambda: list(self._prepared))

    def __enter__(self) -> FakeConnection:
        return self._call("Connection.__enter__", (), {}, lambda: self)

    def __exit__(self, *exc: object) -> None:
        def body() -> None:
            self._in_transaction = False
            self._closed = True

        self._call("Connection.__exit__", exc, {}, body, allow_closed=True)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "broken" if self._broken else "open"
        return f"<FakeConnection #{self.id} to {self.host} ({state})>"


class FakeCursor(_Endpoint):
    """A fake PEP 249 cursor answering from its driver's :class:`Script`."""

    def __init__(self, conn: FakeConnection) -> None:
        self._conn = conn
        self._closed = False
        self._rows: list[tuple[Any, ...]] = []
        self._pos = 0
        self._description: tuple[tuple[Any, ...], ...] | None = None
        self._rowcount = -1
        self._lastrowid: Any = None
        self._arraysize = 1

    @property
    def connection(self) -> FakeConnection:
        """The connection of this cursor."""
        return self._conn

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self._closed

    def _check_open(self) -> None:
        super()._check_open()
        if self._closed:
            raise InterfaceError("the cursor is closed")

    def _run(self, query: Any, params: Any) -> None:
        """Produce the scripted result of ``query`` (no log entry: the caller logged)."""
        script = self._conn.driver.script
        result = script.result_for(query)
        self._conn._begin_if_needed()
        if result is None:
            if script.strict:
                raise ProgrammingError(f"no scripted result for {query!r}", sqlstate="42601")
            result = Result()
        if result.error is not None:
            raise result.error
        rows_src = result.rows
        rows = rows_src(params) if callable(rows_src) else rows_src
        self._rows = [tuple(r) for r in rows]
        self._pos = 0
        if result.columns is not None:
            self._description = tuple(
                (name, None, None, None, None, None, None) for name in result.columns
            )
        else:
            self._description = None
        if result.rowcount is not None:
            self._rowcount = result.rowcount
        else:
            self._rowcount = len(self._rows) if result.columns is not None else -1
        self._lastrowid = result.lastrowid

    def _need_result(self) -> None:
        if self._description is None:
            raise ProgrammingError("the last operation didn't produce a result")

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> FakeCursor:
        """Execute ``query``; returns the cursor."""
        args = (query,) if params is None else (query, params)

        def body() -> FakeCursor:
            self._run(query, params)
            return self

        return self._call("Cursor.execute", args, kwargs, body, sql=query)

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> FakeCursor:
        """Execute ``query`` once per parameter set; ``rowcount`` is the sum."""

        def body() -> FakeCursor:
            total = 0
            for params in params_seq:
                self._run(query, params)
                total += max(self._rowcount, 0)
            self._rowcount = total
            return self

        return self._call("Cursor.executemany", (query, params_seq), kwargs, body, sql=query)

    def callproc(self, procname: str, *args: Any) -> Any:
        """Call a procedure: its result is scripted like a statement named ``procname``."""

        def body() -> Any:
            self._run(procname, args[0] if args else None)
            return args[0] if args else None

        return self._call("Cursor.callproc", (procname, *args), {}, body, sql=procname)

    def nextset(self) -> Any:
        """No further result sets: ``None``."""
        return self._call("Cursor.nextset", (), {}, lambda: None)

    def setinputsizes(self, sizes: Any) -> None:
        """Accepted and ignored (PEP 249)."""
        self._call("Cursor.setinputsizes", (sizes,), {}, lambda: None)

    def setoutputsize(self, size: Any, *args: Any) -> None:
        """Accepted and ignored (PEP 249)."""
        self._call("Cursor.setoutputsize", (size, *args), {}, lambda: None)

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or ``None``."""

        def body() -> tuple[Any, ...] | None:
            self._need_result()
            if self._pos >= len(self._rows):
                return None
            row = self._rows[self._pos]
            self._pos += 1
            return row

        return self._call("Cursor.fetchone", (), {}, body)

    def fetchmany(self, *args: Any) -> list[tuple[Any, ...]]:
        """Up to ``size`` rows (default :attr:`arraysize`)."""

        def body() -> list[tuple[Any, ...]]:
            self._need_result()
            size = int(args[0]) if args and args[0] is not None else self._arraysize
            rows = self._rows[self._pos : self._pos + size]
            self._pos += len(rows)
            return rows

        return self._call("Cursor.fetchmany", args, {}, body)

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every remaining row."""

        def body() -> list[tuple[Any, ...]]:
            self._need_result()
            rows = self._rows[self._pos :]
            self._pos = len(self._rows)
            return rows

        return self._call("Cursor.fetchall", (), {}, body)

    def __iter__(self) -> FakeCursor:
        return self

    def __next__(self) -> tuple[Any, ...]:
        def body() -> tuple[Any, ...]:
            self._need_result()
            if self._pos >= len(self._rows):
                raise StopIteration
            row = self._rows[self._pos]
            self._pos += 1
            return row

        return self._call("Cursor.__next__", (), {}, body)

    @property
    def description(self) -> tuple[tuple[Any, ...], ...] | None:
        """Column descriptions of the last result (7-tuples)."""
        return self._call("Cursor.description", (), {}, lambda: self._description)

    @property
    def rowcount(self) -> int:
        """Rows produced or affected by the last execute; -1 when unknown."""
        return self._call("Cursor.rowcount", (), {}, lambda: self._rowcount)

    @property
    def lastrowid(self) -> Any:
        """The scripted ``lastrowid`` of the last statement."""
        return self._call("Cursor.lastrowid", (), {}, lambda: self._lastrowid)

    @property
    def arraysize(self) -> int:
        """Default ``fetchmany`` size."""
        return self._call("Cursor.arraysize", (), {}, lambda: self._arraysize)

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        def body() -> None:
            self._arraysize = int(value)

        self._call("Cursor.arraysize.set", (value,), {}, body)

    def close(self) -> None:
        """Close the cursor (idempotent)."""

        def body() -> None:
            self._closed = True

        self._call("Cursor.close", (), {}, body, allow_closed=True)

    def __enter__(self) -> FakeCursor:
        return self._call("Cursor.__enter__", (), {}, lambda: self)

    def __exit__(self, *exc: object) -> None:
        def body() -> None:
            self._closed = True

        self._call("Cursor.__exit__", exc, {}, body, allow_closed=True)

    def __repr__(self) -> str:
        return f"<FakeCursor on connection #{self._conn.id}{' (closed)' if self._closed else ''}>"
