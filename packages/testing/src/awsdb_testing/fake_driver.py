"""A fake PEP 249 driver with scriptable results and failures, for unit tests of plugins.

A :class:`FakeDriver` plays the role of a driver *module*: ``driver.connect(**kwargs)`` returns
a :class:`FakeConnection` whose cursors answer from a :class:`Script`. The script holds

- results per SQL text (exact match, or a regular expression), and
- failures: an exception on the Nth call of a method (a network error, a login failure on
  connect, a read-only error, any driver error), or a *hang*: the call blocks until the test
  releases it or the connection is aborted (:meth:`FakeConnection.shutdown`, what the
  driver dialect's ``abort`` does, like a socket shutdown under a blocked reader).

Every call that reaches the driver is appended to :attr:`FakeDriver.calls` under the method
names awsdb uses (``"Cursor.execute"``, ``"Connection.commit"``, ``"Connection.autocommit"``
for a read of the property, ``"Connection.autocommit.set"`` for a write), plus
``"connect"`` and ``"shutdown"``. The fake has its own PEP 249 exception tree; each error
carries ``sqlstate`` and ``errno`` so that :class:`~awsdb_testing.fake_dialect.FakeDriverDialect`
classifies it by code, never by message.

::

    driver = FakeDriver()
    driver.script.on_sql("SELECT 1", rows=[(1,)], columns=["one"])
    driver.script.network_error("Cursor.execute", nth=2)
    conn = awsdb.connect(driver.connect, "host=db1 user=app", plugins="dev")

Nothing here starts a thread or opens a socket.

Import everything from this module; the parts live in :mod:`~awsdb_testing.fake_errors`
(exceptions), :mod:`~awsdb_testing.fake_calls` (the call log),
:mod:`~awsdb_testing.fake_script` (results, failures, hangs) and
:mod:`~awsdb_testing.fake_connection` (connections and cursors).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from awsdb_testing.fake_calls import Call, CallLog
from awsdb_testing.fake_connection import FakeConnection, FakeCursor, apply_fault
from awsdb_testing.fake_errors import (
    SQLSTATE_CONNECTION_FAILURE,
    SQLSTATE_INVALID_PASSWORD,
    SQLSTATE_QUERY_CANCELED,
    SQLSTATE_READ_ONLY,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
    login_error,
    network_error,
    read_only_error,
    timeout_error,
)
from awsdb_testing.fake_script import Hang, Result, Script

__all__ = [
    "SQLSTATE_CONNECTION_FAILURE",
    "SQLSTATE_INVALID_PASSWORD",
    "SQLSTATE_QUERY_CANCELED",
    "SQLSTATE_READ_ONLY",
    "Call",
    "CallLog",
    "DataError",
    "DatabaseError",
    "Error",
    "FakeConnection",
    "FakeCursor",
    "FakeDriver",
    "Hang",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Result",
    "Script",
    "Warning",
    "apilevel",
    "connect",
    "login_error",
    "network_error",
    "paramstyle",
    "read_only_error",
    "threadsafety",
    "timeout_error",
]

apilevel = "2.0"
threadsafety = 2
paramstyle = "pyformat"


class FakeDriver:
    """A fake driver module: ``connect(**kwargs)`` plus the PEP 249 module attributes.

    It keeps every connection it opened (:meth:`open_connections` lists those not closed)
    and a :class:`CallLog` of every call that reached it.
    """

    apilevel = apilevel
    threadsafety = threadsafety
    paramstyle = paramstyle
    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(self, script: Script | None = None) -> None:
        self.script = script if script is not None else Script()
        self.calls = CallLog()
        self._lock = threading.Lock()
        self._connections: list[FakeConnection] = []
        self._ids = itertools.count(1)

    def connect(self, **kwargs: Any) -> FakeConnection:
        """Open a fake connection; ``host`` and ``port`` are kept, every keyword is recorded."""
        host = kwargs.get("host")
        host_name = str(host) if host is not None else None
        call = self.calls._add("connect", (), kwargs, None, host_name)
        try:
            fault = self.script._take("connect", None, host_name)
            if fault is not None:
                apply_fault(fault, None)
        except BaseException as exc:
            call.error = exc
            raise
        conn = FakeConnection(self, next(self._ids), kwargs)
        call.connection_id = conn.id
        with self._lock:
            self._connections.append(conn)
        return conn

    def connections(self) -> list[FakeConnection]:
        """Every connection this driver opened, in order."""
        with self._lock:
            return list(self._connections)

    def open_connections(self) -> list[FakeConnection]:
        """The connections not closed yet (a broken connection is still open)."""
        return [c for c in self.connections() if not c.closed]

    def break_connections(self, host: str | None = None) -> int:
        """Lose every open connection (to ``host``), as a server crash would: blocked calls
        fail and every later call raises a network error. Returns how many broke."""
        broken = 0
        for conn in self.open_connections():
            if host is None or conn.host == host:
                conn._lose()
                broken += 1
        return broken


def connect(*, script: Script | None = None, **kwargs: Any) -> FakeConnection:
    """Open a connection of a new private :class:`FakeDriver` (answering from ``script``)."""
    return FakeDriver(script).connect(**kwargs)
