"""asyncio API: :class:`AsyncConnection`, :class:`AsyncCursor` and :class:`AsyncConnectionPool`.

There is one implementation of the protocol: the synchronous :class:`~.connection.Connection`,
:class:`~.cursor.Cursor` and :class:`~.pool.ConnectionPool`. The asyncio classes wrap them and
run each blocking call on a bounded thread pool (``max_workers`` threads per connection or
pool, created on first use); reading rows already buffered in memory happens on the event
loop without a thread hop. When a task awaiting an ``execute`` or a fetch is cancelled, the
query is cancelled on the engine (``cancelQuery``, then released) before the
:class:`asyncio.CancelledError` propagates; a call that had not started yet is simply dropped.

One cursor runs one operation at a time; a second concurrent operation on the same cursor
raises :class:`~.errors.ProgrammingError`. Connections may be shared between tasks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any, TypeVar

from .connection import Connection
from .cursor import Cursor, Row
from .errors import Error, InterfaceError, ProgrammingError
from .pool import ConnectionPool, PooledConnection

__all__ = [
    "AsyncConnection",
    "AsyncConnectionPool",
    "AsyncCursor",
    "AsyncPooledConnection",
    "connect",
]

_T = TypeVar("_T")
_log = logging.getLogger("awsdb_e6data")


def _abandoned(on_abandoned: Callable[[_T], object], future: concurrent.futures.Future[_T]) -> None:
    """Hand a result nobody awaits any more to ``on_abandoned`` (on the worker thread)."""
    if future.cancelled() or future.exception() is not None:
        return
    try:
        on_abandoned(future.result())
    except Error as exc:
        _log.debug("abandoned result not released: %s", exc)


def _nothing() -> None:
    """A cancel that sends nothing (the call is left to finish)."""


class _Runner:
    """The bounded thread pool of blocking calls, plus a small one for cancels (a cancel must
    not queue behind the calls it is meant to interrupt). Threads start on first use."""

    def __init__(self, max_workers: int) -> None:
        if max_workers < 1:
            raise InterfaceError("max_workers must be at least 1")
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._work: concurrent.futures.ThreadPoolExecutor | None = None
        self._control: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False

    def _executor(self, control: bool) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise InterfaceError("connection is closed")
            if control:
                if self._control is None:
                    self._control = concurrent.futures.ThreadPoolExecutor(
                        2, thread_name_prefix="awsdb-e6data-cancel"
                    )
                return self._control
            if self._work is None:
                self._work = concurrent.futures.ThreadPoolExecutor(
                    self._max_workers, thread_name_prefix="awsdb-e6data-aio"
                )
            return self._work

    async def run(
        self,
        fn: Callable[..., _T],
        *args: Any,
        on_cancel: Callable[[], object] | None = None,
        on_abandoned: Callable[[_T], object] | None = None,
    ) -> _T:
        """Run ``fn(*args)`` on a worker thread and await it.

        If the awaiting task is cancelled while ``fn`` runs: with ``on_cancel``, it is run
        (on the cancel threads) and the worker is awaited before the cancellation propagates
        (the wrapped object is never used by two threads); without, the cancellation
        propagates at once and ``on_abandoned`` receives a result that arrives later.
        """
        future = self._executor(False).submit(fn, *args)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if future.cancel():
                raise  # never started: nothing to undo
            if on_cancel is None:
                if on_abandoned is not None:
                    future.add_done_callback(functools.partial(_abandoned, on_abandoned))
                raise
            await asyncio.shield(self._settle(future, on_cancel))
            raise

    async def _settle(
        self, future: concurrent.futures.Future[Any], on_cancel: Callable[[], object]
    ) -> None:
        if not future.done():
            with contextlib.suppress(Error):
                await self.control(on_cancel)
        with contextlib.suppress(BaseException):  # superseded by the cancellation
            await asyncio.wrap_future(future)

    async def control(self, fn: Callable[[], _T]) -> _T:
        """Run a short control call (a cancel) on the cancel threads."""
        return await asyncio.wrap_future(self._executor(True).submit(fn))

    def close(self) -> None:
        """Refuse new calls; running ones finish on their threads."""
        with self._lock:
            self._closed = True
            work, control, self._work, self._control = self._work, self._control, None, None
        for executor in (work, control):
            if executor is not None:
                executor.shutdown(wait=False)


class AsyncCursor:
    """An asyncio cursor over a :class:`~.cursor.Cursor` (same semantics, awaitable calls).

    ``execute``, the fetch methods, ``fetchall_buffer()`` (an async generator of one list of
    rows per engine batch) and ``async for row in cursor`` are cancellable: cancelling the
    awaiting task cancels the query on the engine.
    """

    def __init__(self, cursor: Cursor, connection: AsyncConnection) -> None:
        self._cursor = cursor
        self._connection = connection
        self._busy = False

    # --- plain attributes (no I/O) -----------------------------------------------------

    @property
    def cursor(self) -> Cursor:
        """The synchronous cursor this one wraps."""
        return self._cursor

    @property
    def connection(self) -> AsyncConnection | None:
        """The connection, or None once the cursor is closed."""
        return self._connection if self._cursor.connection is not None else None

    @property
    def description(self) -> tuple[tuple[Any, ...], ...] | None:
        """See :attr:`Cursor.description <awsdb_e6data.cursor.Cursor.description>`."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Row count announced by the engine for the last execute, or -1."""
        return self._cursor.rowcount

    @property
    def rownumber(self) -> int:
        """Index of the next row of the result."""
        return self._cursor.rownumber

    @property
    def query_id(self) -> str | None:
        """Engine id of the last query."""
        return self._cursor.query_id

    @property
    def metadata(self) -> list[tuple[str, str]]:
        """The gRPC call headers of the current query (see ``Cursor.metadata``)."""
        return self._cursor.metadata

    @property
    def arraysize(self) -> int:
        """Default ``fetchmany`` size."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    # --- running blocking calls ----------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if self._busy:
            raise ProgrammingError("another operation is running on this cursor")
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    async def _run(self, fn: Callable[..., _T], *args: Any, cancellable: bool = True) -> _T:
        with self._exclusive():
            # Either way the worker is awaited: the cursor is never used by two threads.
            on_cancel = self._cursor.cancel if cancellable else _nothing
            return await self._connection._runner.run(fn, *args, on_cancel=on_cancel)

    # --- execute and fetch ---------------------------------------------------------------

    async def execute(self, operation: str, parameters: Any = None) -> str:
        """Run ``operation`` (``pyformat`` parameters); return the engine's query id."""
        return await self._run(self._cursor.execute, operation, parameters)

    async def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> str | None:
        """Execute once per parameter set; only the last result is kept."""
        return await self._run(self._cursor.executemany, operation, seq_of_parameters)

    async def fetchone(self) -> Row | None:
        """The next row, or None."""
        if self._cursor._buffered() > 0 and not self._busy:
            return self._cursor.fetchone()
        return await self._run(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> list[Row]:
        """Up to ``size`` rows (default ``arraysize``)."""
        want = self._cursor.arraysize if size is None else size
        if self._cursor._buffered() >= want and not self._busy:
            return self._cursor.fetchmany(want)
        return await self._run(self._cursor.fetchmany, want)

    async def fetchall(self) -> list[Row]:
        """Every remaining row, buffered ones first."""
        return await self._run(self._cursor.fetchall)

    async def fetch_batch(self) -> list[Row] | None:
        """The rest of the current batch, or the next one; None at the end."""
        return await self._run(self._cursor.fetch_batch)

    async def fetchall_buffer(self, query_id: str | None = None) -> AsyncIterator[list[Row]]:
        """Yield the remaining rows one engine batch at a time (bounded memory)."""
        batches = self._cursor.fetchall_buffer(query_id)
        try:
            while (batch := await self._run(next, batches, None)) is not None:
                yield batch
        finally:
            batches.close()

    def __aiter__(self) -> AsyncCursor:
        return self

    async def __anext__(self) -> Row:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    # --- control -------------------------------------------------------------------------

    async def cancel(self, query_id: str | None = None) -> None:
        """Cancel the running query (from any task), or ``query_id``."""
        await self._connection._runner.control(lambda: self._cursor.cancel(query_id))

    async def clear(self, query_id: str | None = None, timeout: float | None = None) -> None:
        """Release the current query (or ``query_id``) on the engine."""
        await self._run(self._cursor.clear, query_id, timeout, cancellable=False)

    async def close(self, timeout: float | None = None) -> None:
        """Release the current query (only if there is one); idempotent."""
        if self._cursor.connection is None:
            return
        await self._run(self._cursor.close, timeout, cancellable=False)

    async def status(self, query_id: str | None = None) -> Any:
        """The engine's status of the query (``.status``, ``.rowCount``)."""
        return await self._run(self._cursor.status, query_id, cancellable=False)

    async def explain(self) -> str:
        """The engine's plan of the current query."""
        return await self._run(self._cursor.explain, cancellable=False)

    async def explain_analyse(self) -> dict[str, Any]:
        """See :meth:`Cursor.explain_analyse <awsdb_e6data.cursor.Cursor.explain_analyse>`."""
        return await self._run(self._cursor.explain_analyse, cancellable=False)

    async def get_schema_names(self) -> list[str]:
        """Schemas of the cursor's catalog."""
        return await self._run(self._cursor.get_schema_names, cancellable=False)

    async def get_tables(self) -> list[str]:
        """Tables of the cursor's catalog and database."""
        return await self._run(self._cursor.get_tables, cancellable=False)

    async def get_columns(self, table: str) -> list[dict[str, str]]:
        """Columns of ``table`` in the cursor's catalog and database."""
        return await self._run(self._cursor.get_columns, table, cancellable=False)

    def setinputsizes(self, sizes: Any) -> None:
        """No-op (PEP 249)."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """No-op (PEP 249)."""

    async def __aenter__(self) -> AsyncCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class AsyncConnection:
    """An asyncio connection: the parameters of :class:`~.connection.Connection`, plus
    ``max_workers`` (threads for blocking calls, default 4). No RPC and no thread until first
    use; :meth:`close` (or ``async with``) closes it."""

    def __init__(self, *args: Any, max_workers: int = 4, **kwargs: Any) -> None:
        self._connection = Connection(*args, **kwargs)
        self._runner = _Runner(max_workers)
        self._owns_runner = True

    @classmethod
    def _wrap(cls, connection: Connection, runner: _Runner) -> AsyncConnection:
        self = cls.__new__(cls)
        self._connection = connection
        self._runner = runner
        self._owns_runner = False
        return self

    def __repr__(self) -> str:
        return f"<awsdb_e6data.AsyncConnection of {self._connection!r}>"

    @property
    def connection(self) -> Connection:
        """The synchronous connection this one wraps."""
        return self._connection

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._connection.closed

    def cursor(self, catalog_name: str | None = None, db_name: str | None = None) -> AsyncCursor:
        """A new cursor (no I/O); ``catalog_name`` and ``db_name`` default to the connection's."""
        return AsyncCursor(self._connection.cursor(catalog_name, db_name), self)

    async def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await self._runner.run(fn, *args)

    async def close(self) -> None:
        """Close the channel and drop the sessions; idempotent, no RPC."""
        self._connection.close()
        if self._owns_runner:
            self._runner.close()

    async def ping(self) -> None:
        """A real round trip that also validates the session."""
        await self._call(self._connection.ping)

    async def get_session_id(self) -> str:
        """The session id of the current colour, authenticating on first use."""
        return await self._call(lambda: self._connection.get_session_id)

    async def cancel_all(self) -> None:
        """Cancel every query in flight on this connection."""
        await self._runner.control(self._connection.cancel_all)

    async def clear(
        self, query_id: str, engine_ip: str | None = None, timeout: float | None = None
    ) -> None:
        """Release a query on the engine (``clear`` RPC)."""
        await self._call(self._connection.clear, query_id, engine_ip, timeout)

    async def query_cancel(self, engine_ip: str, query_id: str) -> None:
        """Cancel a query by id."""
        await self._runner.control(lambda: self._connection.query_cancel(engine_ip, query_id))

    async def dry_run(self, query: str) -> str:
        """Validate ``query`` without running it; returns the engine's verdict string."""
        return await self._call(self._connection.dry_run, query)

    async def get_catalogs(self) -> list[dict[str, Any]]:
        """``[{'name', 'isDefault'}]`` of the engine's catalogs."""
        return await self._call(self._connection.get_catalogs)

    async def get_schema_names(self, catalog: str | None = None) -> list[str]:
        """Schema names of ``catalog`` (default: the connection's catalog)."""
        return await self._call(self._connection.get_schema_names, catalog)

    async def get_tables(
        self, catalog: str | None = None, database: str | None = None
    ) -> list[str]:
        """Table names of ``catalog.database`` (defaults: the connection's)."""
        return await self._call(self._connection.get_tables, catalog, database)

    async def get_columns(
        self, catalog: str | None = None, database: str | None = None, table: str | None = None
    ) -> list[dict[str, str]]:
        """``[{'fieldName', 'fieldType'}]`` of a table."""
        return await self._call(self._connection.get_columns, catalog, database, table)

    async def commit(self) -> None:
        """No-op: the engine has no transactions."""

    async def rollback(self) -> None:
        """The engine has no transactions (raises ``NotSupportedError``)."""
        self._connection.rollback()

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def connect(*args: Any, **kwargs: Any) -> AsyncConnection:
    """Open an :class:`AsyncConnection` (same parameters as :func:`awsdb_e6data.connect`, plus
    ``max_workers``); no RPC is sent until first use."""
    return AsyncConnection(*args, **kwargs)


class AsyncPooledConnection(AsyncConnection):
    """A connection checked out of an :class:`AsyncConnectionPool`; ``async with`` (or
    :meth:`close`) gives it back. Its cursors are closed when it is returned."""

    pooled: PooledConnection
    pool: AsyncConnectionPool

    @classmethod
    def _lease(cls, pooled: PooledConnection, pool: AsyncConnectionPool) -> AsyncPooledConnection:
        self = cls.__new__(cls)
        self._connection = pooled.connection
        self._runner = pool._runner
        self._owns_runner = False
        self.pooled = pooled
        self.pool = pool
        return self

    def cursor(self, catalog_name: str | None = None, db_name: str | None = None) -> AsyncCursor:
        """A new cursor; closed when the connection is returned."""
        return AsyncCursor(self.pooled.cursor(catalog_name, db_name), self)

    async def close(self) -> None:
        """Return the connection to its pool (the pool decides whether to keep it)."""
        await self.pool.return_connection(self)


class AsyncConnectionPool:
    """An asyncio pool over :class:`~.pool.ConnectionPool` (same parameters and statistics,
    plus ``max_workers``: threads for the blocking calls of its connections, and as many for
    waiting checkouts; default ``max_size + max_overflow``). The checkout ``timeout`` counts
    from the call. A task cancelled while waiting for a connection takes none: a connection
    that arrives for it afterwards goes back to the pool."""

    def __init__(
        self,
        min_size: int = 2,
        max_size: int = 10,
        max_overflow: int = 5,
        timeout: float = 30.0,
        recycle: int = 3600,
        debug: bool = False,
        pre_ping: bool = True,
        *,
        max_workers: int | None = None,
        **connection_params: Any,
    ) -> None:
        self._pool = ConnectionPool(
            min_size, max_size, max_overflow, timeout, recycle, debug, pre_ping,
            **connection_params,
        )  # fmt: skip
        workers = max_workers or max_size + max_overflow
        self._runner = _Runner(workers)  # the connections' calls and the returns
        # Checkouts block while the pool is exhausted: on threads of their own, so that a
        # return (on the other threads) can always run and wake them.
        self._checkouts = _Runner(workers)

    @property
    def pool(self) -> ConnectionPool:
        """The synchronous pool this one wraps."""
        return self._pool

    async def get_connection(self, timeout: float | None = None) -> AsyncPooledConnection:
        """Check out a connection; raise :class:`~.errors.PoolTimeoutError` after ``timeout``."""
        wait = self._pool.timeout if timeout is None else timeout
        deadline = time.monotonic() + max(wait, 0.0)

        def checkout() -> PooledConnection:
            # The wait counts from the call, also while queued for a thread.
            return self._pool.get_connection(max(deadline - time.monotonic(), 0.0))

        pooled = await self._checkouts.run(checkout, on_abandoned=self._pool.return_connection)
        return AsyncPooledConnection._lease(pooled, self)

    async def return_connection(self, connection: AsyncPooledConnection) -> None:
        """Give a connection back; cursors it created are closed first."""
        await self._runner.run(self._pool.return_connection, connection.pooled)

    @contextlib.asynccontextmanager
    async def get_connection_context(
        self, timeout: float | None = None
    ) -> AsyncIterator[AsyncPooledConnection]:
        """``async with pool.get_connection_context() as conn:`` checks out and returns."""
        conn = await self.get_connection(timeout)
        try:
            yield conn
        finally:
            await asyncio.shield(self.return_connection(conn))

    def get_statistics(self) -> dict[str, int]:
        """The statistics of :meth:`ConnectionPool.get_statistics` (no I/O)."""
        return self._pool.get_statistics()

    async def close_all(self) -> None:
        """Close every connection and refuse new checkouts."""
        self._pool.close_all()
        self._runner.close()
        self._checkouts.close()

    async def __aenter__(self) -> AsyncConnectionPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close_all()
