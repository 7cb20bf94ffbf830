"""awsdb driver dialect for awsdb_e6data (entry point ``awsdb.drivers`` → ``e6data``).

Loaded by awsdb only; the connector itself never imports awsdb.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from awsdb.drivers import DriverDialect, ErrorKind
from awsdb.errors import UnsupportedOperationError

from . import errors as e6errors

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties

__all__ = ["E6DataDialect"]


class E6DataDialect(DriverDialect):
    """awsdb_e6data: gRPC connections, no transactions, thread-safe connections."""

    code: ClassVar[str] = "e6data"
    family: ClassVar[str] = "e6data"
    threadsafety: ClassVar[int] = 2
    paramstyle: ClassVar[str] = "pyformat"
    default_port: ClassVar[int | None] = 443
    database_key: ClassVar[str] = "database"

    @classmethod
    def matches(cls, target: Callable[..., Any]) -> bool:
        """True for ``awsdb_e6data.connect`` and ``awsdb_e6data.Connection``."""
        module = getattr(target, "__module__", "") or ""
        return module == "awsdb_e6data" or module.startswith("awsdb_e6data.")

    def connect_kwargs(self, host: HostInfo, props: Properties) -> dict[str, Any]:
        """Connector keywords: ``user``/``dbname`` renamed, ``socket_timeout`` → RPC deadline."""
        kwargs = super().connect_kwargs(host, props)
        if "user" in kwargs and "username" not in kwargs:
            kwargs["username"] = kwargs.pop("user")
        if "dbname" in kwargs and "database" not in kwargs:
            kwargs["database"] = kwargs.pop("dbname")
        kwargs["port"] = int(kwargs.get("port") or self.default_port or 443)
        socket_timeout = props.get("socket_timeout")
        if socket_timeout is not None and float(socket_timeout) > 0:
            kwargs.setdefault("rpc_timeout", float(socket_timeout))
        return kwargs

    def in_transaction(self, conn: Any) -> bool:
        """The engine has no transactions."""
        return False

    def get_autocommit(self, conn: Any) -> bool:
        """Always autocommit."""
        return True

    def set_autocommit(self, conn: Any, value: bool) -> None:
        """Only ``True`` is possible."""
        if not value:
            raise UnsupportedOperationError("e6data: the engine has no transactions")

    def get_read_only(self, conn: Any) -> bool:
        """The connector has no read-only mode."""
        return False

    def set_read_only(self, conn: Any, value: bool) -> None:
        """Only ``False`` is possible."""
        if value:
            raise UnsupportedOperationError("e6data: no read-only mode")

    def is_closed(self, conn: Any) -> bool:
        """True once ``close()`` was called."""
        return bool(conn.closed)

    def abort(self, conn: Any) -> None:
        """Cancel every query in flight on ``conn`` (its blocked calls fail now)."""
        conn.cancel_all()

    def run_aux_query(
        self,
        conn: Any,
        sql: str,
        params: Sequence[object] | None = None,
        timeout_s: float = 5.0,
    ) -> list[tuple[Any, ...]]:
        """Run on a fresh cursor; the engine keeps no session state to restore."""
        return super().run_aux_query(conn, sql, params, timeout_s)

    def operational_error(self) -> type[BaseException]:
        """``awsdb_e6data.OperationalError``."""
        return e6errors.OperationalError

    def classify(self, exc: BaseException) -> ErrorKind:
        """By exception type (assigned once, at the connector's gRPC boundary)."""
        if isinstance(exc, e6errors.QueryCancelledError | e6errors.DeadlineExceededError):
            return ErrorKind.TIMEOUT
        if isinstance(exc, e6errors.AuthenticationError):
            return ErrorKind.LOGIN
        if isinstance(
            exc,
            e6errors.StrategyMismatchError
            | e6errors.ClusterSuspendedError
            | e6errors.QueryLostError
            | e6errors.SessionExpiredError
            | e6errors.NoServingStrategyError
            | e6errors.ResumeFailedError,
        ):
            return ErrorKind.OTHER  # blue/green and resume are handled by the connector
        if isinstance(exc, e6errors.OperationalError) and exc.grpc_code == "UNAVAILABLE":
            return ErrorKind.NETWORK
        return ErrorKind.OTHER
