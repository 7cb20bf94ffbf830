"""``Cursor``: one query at a time, streamed batch by batch."""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ._chunk import decode_chunk
from ._generated import e6data_engine_pb2 as pb
from ._metadata import ResultMetadata
from ._params import substitute
from ._query import QueryHandle
from .errors import Error, InterfaceError, ProgrammingError

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["Cursor"]

Row = tuple[Any, ...]

# Prefetching pays off only when decoding a batch takes longer than a round trip; for small
# batches the hand-off of an asynchronous call costs more than it saves.
_PREFETCH_MIN_BYTES = 64 * 1024


def _release_on_gc(conn_ref: weakref.ref[Connection], holder: list[QueryHandle | None]) -> None:
    conn = conn_ref()
    handle = holder[0]
    if conn is not None and handle is not None and not handle.done:
        conn._release(handle)  # local only: no network work during garbage collection


class Cursor:
    """A DB-API 2.0 cursor. Rows are tuples; values are typed (``Decimal``, ``datetime``...)."""

    def __init__(
        self,
        connection: Connection,
        array_size: int = 1000,
        database: str | None = None,
        catalog_name: str | None = None,
    ) -> None:
        self.connection: Connection | None = connection
        self.arraysize = array_size
        self.database = database if database is not None else connection.database
        self.catalog_name = catalog_name if catalog_name is not None else connection.catalog_name
        self._lock = threading.Lock()
        self._holder: list[QueryHandle | None] = [None]
        self._meta: ResultMetadata | None = None
        self._description: tuple[tuple[Any, ...], ...] | None = None
        self._rows: list[Row] = []
        self._pos = 0
        self._exhausted = True
        self._executing = False
        self._cancel_pending = False
        self._rownumber = 0
        self._rowcount = -1
        self._query_id: str | None = None
        self._prefetch: Any = None  # the next batch, requested while decoding this one
        weakref.finalize(self, _release_on_gc, weakref.ref(connection), self._holder)

    # --- properties ---------------------------------------------------------------------

    @property
    def description(self) -> tuple[tuple[Any, ...], ...] | None:
        """``(name, type_string, None, None, None, None, True)`` per column, or None."""
        return self._description

    @property
    def rowcount(self) -> int:
        """Row count announced by the engine for the last execute, or -1."""
        return self._rowcount

    @property
    def rownumber(self) -> int:
        """Index of the next row of the result."""
        return self._rownumber

    @property
    def query_id(self) -> str | None:
        """Engine id of the last query."""
        return self._query_id

    @property
    def metadata(self) -> list[tuple[str, str]]:
        """The gRPC call headers of the current query (``plannerip``, ``cluster-name``,
        ``strategy``: the query's own colour), or of new work when there is no query; never
        a credential. Sends nothing."""
        conn = self._conn()
        handle = self._holder[0]
        if handle is not None and not handle.done:
            return conn._headers(handle.colour, handle.engine_ip)
        return conn._headers(conn._colour or conn._state.snapshot()[0])

    @property
    def _handle(self) -> QueryHandle | None:
        return self._holder[0]

    def _conn(self) -> Connection:
        if self.connection is None:
            raise InterfaceError("cursor is closed")
        return self.connection

    # --- execute ------------------------------------------------------------------------

    def _discard(self, timeout: float | None = None) -> None:
        """Drop the previous query's rows and release it (D1/D2)."""
        handle = self._holder[0]
        self._holder[0] = None
        self._drop_prefetch()
        self._rows, self._pos = [], 0
        self._exhausted = True
        if handle is not None and not handle.done and self.connection is not None:
            self.connection._clear_handle(handle, timeout)

    def _drop_prefetch(self) -> None:
        pending, self._prefetch = self._prefetch, None
        if pending is not None:
            pending.cancel()

    def _on_prepared(self, handle: QueryHandle) -> bool:
        with self._lock:
            self._holder[0] = handle
            self._query_id = handle.query_id
            return not self._cancel_pending

    def execute(self, operation: str, parameters: Any = None) -> str:
        """Run ``operation`` (``pyformat`` parameters); return the engine's query id."""
        conn = self._conn()
        sql = substitute(operation, parameters, conn.escape_style).strip().rstrip(";").strip()
        if not sql:
            raise ProgrammingError("empty statement")
        self._discard()
        self._description, self._meta, self._rowcount, self._rownumber = None, None, -1, 0
        with self._lock:
            self._executing, self._cancel_pending = True, False
        try:
            handle, meta = conn._start_query(
                sql, self.catalog_name, self.database, self._on_prepared
            )
        except BaseException:
            with self._lock:
                self._holder[0] = None
            raise
        finally:
            with self._lock:
                self._executing = False
        self._meta = meta
        self._rowcount = meta.row_count
        if meta.columns:
            self._description = tuple(
                (c.name, c.type_name, None, None, None, None, True) for c in meta.columns
            )
            self._exhausted = False
        else:
            conn._clear_handle(handle)
        return handle.query_id

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> str | None:
        """Execute once per parameter set; only the last result is kept."""
        query_id = None
        for params in seq_of_parameters:
            query_id = self.execute(operation, params)
        return query_id

    # --- fetch --------------------------------------------------------------------------

    def _load_batch(self) -> bool:
        """Replace the buffer with the next engine batch; False at the end of data."""
        handle = self._holder[0]
        if self._exhausted or handle is None or self._meta is None:
            return False
        conn = self._conn()
        ncols = len(self._meta.columns)
        try:
            pending, self._prefetch = self._prefetch, None
            raw = pending() if pending is not None else conn._next_batch(handle)
            if conn.prefetch and len(raw) >= _PREFETCH_MIN_BYTES:
                self._prefetch = conn._start_next_batch(handle)
            # An empty batch or a chunk of size <= 0 is the end of data.
            rows = decode_chunk(raw, ncols) if raw else []
        except Error:
            self._exhausted = True
            self._drop_prefetch()
            if not handle.done:
                conn._clear_handle(handle)
            raise
        if not rows:
            self._exhausted = True
            self._drop_prefetch()
            conn._clear_handle(handle)
            self._rows, self._pos = [], 0
            return False
        self._rows, self._pos = rows, 0
        return True

    def _buffered(self) -> int:
        """Rows of the current batch not yet handed out (readable without I/O)."""
        return len(self._rows) - self._pos

    def _check_result(self) -> None:
        self._conn()
        if self._description is None:
            raise ProgrammingError("no result set: execute a query first")

    def fetchone(self) -> Row | None:
        """The next row, or None."""
        self._check_result()
        if self._pos >= len(self._rows) and not self._load_batch():
            return None
        row = self._rows[self._pos]
        self._pos += 1
        self._rownumber += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[Row]:
        """Up to ``size`` rows (default ``arraysize``)."""
        self._check_result()
        want = self.arraysize if size is None else size
        out: list[Row] = []
        while len(out) < want:
            if self._pos >= len(self._rows) and not self._load_batch():
                break
            take = self._rows[self._pos : self._pos + want - len(out)]
            self._pos += len(take)
            out.extend(take)
        self._rownumber += len(out)
        return out

    def fetchall(self) -> list[Row]:
        """Every remaining row, buffered ones first."""
        self._check_result()
        out = self._rows[self._pos :]
        self._rows, self._pos = [], 0
        while self._load_batch():
            out.extend(self._rows)
            self._rows, self._pos = [], 0
        self._rownumber += len(out)
        return out

    def fetch_batch(self) -> list[Row] | None:
        """The rest of the current batch, or the next one; None at the end."""
        self._check_result()
        if self._pos >= len(self._rows) and not self._load_batch():
            return None
        out = self._rows[self._pos :]
        self._rows, self._pos = [], 0
        self._rownumber += len(out)
        return out

    def fetchall_buffer(self, query_id: str | None = None) -> Generator[list[Row], None, None]:
        """Yield the remaining rows one engine batch at a time (bounded memory)."""
        if query_id is not None and query_id != self._query_id:
            raise ProgrammingError(f"query {query_id!r} is not this cursor's current query")
        while (batch := self.fetch_batch()) is not None:
            yield batch

    def __iter__(self) -> Iterator[Row]:
        while (row := self.fetchone()) is not None:
            yield row

    def __next__(self) -> Row:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    # --- control ------------------------------------------------------------------------

    def cancel(self, query_id: str | None = None) -> None:
        """Cancel the running query (callable from another thread), or ``query_id``.

        A cancel that arrives before the engine has returned the query id is remembered and
        sent as soon as the id is known.
        """
        conn = self._conn()
        if query_id is not None and query_id != self._query_id:
            conn.query_cancel("", query_id)
            return
        with self._lock:
            handle = self._holder[0]
            if handle is None or handle.done:
                if self._executing:
                    self._cancel_pending = True
                return
        try:
            conn._cancel_handle(handle)
        finally:
            self._exhausted = True
            self._drop_prefetch()
            conn._clear_handle(handle)  # also released on the engine, under a deadline

    def clear(self, query_id: str | None = None, timeout: float | None = None) -> None:
        """Release the current query (or ``query_id``) on the engine; ``timeout`` is the
        deadline of the release in seconds (default: the connection's ``clear_timeout``)."""
        conn = self._conn()
        if query_id is not None and query_id != self._query_id:
            conn.clear(query_id, timeout=timeout)
            return
        self._discard(timeout)

    def status(self, query_id: str | None = None) -> Any:
        """The engine's status of the query: an object with ``.status`` and ``.rowCount``."""
        conn = self._conn()
        qid = query_id or self._query_id
        if not qid:
            raise ProgrammingError("no query to ask the status of")
        handle = self._holder[0]
        if handle is not None and handle.query_id == qid:
            return conn._query_call("status", pb.StatusRequest, handle)
        return conn._session_call("status", lambda s: pb.StatusRequest(sessionId=s, queryId=qid))

    def _current(self) -> QueryHandle:
        handle = self._holder[0]
        if handle is None:
            raise ProgrammingError("no current query")
        return handle

    def explain(self) -> str:
        """The engine's plan of the current query."""
        return str(self._conn()._query_call("explain", pb.ExplainRequest, self._current()).explain)

    def explain_analyse(self) -> dict[str, Any]:
        """``{'is_cached', 'parsing_time', 'queuing_time', 'planner'}`` plus parsed JSON."""
        resp = self._conn()._query_call("explainAnalyze", pb.ExplainAnalyzeRequest, self._current())
        out: dict[str, Any] = {
            "is_cached": resp.isCached,
            "parsing_time": resp.parsingTime,
            "queuing_time": resp.queueingTime,
            "planner": resp.explainAnalyze,
        }
        try:
            parsed = json.loads(resp.explainAnalyze)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            out["planner_json"] = parsed
        return out

    def get_schema_names(self) -> list[str]:
        """Schemas of the cursor's catalog."""
        return self._conn().get_schema_names(self.catalog_name)

    def get_tables(self) -> list[str]:
        """Tables of the cursor's catalog and database."""
        return self._conn().get_tables(self.catalog_name, self.database)

    def get_columns(self, table: str) -> list[dict[str, str]]:
        """Columns of ``table`` in the cursor's catalog and database."""
        return self._conn().get_columns(self.catalog_name, self.database, table)

    def setinputsizes(self, sizes: Any) -> None:
        """No-op (PEP 249)."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """No-op (PEP 249)."""

    def close(self, timeout: float | None = None) -> None:
        """Release the current query (only if there is one); idempotent. ``timeout`` is the
        deadline of the release in seconds (default: the connection's ``clear_timeout``)."""
        if self.connection is None:
            return
        try:
            self._discard(timeout)
        finally:
            self.connection = None

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
