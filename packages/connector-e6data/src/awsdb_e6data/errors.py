"""The PEP 249 exception tree of awsdb_e6data and the translation of gRPC failures.

Every failure of an RPC is classified exactly once, at the gRPC boundary, by its status code
and a details substring (:func:`translate_rpc_error`). The original ``grpc.RpcError`` is kept
as ``__cause__``; no raw gRPC exception reaches the caller. Upper layers classify by type.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthenticationError",
    "ClusterSuspendedError",
    "DataError",
    "DatabaseError",
    "DeadlineExceededError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NoServingStrategyError",
    "NotSupportedError",
    "OperationalError",
    "PoolTimeoutError",
    "ProgrammingError",
    "QueryCancelledError",
    "QueryLostError",
    "ResumeFailedError",
    "SessionExpiredError",
    "StrategyMismatchError",
    "Warning",
    "translate_rpc_error",
]


class Warning(Exception):
    """Important warnings such as data truncation (PEP 249)."""


class Error(Exception):
    """Base class of every error raised by awsdb_e6data (PEP 249).

    ``grpc_code`` is the name of the gRPC status code (``"INTERNAL"``...) when the error came
    from an RPC, and ``rpc`` the RPC name; ``is_retryable`` tells whether running the same
    statement again can succeed without any change (the statement was not admitted, or was
    lost in a blue/green switch).
    """

    is_retryable: bool = False

    def __init__(self, *args: Any, grpc_code: str | None = None, rpc: str | None = None) -> None:
        super().__init__(*args)
        self.grpc_code = grpc_code
        self.rpc = rpc


class InterfaceError(Error):
    """An error of the connector rather than of the engine (PEP 249)."""


class DatabaseError(Error):
    """An error reported by the engine (PEP 249)."""


class DataError(DatabaseError):
    """A problem with the processed data: bad values, undecodable result batches (PEP 249)."""


class OperationalError(DatabaseError):
    """An error of the engine's operation: network, sessions, switchovers (PEP 249)."""


class IntegrityError(DatabaseError):
    """The relational integrity of the database is affected (PEP 249)."""


class InternalError(DatabaseError):
    """The engine reported an internal inconsistency (PEP 249)."""


class ProgrammingError(DatabaseError):
    """Bad SQL, unknown objects, wrong parameters, use of a closed object (PEP 249)."""


class NotSupportedError(DatabaseError):
    """A method or feature the engine or the connector does not support (PEP 249)."""


class AuthenticationError(OperationalError):
    """The engine refused the credentials (empty session id or ``Access denied``)."""


class SessionExpiredError(OperationalError):
    """The engine no longer knows the session (``INTERNAL`` ``Access denied``)."""

    is_retryable = True


class StrategyMismatchError(OperationalError):
    """The request's blue/green colour is not served (the 456 signal); not admitted."""

    is_retryable = True


class ClusterSuspendedError(OperationalError):
    """The cluster is suspended (the 503 signal); the request was not admitted."""

    is_retryable = True


class QueryLostError(OperationalError):
    """A query that was already admitted was lost in a blue/green switchover.

    The statement may have run; it is never replayed by the connector.
    """

    is_retryable = True


class NoServingStrategyError(OperationalError):
    """Every blue/green colour answered 456: no strategy works for this target."""


class ResumeFailedError(OperationalError):
    """The cluster could not be resumed (``failed`` status or the resume deadline passed)."""


class QueryCancelledError(OperationalError):
    """The query was cancelled (``cursor.cancel()``)."""


class DeadlineExceededError(OperationalError):
    """An RPC did not complete within its deadline."""


class PoolTimeoutError(OperationalError, TimeoutError):
    """No pooled connection became available within the timeout."""


_SQL_PROGRAMMING = ("Parser Error", "Catalog Error", "Binder Error", "syntax", "Query not found")
_SQL_DATA = ("Conversion Error", "Out of Range", "Invalid Input", "Mismatch Type")
_SQL_INTEGRITY = ("Constraint Error",)
_CANCELLED = ("INTERRUPT", "cancelled", "Interrupted")


def _status(exc: BaseException) -> tuple[str, str]:
    code_fn = getattr(exc, "code", None)
    details_fn = getattr(exc, "details", None)
    code = code_fn() if callable(code_fn) else None
    details = details_fn() if callable(details_fn) else None
    name = getattr(code, "name", None) or "UNKNOWN"
    return str(name), str(details or "")


def translate_rpc_error(exc: BaseException, rpc: str) -> Error:
    """Map a failed RPC to the exception tree, by (status code, details substring).

    The caller raises the result ``from exc``.
    """
    code, details = _status(exc)
    message = f"{rpc}: {details}" if details else f"{rpc}: {code}"
    kw: dict[str, Any] = {"grpc_code": code, "rpc": rpc}
    if "status: 456" in details:
        return StrategyMismatchError(message, **kw)
    if "status: 503" in details:
        return ClusterSuspendedError(message, **kw)
    if code == "INTERNAL" and "Access denied" in details:
        if rpc == "authenticate":
            return AuthenticationError(message, **kw)
        return SessionExpiredError(message, **kw)
    if code == "UNAUTHENTICATED":
        return AuthenticationError(message, **kw)
    if code == "DEADLINE_EXCEEDED":
        return DeadlineExceededError(message, **kw)
    if code == "CANCELLED" or any(s in details for s in _CANCELLED):
        return QueryCancelledError(message, **kw)
    if code == "UNAVAILABLE":
        return OperationalError(message, **kw)
    if code == "UNIMPLEMENTED":
        return NotSupportedError(message, **kw)
    if code in ("INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "OUT_OF_RANGE"):
        return ProgrammingError(message, **kw)
    if code == "INTERNAL":
        if any(s in details for s in _SQL_INTEGRITY):
            return IntegrityError(message, **kw)
        if any(s in details for s in _SQL_DATA):
            return DataError(message, **kw)
        if any(s in details for s in _SQL_PROGRAMMING):
            return ProgrammingError(message, **kw)
        return DatabaseError(message, **kw)
    if code == "RESOURCE_EXHAUSTED":
        return OperationalError(message, **kw)
    return DatabaseError(message, **kw)
