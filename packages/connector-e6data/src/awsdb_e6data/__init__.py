"""awsdb_e6data: a DB-API 2.0 connector for the e6data engine (gRPC + Thrift).

Module globals follow PEP 249: ``apilevel``, ``threadsafety``, ``paramstyle``, ``connect``
and the exception tree. Importing the package starts nothing (no thread, socket or process).
"""

from __future__ import annotations

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

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
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
    "paramstyle",
    "threadsafety",
]

apilevel = "2.0"
threadsafety = 2
paramstyle = "pyformat"
