"""PEP 249 type objects and constructors.

``description[i][1]`` is the engine's type string (``'LONG'``, ``'DECIMAL128'``...); the
type objects compare equal to the matching strings.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "DBAPITypeObject",
    "Date",
    "DateFromTicks",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
]


class DBAPITypeObject:
    """A PEP 249 type object: equal to every engine type string of its group."""

    def __init__(self, name: str, *values: str) -> None:
        self.name = name
        self.values = frozenset(v.upper() for v in values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other.upper() in self.values
        if isinstance(other, DBAPITypeObject):
            return self.values == other.values
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.values)

    def __repr__(self) -> str:
        return f"<DBAPITypeObject {self.name}>"


STRING = DBAPITypeObject("STRING", "STRING", "CHAR", "VARCHAR", "ARRAY", "MAP", "STRUCT")
BINARY = DBAPITypeObject("BINARY", "BINARY")
NUMBER = DBAPITypeObject(
    "NUMBER",
    "LONG",
    "INTEGER",
    "INT",
    "SHORT",
    "BYTE",
    "DOUBLE",
    "FLOAT",
    "DECIMAL128",
    "BOOLEAN",
)
DATETIME = DBAPITypeObject(
    "DATETIME", "DATE", "DATETIME", "TIMESTAMP", "TIMESTAMP_TZ", "INTERVAL_DAY_SECOND"
)
ROWID = DBAPITypeObject("ROWID")

Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime


def DateFromTicks(ticks: float) -> _dt.date:  # noqa: N802 - PEP 249 name
    """The local date of a POSIX timestamp."""
    return _dt.date.fromtimestamp(ticks)


def TimeFromTicks(ticks: float) -> _dt.time:  # noqa: N802 - PEP 249 name
    """The local time of a POSIX timestamp."""
    return _dt.datetime.fromtimestamp(ticks).time()


def TimestampFromTicks(ticks: float) -> _dt.datetime:  # noqa: N802 - PEP 249 name
    """The local datetime of a POSIX timestamp."""
    return _dt.datetime.fromtimestamp(ticks)


def Binary(value: Any) -> bytes:  # noqa: N802 - PEP 249 name
    """A binary parameter value."""
    return bytes(value)
