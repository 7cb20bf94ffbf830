"""DuckDB side of the test engine: catalogs, query execution and result encoding."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ._chunk_writer import encode_chunk, encode_metadata, encode_vector
from ._fast import numpy_batches

__all__ = ["ColumnPlan", "Database", "RunningQuery", "short_type_name"]

_EPOCH_DATE = dt.date(1970, 1, 1)
_EPOCH = dt.datetime(1970, 1, 1)
_US = dt.timedelta(microseconds=1)
_SELECT_TYPES = {"SELECT"}
_DML_TYPES = {"INSERT", "UPDATE", "DELETE"}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(slots=True)
class ColumnPlan:
    """How one result column travels: SQL projection, vector type and Python conversion."""

    name: str
    duck_type: str
    vtype: int
    meta_type: str
    expr: str
    convert: Callable[[Any], Any] | None = None
    scale: int = 0
    zone: str | None = None
    fast: str | None = None  # numpy path: "fixed", "bool", "dec" or None (per value)


def _unscaled_bytes(value: Any) -> Any:
    if value is None:
        return None
    try:
        return int(value).to_bytes(16, "big", signed=True)
    except OverflowError:
        return str(value).encode()


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _interval_us(value: Any) -> Any:
    return None if value is None else value // _US


def plan_column(
    index: int, name: str, duck_type: str, decimal_mode: str, interval_mode: str
) -> ColumnPlan:
    """The projection and encoding of one DuckDB column (section 4.8 of the protocol)."""
    col = f"_q.c{index}"
    t = duck_type.upper()
    if t in {"BIGINT", "UINTEGER"}:
        return ColumnPlan(name, t, 6, "LONG", col)
    if t in ("INTEGER", "SMALLINT", "TINYINT", "USMALLINT", "UTINYINT"):
        return ColumnPlan(name, t, 5, "INTEGER", col)
    if t in ("HUGEINT", "UBIGINT", "UHUGEINT"):
        if decimal_mode == "text":
            return ColumnPlan(name, t, 16, "DECIMAL128", f"CAST({col} AS VARCHAR)", _bytes_text)
        return ColumnPlan(name, t, 16, "DECIMAL128", col, _unscaled_bytes)
    if t == "DOUBLE":
        return ColumnPlan(name, t, 2, "DOUBLE", col)
    if t in ("FLOAT", "REAL"):
        return ColumnPlan(name, t, 3, "FLOAT", col)
    if t == "BOOLEAN":
        return ColumnPlan(name, t, 1, "BOOLEAN", col)
    if t == "VARCHAR":
        return ColumnPlan(name, t, 7, "STRING", col)
    if t == "BLOB":
        return ColumnPlan(name, t, 0, "BINARY", col)
    if t == "DATE":
        return ColumnPlan(name, t, 8, "DATE", f"epoch_us(CAST({col} AS TIMESTAMP))")
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return ColumnPlan(name, t, 15, "TIMESTAMP_TZ", f"epoch_us({col})", zone="UTC")
    if t.startswith("TIMESTAMP"):
        return ColumnPlan(name, t, 9, "DATETIME", f"epoch_us(CAST({col} AS TIMESTAMP))")
    m = _DECIMAL.fullmatch(t)
    if m:
        scale = int(m.group(2))
        if decimal_mode == "text":
            return ColumnPlan(
                name, t, 16, "DECIMAL128", f"CAST({col} AS VARCHAR)", _bytes_text, scale
            )
        expr = f"CAST(replace(CAST({col} AS VARCHAR), '.', '') AS HUGEINT)"
        return ColumnPlan(name, t, 16, "DECIMAL128", expr, _unscaled_bytes, scale)
    if t == "INTERVAL":
        if interval_mode == "string":
            return ColumnPlan(name, t, 7, "STRING", f"CAST({col} AS VARCHAR)")
        return ColumnPlan(name, t, 17, "INTERVAL_DAY_SECOND", col, _interval_us)
    if t.endswith("]"):
        return ColumnPlan(name, t, 13, "ARRAY", f"CAST(to_json({col}) AS VARCHAR)")
    if t.startswith("STRUCT") or t.startswith("UNION"):
        return ColumnPlan(name, t, 11, "STRUCT", f"CAST(to_json({col}) AS VARCHAR)")
    if t.startswith("MAP"):
        return ColumnPlan(name, t, 12, "MAP", f"CAST(to_json({col}) AS VARCHAR)")
    if t in {'"NULL"', "NULL"}:
        return ColumnPlan(name, t, 14, "NULL", col)
    return ColumnPlan(name, t, 7, "STRING", f"CAST({col} AS VARCHAR)")


def _mark_fast(plan: ColumnPlan) -> ColumnPlan:
    if plan.vtype in (2, 3, 5, 6, 8, 9, 15) and plan.convert is None:
        plan.fast = "fixed"
    elif plan.vtype == 1:
        plan.fast = "bool"
    elif plan.vtype == 16 and plan.convert is _unscaled_bytes and plan.duck_type != "UHUGEINT":
        plan.fast = "dec"
    return plan


def _bytes_text(value: Any) -> Any:
    return None if value is None else str(value).encode()


def _python_column(values: list[Any]) -> tuple[int, str, list[Any], int]:
    """Encode a column of arbitrary Python values (statements that are not SELECTs)."""
    sample = next((v for v in values if v is not None), None)
    if sample is None:
        return 14, "NULL", values, 0
    if isinstance(sample, bool):
        return 1, "BOOLEAN", values, 0
    if isinstance(sample, int):
        return 6, "LONG", values, 0
    if isinstance(sample, float):
        return 2, "DOUBLE", values, 0
    if isinstance(sample, bytes):
        return 0, "BINARY", values, 0
    if isinstance(sample, dt.datetime) and sample.tzinfo is None:
        return 9, "DATETIME", [None if v is None else (v - _EPOCH) // _US for v in values], 0
    if isinstance(sample, dt.date) and not isinstance(sample, dt.datetime):
        return (
            8,
            "DATE",
            [None if v is None else (v - _EPOCH_DATE).days * 86_400_000_000 for v in values],
            0,
        )
    if isinstance(sample, decimal.Decimal):
        scale = max(-int(sample.as_tuple().exponent), 0)
        return (
            16,
            "DECIMAL128",
            [None if v is None else _unscaled_bytes(v.scaleb(scale)) for v in values],
            scale,
        )
    return (
        7,
        "STRING",
        [
            None if v is None else (v if isinstance(v, str) else json.dumps(v, default=str))
            for v in values
        ],
        0,
    )


@dataclass
class RunningQuery:
    """One query of the engine, from prepare to clear."""

    query_id: str
    sql: str
    catalog: str
    schema: str
    session_id: str
    colour: str | None
    cursor: Any = None
    executed: bool = False
    finished: bool = False
    cancelled: bool = False
    row_count: int = 0
    metadata: bytes = b""
    parse_ms: int = 0
    exec_ms: int = 0
    batches: Iterator[bytes] | None = None
    running: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def cancel(self) -> None:
        """Interrupt the DuckDB work of this query.

        An interrupt that lands between two statements of the query is lost, so it is
        repeated for a short while until the running statement ends.
        """
        self.cancelled = True
        if not self._interrupt() or not self.running:
            return

        def repeat() -> None:
            for _ in range(100):
                time.sleep(0.02)
                if not self.running or not self._interrupt():
                    return

        threading.Thread(target=repeat, name="e6data-engine-cancel", daemon=True).start()

    def _interrupt(self) -> bool:
        cur = self.cursor
        if cur is None:
            return False
        try:
            cur.interrupt()
        except duckdb.Error:
            return False
        return True

    def close(self) -> None:
        """Release the DuckDB connection (and its temporary result table)."""
        self.finished = True
        cur, self.cursor = self.cursor, None
        if cur is not None:
            with contextlib.suppress(duckdb.Error):
                cur.close()


class Database:
    """An in-memory DuckDB with one attached database per catalog."""

    def __init__(
        self, catalogs: tuple[str, ...] = ("e6data",), schemas: tuple[str, ...] = ()
    ) -> None:
        self.catalogs = catalogs
        self.default_catalog = catalogs[0]
        self._db = duckdb.connect(":memory:")
        self._db.execute("SET TimeZone = 'UTC'")
        for cat in catalogs:
            self._db.execute(f"ATTACH ':memory:' AS {_ident(cat)}")
            for schema in schemas:
                self._db.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(cat)}.{_ident(schema)}")
        self._db.execute(f"USE {_ident(self.default_catalog)}")

    def cursor(self, catalog: str = "", schema: str = "") -> Any:
        """A fresh DuckDB connection positioned on ``catalog.schema``."""
        cur = self._db.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        cat = catalog or self.default_catalog
        target = f"{_ident(cat)}.{_ident(schema)}" if schema else _ident(cat)
        cur.execute(f"USE {target}")
        return cur

    def sql(self, statement: str, catalog: str = "", schema: str = "") -> list[tuple[Any, ...]]:
        """Run setup SQL and return its rows (if any)."""
        cur = self.cursor(catalog, schema)
        try:
            cur.execute(statement)
            return cur.fetchall() if cur.description else []
        finally:
            cur.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    # --- query execution ---------------------------------------------------------------

    def run(self, q: RunningQuery, batch_size: int, decimal_mode: str, interval_mode: str) -> None:
        """Execute ``q`` (synchronously; interruptible through ``q.cancel()``)."""
        q.running = True
        try:
            self._run(q, batch_size, decimal_mode, interval_mode)
        finally:
            q.running = False

    def _run(self, q: RunningQuery, batch_size: int, decimal_mode: str, interval_mode: str) -> None:
        t0 = time.perf_counter()
        statements = duckdb.extract_statements(q.sql)
        q.parse_ms = int((time.perf_counter() - t0) * 1000)
        cur = self.cursor(q.catalog, q.schema)
        q.cursor = cur
        if q.cancelled:
            raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
        kinds = [s.type.name for s in statements]
        if len(statements) == 1 and kinds[0] in _SELECT_TYPES:
            try:
                described = cur.execute(f"DESCRIBE {q.sql}").fetchall()
            except duckdb.Error:
                described = None
            if described is not None:
                self._run_select(q, cur, described, batch_size, decimal_mode, interval_mode)
                q.exec_ms = int((time.perf_counter() - t0) * 1000)
                return
        cur.execute(q.sql)
        if kinds and kinds[-1] in _DML_TYPES:
            rows = cur.fetchall()
            count = int(rows[0][0]) if rows and rows[0] else 0
            self._no_result(q, count)
        elif cur.description and kinds[-1] not in ("CREATE", "DROP", "ALTER", "ATTACH"):
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
            self._python_result(q, names, rows, batch_size)
        else:
            self._no_result(q, 0)
        q.exec_ms = int((time.perf_counter() - t0) * 1000)

    def _no_result(self, q: RunningQuery, count: int) -> None:
        q.row_count = count
        q.metadata = encode_metadata(count, [])
        q.batches = iter(())
        q.executed = True

    def _run_select(
        self,
        q: RunningQuery,
        cur: Any,
        described: list[tuple[Any, ...]],
        batch_size: int,
        decimal_mode: str,
        interval_mode: str,
    ) -> None:
        plans = [
            _mark_fast(plan_column(i, str(d[0]), str(d[1]), decimal_mode, interval_mode))
            for i, d in enumerate(described)
        ]
        aliases = ", ".join(f"c{i}" for i in range(len(plans)))
        exprs = ", ".join(f"{p.expr} AS c{i}" for i, p in enumerate(plans)) or "1"
        cur.execute(f"CREATE TEMP TABLE _result AS SELECT {exprs} FROM ({q.sql}) AS _q({aliases})")
        if not plans:
            raise duckdb.InvalidInputException("a query result needs at least one column")
        (count,) = cur.execute("SELECT count(*) FROM _result").fetchone()
        q.row_count = int(count)
        q.metadata = encode_metadata(
            q.row_count, [(p.name, p.meta_type, p.zone or "", "") for p in plans]
        )
        cols = []
        for i, p in enumerate(plans):
            if p.fast == "dec":
                cols.append(
                    f"(c{i} >> 64)::BIGINT AS c{i}_hi, "
                    f"(c{i} & 18446744073709551615::HUGEINT)::UBIGINT AS c{i}_lo"
                )
            else:
                cols.append(f"c{i}")
        select = (
            f"SELECT {', '.join(cols) or '1'} FROM _result "
            "WHERE rowid >= {lo} AND rowid < {hi} ORDER BY rowid"
        )
        q.batches = numpy_batches(cur, plans, select, q.row_count, batch_size)
        q.executed = True

    def _python_result(
        self, q: RunningQuery, names: list[str], rows: list[tuple[Any, ...]], batch_size: int
    ) -> None:
        columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in names]
        encoded = [_python_column(c) for c in columns]
        q.row_count = len(rows)
        q.metadata = encode_metadata(
            len(rows), [(n, e[1], "", "") for n, e in zip(names, encoded, strict=True)]
        )

        def batches() -> Iterator[bytes]:
            for start in range(0, len(rows), batch_size):
                end = min(start + batch_size, len(rows))
                vectors = [encode_vector(e[0], e[2][start:end], scale=e[3]) for e in encoded]
                yield encode_chunk(end - start, vectors)

        q.batches = batches()
        q.executed = True

    # --- catalog queries ---------------------------------------------------------------

    def schemas(self, catalog: str) -> list[str]:
        """Schema names of a catalog."""
        rows = self.sql(
            "SELECT schema_name FROM information_schema.schemata "
            f"WHERE catalog_name = '{_lit(catalog or self.default_catalog)}' "
            "ORDER BY 1"
        )
        return [str(r[0]) for r in rows]

    def tables(self, catalog: str, schema: str) -> list[str]:
        """Table names of a schema."""
        rows = self.sql(
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_catalog = '{_lit(catalog or self.default_catalog)}' "
            f"AND table_schema = '{_lit(schema or 'main')}' ORDER BY 1"
        )
        return [str(r[0]) for r in rows]

    def columns(self, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
        """(name, short lower-case type) of a table's columns."""
        rows = self.sql(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_catalog = '{_lit(catalog or self.default_catalog)}' "
            f"AND table_schema = '{_lit(schema or 'main')}' "
            f"AND table_name = '{_lit(table)}' ORDER BY ordinal_position"
        )
        return [(str(r[0]), short_type_name(str(r[1]))) for r in rows]


def _lit(text: str) -> str:
    return text.replace("'", "''")


_SHORT = {
    "BIGINT": "long",
    "INTEGER": "int",
    "SMALLINT": "short",
    "TINYINT": "byte",
    "BOOLEAN": "bool",
    "DOUBLE": "double",
    "FLOAT": "float",
    "REAL": "float",
    "VARCHAR": "string",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BLOB": "binary",
    "TIMESTAMP WITH TIME ZONE": "timestamp_tz",
    "INTERVAL": "interval",
    "HUGEINT": "decimal(38,0)",
}


def short_type_name(duck_type: str) -> str:
    """DuckDB type -> the engine's short lower-case name (``decimal(7,2)``, ``array<int>``)."""
    t = duck_type.upper()
    if t.endswith("[]"):
        return f"array<{short_type_name(duck_type[:-2])}>"
    if t in _SHORT:
        return _SHORT[t]
    return duck_type.lower().replace(" ", "")
