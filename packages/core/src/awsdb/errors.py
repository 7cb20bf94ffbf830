"""The PEP 249 exception tree of awsdb, and the failover outcome exceptions.

Driver exceptions pass through awsdb unchanged: a unique violation from psycopg stays
``psycopg.errors.UniqueViolation``. The classes here are raised for awsdb's own errors (bad
input, unknown plugins, failover outcomes).

The three failover outcomes derive from :class:`OperationalError` here **and** from the
active driver's ``OperationalError``, through one class made once per driver by
:func:`bind_driver_errors`, so code that catches ``psycopg.OperationalError`` sees them too.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

__all__ = [
    "DataError",
    "DatabaseError",
    "DriverFailoverErrors",
    "Error",
    "FailoverError",
    "FailoverFailedError",
    "FailoverSuccessError",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "TransactionResolutionUnknownError",
    "UnsupportedOperationError",
    "Warning",
    "bind_driver_errors",
]


class Warning(Exception):
    """Important warnings such as data truncation (PEP 249)."""


class Error(Exception):
    """Base class of every awsdb error (PEP 249)."""


class InterfaceError(Error):
    """An error of the database interface rather than the database (PEP 249)."""


class DatabaseError(Error):
    """An error related to the database (PEP 249)."""


class DataError(DatabaseError):
    """A problem with the processed data (PEP 249)."""


class OperationalError(DatabaseError):
    """An error of the database's operation, not necessarily under the caller's control."""


class IntegrityError(DatabaseError):
    """The relational integrity of the database is affected (PEP 249)."""


class InternalError(DatabaseError):
    """The database encountered an internal error (PEP 249)."""


class ProgrammingError(DatabaseError):
    """A programming error: bad input, unknown plugin codes, invalid properties."""


class NotSupportedError(DatabaseError):
    """A method or API is not supported by the database or the driver (PEP 249)."""


class UnsupportedOperationError(NotSupportedError):
    """The operation is not supported by the current driver dialect (e.g. abort on C ext)."""


class FailoverError(OperationalError):
    """Base of the failover outcomes. ``sqlstate`` carries the JDBC-compatible state."""

    sqlstate: str = ""


class FailoverSuccessError(FailoverError):
    """The connection now points at a new instance; no transaction was open: re-run it."""

    sqlstate = "08S02"


class TransactionResolutionUnknownError(FailoverError):
    """A transaction was open during failover; its outcome is unknown: restart it."""

    sqlstate = "08007"


class FailoverFailedError(FailoverError):
    """No usable instance was found within the failover budget."""

    sqlstate = "08001"


class DriverFailoverErrors(NamedTuple):
    """The failover outcome classes bound to one driver's ``OperationalError``."""

    success: type[FailoverSuccessError]
    unknown_transaction: type[TransactionResolutionUnknownError]
    failed: type[FailoverFailedError]


_bound_lock = threading.Lock()
_bound: dict[type[BaseException], DriverFailoverErrors] = {}


def bind_driver_errors(driver_operational_error: type[BaseException]) -> DriverFailoverErrors:
    """Return the failover classes that also derive from ``driver_operational_error``.

    The classes are made once per driver class and cached, so ``except`` clauses and
    ``isinstance`` checks stay stable for the life of the process. Each bound class is a
    subclass of the matching awsdb class, e.g. ``issubclass(bound.success,
    FailoverSuccessError)`` and ``issubclass(bound.success, psycopg.OperationalError)``.
    """
    with _bound_lock:
        found = _bound.get(driver_operational_error)
        if found is not None:
            return found
        prefix = driver_operational_error.__module__.split(".")[0].capitalize()

        def make(base: type[FailoverError]) -> type[FailoverError]:
            name = base.__name__
            state = base.sqlstate

            def init(self: BaseException, *args: object, **kwargs: object) -> None:
                driver_operational_error.__init__(self, *args, **kwargs)
                # drivers such as mysql-connector set an instance ``sqlstate`` of None
                if getattr(self, "sqlstate", None) != state:
                    self.sqlstate = state  # type: ignore[attr-defined]

            cls = type(
                name,
                (base, driver_operational_error),
                {
                    "__module__": __name__,
                    "__qualname__": f"{prefix}{name}",
                    "__doc__": base.__doc__,
                    "__init__": init,
                },
            )
            return cls

        bound = DriverFailoverErrors(
            success=make(FailoverSuccessError),  # type: ignore[arg-type]
            unknown_transaction=make(TransactionResolutionUnknownError),  # type: ignore[arg-type]
            failed=make(FailoverFailedError),  # type: ignore[arg-type]
        )
        _bound[driver_operational_error] = bound
        return bound
