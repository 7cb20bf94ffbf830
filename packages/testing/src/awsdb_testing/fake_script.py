"""Scripted results, failures and hangs of a fake driver.

Re-exported by :mod:`awsdb_testing.fake_driver`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from awsdb_testing.fake_errors import (
    login_error,
    network_error,
    read_only_error,
)

if TYPE_CHECKING:
    from awsdb_testing.fake_connection import FakeConnection

__all__ = ["Hang", "Pattern", "Result", "Rows", "RowsFactory", "Script"]

Rows = Sequence[Sequence[Any]]
RowsFactory = Callable[[Any], Rows]
Pattern = str | re.Pattern[str]


@dataclass(frozen=True)
class Result:
    """What a statement produces: rows (or a function of the parameters), column names,
    ``rowcount``, ``lastrowid``, or an ``error`` raised instead."""

    rows: Rows | RowsFactory = ()
    columns: tuple[str, ...] | None = None
    rowcount: int | None = None
    lastrowid: Any = None
    error: BaseException | None = None


class Hang:
    """A scripted hang: the matching call blocks until :meth:`release`, an abort of its
    connection (:meth:`FakeConnection.shutdown` or ``close`` from another thread: the call then
    raises a network error) or its ``timeout`` (the call then raises :func:`timeout_error`)."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout
        self._cond = threading.Condition()
        self._released = False
        self._started = threading.Event()
        self._blocked = 0

    @property
    def released(self) -> bool:
        """True once :meth:`release` was called."""
        with self._cond:
            return self._released

    @property
    def blocked(self) -> int:
        """How many calls are blocked on this hang now."""
        with self._cond:
            return self._blocked

    def wait_started(self, timeout: float | None = None) -> bool:
        """Wait until a call is blocked on this hang (or has been); False on timeout."""
        return self._started.wait(timeout)

    def release(self) -> None:
        """Let blocked and later matching calls proceed normally."""
        with self._cond:
            self._released = True
            self._cond.notify_all()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _wait(self, conn: FakeConnection | None) -> str:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        with self._cond:
            self._blocked += 1
            self._started.set()
            try:
                while True:
                    if self._released:
                        return "released"
                    if conn is not None and (conn._broken or conn._closed):
                        return "aborted"
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return "timeout"
                    self._cond.wait(remaining)
            finally:
                self._blocked -= 1


@dataclass
class _Fault:
    method: str
    action: BaseException | Hang
    nth: int
    times: int | None
    sql: Pattern | None
    host: str | None
    break_connection: bool
    seen: int = 0
    fired: int = 0


@dataclass
class _Rule:
    pattern: Pattern
    result: Result = field(default_factory=Result)


def _matches(pattern: Pattern, sql: object) -> bool:
    if not isinstance(sql, str):
        return False
    if isinstance(pattern, re.Pattern):
        return pattern.search(sql) is not None
    return sql.strip() == pattern.strip()


class Script:
    """Scripted results and failures of a fake driver. Thread-safe; methods chain.

    Results: the most recently added rule whose pattern matches the statement wins; an
    unmatched statement produces no result set (or raises ``ProgrammingError`` when
    ``strict``). Failures: each counts the calls that match its method (and optional SQL and
    host filters) and fires on calls ``nth`` .. ``nth + times - 1`` (``times=None``: from the
    ``nth`` on, forever). The first failure that fires wins.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._faults: list[_Fault] = []

    # --- results ---------------------------------------------------------------------

    def on_sql(
        self,
        pattern: Pattern,
        rows: Rows | RowsFactory = (),
        *,
        columns: Sequence[str] | None = None,
        rowcount: int | None = None,
        lastrowid: Any = None,
        error: BaseException | None = None,
        regex: bool = False,
    ) -> Script:
        """Answer statements matching ``pattern`` (exact text, or a regex when ``regex`` or a
        compiled pattern) with ``rows`` and ``columns``, or raise ``error``. ``rows`` may be a
        function of the statement's parameters. Also used for ``callproc`` (procedure name)."""
        if regex and isinstance(pattern, str):
            pattern = re.compile(pattern)
        cols = tuple(columns) if columns is not None else None
        if cols is None and rows and not callable(rows):
            cols = tuple(f"column{i + 1}" for i in range(len(rows[0])))
        if cols is None and callable(rows):
            cols = ("column1",)
        result = Result(
            rows if callable(rows) else tuple(tuple(r) for r in rows),
            cols,
            rowcount,
            lastrowid,
            error,
        )
        with self._lock:
            self._rules.append(_Rule(pattern, result))
        return self

    def result_for(self, sql: object) -> Result | None:
        """The scripted result for ``sql``; ``None`` when no rule matches."""
        with self._lock:
            rules = list(self._rules)
        for rule in reversed(rules):
            if _matches(rule.pattern, sql):
                return rule.result
        return None

    # --- failures --------------------------------------------------------------------

    def fail(
        self,
        method: str,
        exc: BaseException,
        *,
        nth: int = 1,
        times: int | None = 1,
        sql: Pattern | None = None,
        host: str | None = None,
        break_connection: bool = False,
    ) -> Script:
        """Raise ``exc`` on the ``nth`` matching call of ``method`` (``"connect"``,
        ``"Cursor.execute"``, ``"Connection.commit"`` ...). ``sql`` filters execute calls by
        statement, ``host`` by the connection's host. With ``break_connection`` the connection
        is lost afterwards: every later call on it raises a network error."""
        self._add(method, exc, nth, times, sql, host, break_connection)
        return self

    def network_error(
        self,
        method: str = "Cursor.execute",
        *,
        nth: int = 1,
        times: int | None = 1,
        sql: Pattern | None = None,
        host: str | None = None,
        exc: BaseException | None = None,
    ) -> Script:
        """Lose the connection on the ``nth`` matching call: it raises a network error and
        the connection stays broken (on ``"connect"``: the connect fails)."""
        error = exc if exc is not None else network_error()
        self._add(method, error, nth, times, sql, host, True)
        return self

    def login_failure(
        self, *, nth: int = 1, times: int | None = 1, host: str | None = None
    ) -> Script:
        """Fail the ``nth`` connect (to ``host``) with an authentication error."""
        self._add("connect", login_error(), nth, times, None, host, False)
        return self

    def read_only_error(
        self,
        method: str = "Cursor.execute",
        *,
        nth: int = 1,
        times: int | None = 1,
        sql: Pattern | None = None,
        host: str | None = None,
    ) -> Script:
        """Refuse the ``nth`` matching call as a write on a read-only server."""
        self._add(method, read_only_error(), nth, times, sql, host, False)
        return self

    def hang(
        self,
        method: str = "Cursor.execute",
        *,
        nth: int = 1,
        times: int | None = 1,
        sql: Pattern | None = None,
        host: str | None = None,
        timeout: float | None = None,
    ) -> Hang:
        """Block the ``nth`` matching call; returns the :class:`Hang` that releases it."""
        hang = Hang(timeout)
        self._add(method, hang, nth, times, sql, host, False)
        return hang

    def clear(self) -> None:
        """Drop every rule and failure."""
        with self._lock:
            self._rules.clear()
            self._faults.clear()

    def _add(
        self,
        method: str,
        action: BaseException | Hang,
        nth: int,
        times: int | None,
        sql: Pattern | None,
        host: str | None,
        break_connection: bool,
    ) -> None:
        if nth < 1:
            raise ValueError(f"nth must be 1 or more, not {nth}")
        if times is not None and times < 1:
            raise ValueError(f"times must be 1 or more (or None for always), not {times}")
        if not isinstance(action, BaseException | Hang):
            raise TypeError(f"expected an exception instance, got {type(action).__name__}")
        with self._lock:
            self._faults.append(_Fault(method, action, nth, times, sql, host, break_connection))

    def _take(self, method: str, sql: object, host: str | None) -> _Fault | None:
        """Count this call against every matching failure; return the one that fires."""
        fired: _Fault | None = None
        with self._lock:
            for fault in self._faults:
                if fault.method != method:
                    continue
                if fault.sql is not None and not _matches(fault.sql, sql):
                    continue
                if fault.host is not None and fault.host != host:
                    continue
                fault.seen += 1
                last = None if fault.times is None else fault.nth + fault.times - 1
                due = fault.seen >= fault.nth and (last is None or fault.seen <= last)
                if due and fired is None:
                    fault.fired += 1
                    fired = fault
        return fired
