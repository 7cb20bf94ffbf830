"""awsdb_e6data: a DB-API 2.0 connector for the e6data engine (gRPC + Thrift).

Module globals follow PEP 249: ``apilevel``, ``threadsafety``, ``paramstyle``, ``connect``
and the exception tree. The asyncio API (``AsyncConnection``, ``AsyncCursor``,
``AsyncConnectionPool``, ``AsyncPooledConnection``, ``connect_async``) lives in
:mod:`awsdb_e6data.aio` and is loaded on first access. Importing the package starts nothing
(no thread, socket or process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .connection import Connection, connect
from .cursor import Cursor
from .errors import (
    AuthenticationError,
    ClusterSuspendedError,
    DatabaseError,
    DataError,
    DeadlineExceededError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NoServingStrategyError,
    NotSupportedError,
    OperationalError,
    PoolTimeoutError,
    ProgrammingError,
    QueryCancelledError,
    QueryLostError,
    ResumeFailedError,
    SessionExpiredError,
    StrategyMismatchError,
    Warning,
)
from .pool import ConnectionPool, PooledConnection
from .types import (
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
)

if TYPE_CHECKING:
    from .aio import AsyncConnection, AsyncConnectionPool, AsyncCursor, AsyncPooledConnection
    from .aio import connect as connect_async

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "AsyncConnection",
    "AsyncConnectionPool",
    "AsyncCursor",
    "AsyncPooledConnection",
    "AuthenticationError",
    "Binary",
    "ClusterSuspendedError",
    "Connection",
    "ConnectionPool",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "DeadlineExceededError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NoServingStrategyError",
    "NotSupportedError",
    "OperationalError",
    "PoolTimeoutError",
    "PooledConnection",
    "ProgrammingError",
    "QueryCancelledError",
    "QueryLostError",
    "ResumeFailedError",
    "SessionExpiredError",
    "StrategyMismatchError",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Warning",
    "apilevel",
    "connect",
    "connect_async",
    "paramstyle",
    "threadsafety",
]

apilevel = "2.0"
threadsafety = 2
paramstyle = "pyformat"

_ASYNC = {
    "AsyncConnection": "AsyncConnection",
    "AsyncConnectionPool": "AsyncConnectionPool",
    "AsyncCursor": "AsyncCursor",
    "AsyncPooledConnection": "AsyncPooledConnection",
    "connect_async": "connect",
}


def __getattr__(name: str) -> Any:
    """The asyncio names, imported from :mod:`awsdb_e6data.aio` on first access."""
    if name in _ASYNC:
        from . import aio

        return getattr(aio, _ASYNC[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names, the lazily loaded asyncio ones included."""
    return sorted(set(globals()) | set(__all__))
