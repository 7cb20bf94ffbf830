"""SQLAlchemy dialects ``e6data://`` and ``e6data+asyncio://`` (extra ``[sqlalchemy]``).

URL: ``e6data://user:password@host:port/database?catalog=glue&cluster-name=prod&secure=true``
(``schema=`` may name the database instead of the path, as in the published client). Other
query keys: ``auto-resume``, ``debug``, ``enable_result_batch_v2``, the connection's
keyword extras (``rpc_timeout``, ``execute_timeout``, ``clear_timeout``, ``resume_timeout``,
``resume_poll_interval``, ``max_retries``, ``prefetch``, ``escape_style``,
``ssl_target_name_override``, ``ssl_cert``), ``max_workers`` (asyncio only); any other key is a
gRPC channel option.

Both dialects run on the one connector implementation: ``e6data`` on
:class:`~awsdb_e6data.connection.Connection`, ``e6data+asyncio`` on
:class:`~awsdb_e6data.aio.AsyncConnection` through SQLAlchemy's greenlet adaptation (a result
is read completely by ``execute``, as with other asyncio drivers). Reflection covers schemas,
tables, column names and types; the engine has no keys, indexes, views or transactions.

The entry points are registered in the ``sqlalchemy.dialects`` group. The published
``e6data-python-connector`` registers the same names: with both installed, call
:func:`register` once to make these dialects win.
"""

from __future__ import annotations

import collections
import re
from types import ModuleType
from typing import Any, Protocol

from sqlalchemy import exc as sa_exc
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import URL, AdaptedConnection, default
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.engine.interfaces import (
    ConnectArgsType,
    DBAPIConnection,
    ReflectedColumn,
    ReflectedForeignKeyConstraint,
    ReflectedIndex,
    ReflectedPrimaryKeyConstraint,
    ReflectedUniqueConstraint,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool, Pool
from sqlalchemy.util.concurrency import await_only, in_greenlet

from . import aio
from .errors import InterfaceError, OperationalError

__all__ = ["E6DataAsyncDialect", "E6DataDialect", "column_type", "connect_kwargs", "register"]

_DECIMAL = re.compile(r"(?:decimal|numeric)\((\d+)\s*,\s*(\d+)\)")
_SIMPLE: dict[str, type[sqltypes.TypeEngine[Any]]] = {
    "long": sqltypes.BigInteger,
    "bigint": sqltypes.BigInteger,
    "int": sqltypes.Integer,
    "integer": sqltypes.Integer,
    "short": sqltypes.SmallInteger,
    "smallint": sqltypes.SmallInteger,
    "byte": sqltypes.SmallInteger,
    "tinyint": sqltypes.SmallInteger,
    "bool": sqltypes.Boolean,
    "boolean": sqltypes.Boolean,
    "double": sqltypes.Double,
    "float": sqltypes.Float,
    "real": sqltypes.Float,
    "string": sqltypes.String,
    "varchar": sqltypes.String,
    "char": sqltypes.String,
    "binary": sqltypes.LargeBinary,
    "date": sqltypes.Date,
    "timestamp": sqltypes.DateTime,
    "datetime": sqltypes.DateTime,
    "interval": sqltypes.Interval,
    "decimal": sqltypes.Numeric,
    "numeric": sqltypes.Numeric,
    # Nested values arrive as the JSON text the engine sends.
    "array": sqltypes.String,
    "map": sqltypes.String,
    "struct": sqltypes.String,
}
_FLOATS = frozenset({"rpc_timeout", "execute_timeout", "clear_timeout", "resume_timeout"})
_FLOATS |= {"resume_poll_interval"}
_INTS = frozenset({"max_retries", "max_workers"})
_STRINGS = frozenset({"escape_style", "ssl_target_name_override", "ssl_cert"})


def column_type(engine_type: str) -> sqltypes.TypeEngine[Any]:
    """The SQLAlchemy type of an engine column type (``long``, ``decimal(7,2)``,
    ``array<int>``...); ``NullType`` for a type it does not know."""
    t = engine_type.strip().lower()
    m = _DECIMAL.fullmatch(t)
    if m:
        return sqltypes.Numeric(int(m.group(1)), int(m.group(2)))
    if t in ("timestamp_tz", "timestamptz"):
        return sqltypes.DateTime(timezone=True)
    base = t.split("(", 1)[0].split("<", 1)[0].strip()
    cls = _SIMPLE.get(base)
    return cls() if cls is not None else sqltypes.NullType()


def _flag(key: str, value: str) -> bool:
    low = value.lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise sa_exc.ArgumentError(f"URL query {key}={value!r}: expected true or false")


def connect_kwargs(url: URL, *, asyncio: bool = False) -> dict[str, Any]:
    """The keyword arguments of ``awsdb_e6data.connect`` (or ``AsyncConnection``) for ``url``."""
    query: dict[str, str] = {}
    for key, value in url.query.items():
        if not isinstance(value, str):
            raise sa_exc.ArgumentError(f"URL query key {key!r} is given more than once")
        query[key] = value
    kwargs: dict[str, Any] = {
        "host": url.host,
        "port": url.port or 443,
        "username": url.username,
        "password": url.password if url.password is not None else "",
        "database": query.pop("schema", None) or url.database or None,
        "catalog": query.pop("catalog", None),
    }
    cluster = query.pop("cluster-name", None) or query.pop("cluster_name", None)
    if cluster:
        kwargs["cluster_name"] = cluster
    for key, name in (
        ("secure", "secure"),
        ("auto-resume", "auto_resume"),
        ("auto_resume", "auto_resume"),
        ("debug", "debug"),
        ("enable_result_batch_v2", "enable_result_batch_v2"),
        ("prefetch", "prefetch"),
    ):
        if key in query:
            kwargs[name] = _flag(key, query.pop(key))
    for key in list(query):
        if key in _FLOATS:
            kwargs[key] = float(query.pop(key))
        elif key in _INTS:
            if key == "max_workers" and not asyncio:
                raise sa_exc.ArgumentError("max_workers applies to e6data+asyncio only")
            kwargs[key] = int(query.pop(key))
        elif key in _STRINGS:
            kwargs[key] = query.pop(key)
    if query:
        kwargs["grpc_options"] = {
            k: int(v) if v.lstrip("-").isdigit() else v for k, v in query.items()
        }
    return kwargs


class _Catalog(Protocol):
    """What reflection needs of a DB-API connection (sync, or the adapted asyncio one)."""

    database: str | None

    def get_schema_names(self, catalog: str | None = None) -> list[str]: ...
    def get_tables(self, catalog: str | None = None, database: str | None = None) -> list[str]: ...
    def get_columns(
        self, catalog: str | None = None, database: str | None = None, table: str | None = None
    ) -> list[dict[str, str]]: ...
    def ping(self) -> None: ...


def _native(connection: SAConnection) -> _Catalog:
    raw: Any = connection.connection.dbapi_connection
    return raw  # type: ignore[no-any-return]


class E6DataDialect(default.DefaultDialect):
    """``e6data://``: SQLAlchemy on :mod:`awsdb_e6data` (``pyformat`` parameters quoted
    client-side, no transactions: commit and rollback do nothing)."""

    name = "e6data"
    driver = "awsdb_e6data"
    supports_statement_cache = True
    default_paramstyle = "pyformat"
    supports_native_decimal = True
    supports_native_boolean = True
    supports_sane_rowcount = False
    supports_sane_multi_rowcount = False
    supports_alter = False
    supports_sequences = False
    supports_default_values = False
    supports_empty_insert = False
    supports_multivalues_insert = True
    postfetch_lastrowid = False

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        """The PEP 249 module: :mod:`awsdb_e6data`."""
        import awsdb_e6data

        return awsdb_e6data

    def create_connect_args(self, url: URL) -> ConnectArgsType:
        """Connection keywords from the URL (see the module documentation)."""
        return [], connect_kwargs(url)

    def do_rollback(self, dbapi_connection: DBAPIConnection) -> None:
        """Nothing: the engine has no transactions."""

    def do_commit(self, dbapi_connection: DBAPIConnection) -> None:
        """Nothing: the engine has no transactions."""

    def do_ping(self, dbapi_connection: DBAPIConnection) -> bool:
        """A real round trip that also validates the session."""
        conn: Any = dbapi_connection
        conn.ping()
        return True

    def is_disconnect(self, e: Exception, connection: Any, cursor: Any) -> bool:
        """A closed connection, or an engine that cannot be reached."""
        if isinstance(e, InterfaceError):
            return "closed" in str(e)
        return isinstance(e, OperationalError) and e.grpc_code == "UNAVAILABLE"

    def _get_default_schema_name(self, connection: SAConnection) -> str:
        return _native(connection).database or ""

    def get_schema_names(self, connection: SAConnection, **kw: Any) -> list[str]:
        """Schemas (databases) of the connection's catalog."""
        return _native(connection).get_schema_names()

    def get_table_names(
        self, connection: SAConnection, schema: str | None = None, **kw: Any
    ) -> list[str]:
        """Tables of ``schema`` (default: the connection's database)."""
        return _native(connection).get_tables(None, schema)

    def has_table(
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> bool:
        """Whether ``table_name`` is among the tables of ``schema``."""
        return table_name in self.get_table_names(connection, schema)

    def get_view_names(
        self, connection: SAConnection, schema: str | None = None, **kw: Any
    ) -> list[str]:
        """None: the engine does not list views separately."""
        return []

    def get_columns(
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedColumn]:
        """Name and type of every column (all nullable, no defaults)."""
        columns = _native(connection).get_columns(None, schema, table_name)
        if not columns:
            raise sa_exc.NoSuchTableError(table_name)
        return [
            {
                "name": c["fieldName"],
                "type": column_type(c["fieldType"]),
                "nullable": True,
                "default": None,
            }
            for c in columns
        ]

    def get_pk_constraint(
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> ReflectedPrimaryKeyConstraint:
        """None: the engine has no primary keys."""
        return {"constrained_columns": [], "name": None}

    def get_foreign_keys(
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedForeignKeyConstraint]:
        """None: the engine has no foreign keys."""
        return []

    def get_indexes(
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedIndex]:
        """None: the engine has no indexes."""
        return []

    def get_unique_constraints(
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[ReflectedUniqueConstraint]:
        """None: the engine has no unique constraints."""
        return []


class _AsyncCursor:
    """A synchronous DB-API cursor over :class:`~awsdb_e6data.aio.AsyncCursor` for code in
    SQLAlchemy's greenlet; ``execute`` reads the whole result."""

    server_side = False

    def __init__(self, connection: _AsyncConnection) -> None:
        self._cursor = connection.driver_connection.cursor()
        self._rows: collections.deque[tuple[Any, ...]] = collections.deque()

    @property
    def description(self) -> Any:
        """The result's column descriptions."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Row count announced by the engine, or -1."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> None:
        """None: the engine has no row ids."""
        return None

    @property
    def arraysize(self) -> int:
        """Default ``fetchmany`` size."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    def execute(self, operation: str, parameters: Any = None) -> None:
        """Run the statement and read its result."""
        await_only(self._cursor.execute(operation, parameters))
        rows = await_only(self._cursor.fetchall()) if self._cursor.description else []
        self._rows = collections.deque(rows)

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        """Run once per parameter set; no result is kept."""
        await_only(self._cursor.executemany(operation, seq_of_parameters))
        self._rows.clear()

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or None."""
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        """Up to ``size`` rows (default ``arraysize``)."""
        want = self.arraysize if size is None else size
        return [self._rows.popleft() for _ in range(min(want, len(self._rows)))]

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every remaining row."""
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def close(self) -> None:
        """Drop the rows (the result was already released on the engine)."""
        self._rows.clear()
        self._cursor.cursor.close()  # no query is left: sends nothing

    async def _async_soft_close(self) -> None:
        """Called by SQLAlchemy's asyncio results before they are read outside the greenlet:
        nothing to do, the rows are in memory and the query is released."""

    def setinputsizes(self, *sizes: Any) -> None:
        """No-op (PEP 249)."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """No-op (PEP 249)."""


class _AsyncConnection(AdaptedConnection):
    """A synchronous DB-API connection over :class:`~awsdb_e6data.aio.AsyncConnection` for
    SQLAlchemy's greenlet; ``driver_connection`` is the asyncio connection."""

    def __init__(self, connection: aio.AsyncConnection) -> None:
        self._native = connection
        self._connection: Any = connection

    @property
    def driver_connection(self) -> aio.AsyncConnection:
        """The :class:`~awsdb_e6data.aio.AsyncConnection`."""
        return self._native

    @property
    def database(self) -> str | None:
        """The connection's database."""
        return self._native.connection.database

    def cursor(self, server_side: bool = False) -> _AsyncCursor:
        """A cursor (results are read by ``execute``)."""
        return _AsyncCursor(self)

    def commit(self) -> None:
        """Nothing: the engine has no transactions."""

    def rollback(self) -> None:
        """Nothing: the engine has no transactions."""

    def close(self) -> None:
        """Close the connection (no RPC)."""
        if in_greenlet():
            await_only(self._native.close())
        else:
            self._native.connection.close()

    def ping(self) -> None:
        """A real round trip that also validates the session."""
        await_only(self._native.ping())

    def get_schema_names(self, catalog: str | None = None) -> list[str]:
        """Schema names of ``catalog``."""
        return await_only(self._native.get_schema_names(catalog))

    def get_tables(self, catalog: str | None = None, database: str | None = None) -> list[str]:
        """Table names of ``catalog.database``."""
        return await_only(self._native.get_tables(catalog, database))

    def get_columns(
        self, catalog: str | None = None, database: str | None = None, table: str | None = None
    ) -> list[dict[str, str]]:
        """Columns of a table."""
        return await_only(self._native.get_columns(catalog, database, table))


class _AsyncDBAPI:
    """The module-like DB-API of ``e6data+asyncio``: the names of :mod:`awsdb_e6data`, with
    ``connect()`` opening an :class:`~awsdb_e6data.aio.AsyncConnection`."""

    paramstyle = "pyformat"

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def connect(self, *args: Any, **kwargs: Any) -> _AsyncConnection:
        """Open an adapted asyncio connection (``async_creator_fn`` as SQLAlchemy passes it)."""
        creator = kwargs.pop("async_creator_fn", None) or aio.connect
        return _AsyncConnection(await_only(creator(*args, **kwargs)))


class E6DataAsyncDialect(E6DataDialect):
    """``e6data+asyncio://``: :func:`sqlalchemy.ext.asyncio.create_async_engine` on
    :class:`~awsdb_e6data.aio.AsyncConnection`. Cancelling a task that awaits a statement
    cancels the query on the engine."""

    driver = "asyncio"
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        """The adapted DB-API of the asyncio connection."""
        return _AsyncDBAPI(super().import_dbapi())

    @classmethod
    def get_pool_class(cls, url: URL) -> type[Pool]:
        """SQLAlchemy's asyncio queue pool."""
        return AsyncAdaptedQueuePool

    def create_connect_args(self, url: URL) -> ConnectArgsType:
        """Connection keywords from the URL, ``max_workers`` included."""
        return [], connect_kwargs(url, asyncio=True)

    def get_driver_connection(self, connection: DBAPIConnection) -> Any:
        """The :class:`~awsdb_e6data.aio.AsyncConnection` under an adapted connection."""
        adapted: Any = connection
        return adapted.driver_connection


def register() -> None:
    """Make ``e6data://`` and ``e6data+asyncio://`` resolve to these dialects, also when
    another installed distribution registers the same names."""
    from sqlalchemy.dialects import registry

    registry.register("e6data", __name__, "E6DataDialect")
    registry.register("e6data.asyncio", __name__, "E6DataAsyncDialect")
