"""The fake driver's connections and cursors: every call is logged, then faults apply.

Re-exported by :mod:`awsdb_testing.fake_driver`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from awsdb_testing.fake_errors import (
    InterfaceError,
    ProgrammingError,
    network_error,
    timeout_error,
)
from awsdb_testing.fake_script import Hang, Result, _Fault

if TYPE_CHECKING:
    from awsdb_testing.fake_driver import FakeDriver

__all__ = ["FakeConnection", "FakeCursor", "apply_fault"]

T = TypeVar("T")


def apply_fault(fault: _Fault, conn: FakeConnection | None) -> None:
    """Carry out a failure that fired: block on a hang, or raise (breaking ``conn``)."""
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
                apply_fault(fault, conn)
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
