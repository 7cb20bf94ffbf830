"""The fake driver's PEP 249 exception tree and its error factories.

Each error carries ``sqlstate`` and ``errno``, so that
:class:`~awsdb_testing.fake_dialect.FakeDriverDialect` classifies it by code, never by
message. Re-exported by :mod:`awsdb_testing.fake_driver`.
"""

from __future__ import annotations

__all__ = [
    "SQLSTATE_CONNECTION_FAILURE",
    "SQLSTATE_INVALID_PASSWORD",
    "SQLSTATE_QUERY_CANCELED",
    "SQLSTATE_READ_ONLY",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Warning",
    "login_error",
    "network_error",
    "read_only_error",
    "timeout_error",
]

SQLSTATE_CONNECTION_FAILURE = "08006"
"""SQLSTATE of a lost connection (classified as a network error)."""
SQLSTATE_INVALID_PASSWORD = "28P01"
"""SQLSTATE of an authentication failure (classified as a login error)."""
SQLSTATE_READ_ONLY = "25006"
"""SQLSTATE of a write refused by a read-only server or transaction."""
SQLSTATE_QUERY_CANCELED = "57014"
"""SQLSTATE of a statement cancelled by a timeout (not a host failure)."""


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
