"""The driver dialect of the fake driver (code ``fake``, family ``fake``).

awsdb finds it through the ``awsdb.drivers`` entry point of awsdb-testing whenever the
target function belongs to :mod:`awsdb_testing.fake_driver` (``FakeDriver().connect``). With
plugin autoload disabled, register it in-process: ``awsdb.register_plugin(fake_dialect)``
(this module implements the ``awsdb_driver_dialects`` registration hook), or call
:func:`register`.

Errors are classified by the fake's exception types and codes, never by message:
SQLSTATE class ``08`` and ``57P01``-``57P03`` (or a MySQL client errno such as 2013) mean
the connection is lost; ``28xxx`` (errno 1045) a login failure; ``25006`` (errno 1290) a
read-only server; ``57014`` (errno 3024) a cancelled statement, which is not a host failure.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from awsdb.drivers import DriverDialect, ErrorKind
from awsdb.hookspecs import hookimpl
from awsdb_testing import fake_driver

__all__ = ["FakeDriverDialect", "awsdb_driver_dialects", "register"]

_NETWORK_CODES = frozenset({"57P01", "57P02", "57P03"})
_NETWORK_ERRNOS = frozenset({2002, 2003, 2006, 2013, 2055})
_LOGIN_ERRNOS = frozenset({1044, 1045})
_READ_ONLY_ERRNOS = frozenset({1290, 1792, 1836})
_TIMEOUT_ERRNOS = frozenset({1317, 3024})


class FakeDriverDialect(DriverDialect):
    """Connects through a :class:`~awsdb_testing.fake_driver.FakeDriver` and classifies its
    errors; ``abort`` shuts the fake connection down like a socket shutdown."""

    code: ClassVar[str] = "fake"
    family: ClassVar[str] = "fake"
    threadsafety: ClassVar[int] = fake_driver.threadsafety
    paramstyle: ClassVar[str] = fake_driver.paramstyle
    default_port: ClassVar[int | None] = None
    database_key: ClassVar[str] = "database"

    @classmethod
    def matches(cls, target: Callable[..., Any]) -> bool:
        """True for ``FakeDriver.connect`` (bound) and :func:`fake_driver.connect`."""
        owner = getattr(target, "__self__", None)
        if isinstance(owner, fake_driver.FakeDriver):
            return True
        return getattr(target, "__module__", None) == fake_driver.__name__

    def in_transaction(self, conn: Any) -> bool:
        """The fake connection's transaction flag (read without a logged call)."""
        return bool(conn.in_transaction)

    def is_closed(self, conn: Any) -> bool:
        """Closed by its owner, or lost."""
        return bool(conn.closed or conn.broken)

    def abort(self, conn: Any) -> None:
        """Fail a call blocked on ``conn`` now (a network error); the owner still closes."""
        conn.shutdown()

    def operational_error(self) -> type[BaseException]:
        """:class:`awsdb_testing.fake_driver.OperationalError`."""
        return fake_driver.OperationalError

    def classify(self, exc: BaseException) -> ErrorKind:
        """By the fake's exception type, then SQLSTATE, then errno."""
        if isinstance(exc, TimeoutError):
            return ErrorKind.TIMEOUT
        if not isinstance(exc, fake_driver.Error):
            return ErrorKind.OTHER
        state = exc.sqlstate
        if state:
            if state == fake_driver.SQLSTATE_QUERY_CANCELED:
                return ErrorKind.TIMEOUT
            if state.startswith("08") or state in _NETWORK_CODES:
                return ErrorKind.NETWORK
            if state.startswith("28"):
                return ErrorKind.LOGIN
            if state == fake_driver.SQLSTATE_READ_ONLY:
                return ErrorKind.READ_ONLY
            return ErrorKind.OTHER
        errno = exc.errno
        if errno in _TIMEOUT_ERRNOS:
            return ErrorKind.TIMEOUT
        if errno in _NETWORK_ERRNOS:
            return ErrorKind.NETWORK
        if errno in _LOGIN_ERRNOS:
            return ErrorKind.LOGIN
        if errno in _READ_ONLY_ERRNOS:
            return ErrorKind.READ_ONLY
        return ErrorKind.OTHER


@hookimpl
def awsdb_driver_dialects() -> Sequence[type]:
    """Announce :class:`FakeDriverDialect` (for ``awsdb.register_plugin(this_module)``)."""
    return [FakeDriverDialect]


def register() -> None:
    """Register :class:`FakeDriverDialect` with the current awsdb process services.

    Needed only when entry-point autoload is off; call it again after
    ``awsdb.release_resources()`` (which forgets in-process registrations).
    """
    import awsdb

    awsdb.register_plugin(sys.modules[__name__])
