"""The conformance workload: one step per DB-API entry point, and the checks of its calls.

Internal to :mod:`awsdb_testing.conformance`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from awsdb_testing.fake_driver import Script

if TYPE_CHECKING:
    from awsdb_testing._conformance_harness import Harness

LIFECYCLE = frozenset({"connect", "force_connect"})
"""The workload steps that are connects rather than DB-API calls."""
_SQL = "SELECT id, name FROM conformance WHERE id > %(id)s"
_PARAMS = {"id": 0}
_ROWS = [(1, "one"), (2, "two"), (3, "three"), (4, "four"), (5, "five"), (6, "six")]
_WRITE = "INSERT INTO conformance (id) VALUES (%(id)s)"
_PROC = "conformance_proc"


def workload_script() -> Script:
    """The fake driver's script: rows for the query, a row count for the write, a procedure."""
    # Matched anywhere in the text: plugins may prefix comments or hints to statements.
    script = Script()
    script.on_sql(re.compile(re.escape(_SQL)), _ROWS, columns=["id", "name"])
    script.on_sql(re.compile(re.escape(_WRITE)), (), rowcount=1)
    script.on_sql(re.compile(re.escape(_PROC)), [(42,)], columns=["answer"])
    return script


@dataclass
class Session:
    """The connections and cursors one run of the workload works on."""

    harness: Harness
    wrapped: bool
    conn: Any = None
    cur: Any = None
    cur2: Any = None
    conn2: Any = None
    xid: Any = None


@dataclass(frozen=True)
class Step:
    """One workload step: the wrapper method it calls and the driver calls it should cause."""

    method: str
    run: Callable[[Session], Any]
    driver: Mapping[str, int]
    args: Callable[[Session], tuple[Any, ...]] | None = None
    returns: bool = False

    @property
    def driver_method(self) -> str:
        """The driver method the step reaches (``connect`` for the connects)."""
        return "connect" if self.method in LIFECYCLE else self.method


def _set(obj: Any, name: str, value: Any) -> None:
    setattr(obj, name, value)


def _pipeline_connect(s: Session, force: bool) -> None:
    service = s.conn.plugin_service
    opener = service.force_connect if force else service.connect
    raw = opener(service.current_host)
    raw.close()


def _open_second(s: Session) -> None:
    s.conn2 = s.harness.connect(wrapped=s.wrapped)
    s.conn2.__enter__()


def _tpc_rollback(s: Session) -> None:
    s.conn.tpc_begin(s.xid)
    s.conn.tpc_rollback()


def _cursor_enter(s: Session) -> None:
    s.cur2 = s.conn.cursor()
    s.cur2.__enter__()


def _no_args(s: Session) -> tuple[Any, ...]:
    return ()


def _step(
    method: str,
    run: Callable[[Session], Any],
    args: Callable[[Session], tuple[Any, ...]] | None = _no_args,
    *,
    returns: bool = False,
    driver: Mapping[str, int] | None = None,
) -> Step:
    return Step(method, run, driver if driver is not None else {method: 1}, args, returns)


def _steps() -> list[Step]:
    many = [{"id": 1}, {"id": 2}]
    closing = {"connect": 1, "Connection.close": 1}
    return [
        _step("Connection.cursor", lambda s: _set(s, "cur", s.conn.cursor())),
        _step("Cursor.arraysize.set", lambda s: _set(s.cur, "arraysize", 2), lambda s: (2,)),
        _step("Cursor.arraysize", lambda s: s.cur.arraysize, returns=True),
        _step("Cursor.execute", lambda s: s.cur.execute(_SQL, _PARAMS), lambda s: (_SQL, _PARAMS)),
        _step("Cursor.description", lambda s: s.cur.description, returns=True),
        _step("Cursor.rowcount", lambda s: s.cur.rowcount, returns=True),
        _step("Cursor.lastrowid", lambda s: s.cur.lastrowid, returns=True),
        _step("Cursor.fetchone", lambda s: s.cur.fetchone(), returns=True),
        _step("Cursor.fetchmany", lambda s: s.cur.fetchmany(2), lambda s: (2,), returns=True),
        _step("Cursor.__next__", lambda s: next(iter(s.cur)), returns=True),
        _step("Cursor.fetchall", lambda s: s.cur.fetchall(), returns=True),
        _step("Cursor.nextset", lambda s: s.cur.nextset(), returns=True),
        _step("Cursor.setinputsizes", lambda s: s.cur.setinputsizes([None]), lambda s: ([None],)),
        _step("Cursor.setoutputsize", lambda s: s.cur.setoutputsize(100), lambda s: (100,)),
        _step(
            "Cursor.executemany",
            lambda s: s.cur.executemany(_WRITE, many),
            lambda s: (_WRITE, many),
        ),
        _step(
            "Cursor.callproc",
            lambda s: s.cur.callproc(_PROC, (5,)),
            lambda s: (_PROC, (5,)),
            returns=True,
        ),
        _step("Cursor.close", lambda s: s.cur.close()),
        _step(
            "Cursor.__enter__",
            _cursor_enter,
            driver={"Connection.cursor": 1, "Cursor.__enter__": 1},
        ),
        _step(
            "Cursor.__exit__",
            lambda s: s.cur2.__exit__(None, None, None),
            lambda s: (None, None, None),
        ),
        _step(
            "Connection.execute", lambda s: s.conn.execute(_SQL, _PARAMS), lambda s: (_SQL, _PARAMS)
        ),
        _step("Connection.commit", lambda s: s.conn.commit()),
        _step("Connection.autocommit", lambda s: s.conn.autocommit, returns=True),
        _step(
            "Connection.autocommit.set",
            lambda s: _set(s.conn, "autocommit", True),
            lambda s: (True,),
        ),
        _step("Connection.read_only", lambda s: s.conn.read_only, returns=True),
        _step(
            "Connection.read_only.set", lambda s: _set(s.conn, "read_only", True), lambda s: (True,)
        ),
        _step("Connection.rollback", lambda s: s.conn.rollback()),
        _step(
            "Connection.xid",
            lambda s: _set(s, "xid", s.conn.xid(1, "g", "b")),
            lambda s: (1, "g", "b"),
        ),
        _step("Connection.tpc_begin", lambda s: s.conn.tpc_begin(s.xid), lambda s: (s.xid,)),
        _step("Connection.tpc_prepare", lambda s: s.conn.tpc_prepare()),
        _step("Connection.tpc_recover", lambda s: s.conn.tpc_recover(), returns=True),
        _step("Connection.tpc_commit", lambda s: s.conn.tpc_commit()),
        _step(
            "Connection.tpc_rollback",
            _tpc_rollback,
            driver={"Connection.tpc_begin": 1, "Connection.tpc_rollback": 1},
        ),
        _step("connect", lambda s: _pipeline_connect(s, False), None, driver=closing),
        _step("force_connect", lambda s: _pipeline_connect(s, True), None, driver=closing),
        _step("Connection.close", lambda s: s.conn.close()),
        _step(
            "Connection.__enter__", _open_second, driver={"connect": 1, "Connection.__enter__": 1}
        ),
        _step(
            "Connection.__exit__",
            lambda s: s.conn2.__exit__(None, None, None),
            lambda s: (None, None, None),
        ),
    ]


STEPS = _steps()
STEP_METHODS: frozenset[str] = frozenset(s.method for s in STEPS)
"""Every method the suite's workload exercises (all DB-API methods plus the connects)."""


@dataclass
class Outcome:
    """What one step returned and which driver and hook calls it caused."""

    step: Step
    value: Any
    driver_calls: list[Any]
    hook_calls: list[Any]


def run_steps(session: Session) -> list[Outcome]:
    """Run every step in order on ``session``; a step that raises fails the test."""
    h = session.harness
    outcomes: list[Outcome] = []
    for step in STEPS:
        h.driver.calls.clear()
        h.log.clear()
        try:
            value = step.run(session)
        except Exception as exc:
            raise AssertionError(
                f"{step.method}: the pass-through call raised {exc!r} (driver calls: "
                f"{h.driver.calls.methods()})"
            ) from exc
        outcomes.append(Outcome(step, value, h.driver.calls.all(), h.log.calls()))
    return outcomes


def driver_count_problems(outcomes: Sequence[Outcome], only: frozenset[str] | None) -> list[str]:
    """Steps that reached the driver other than the expected number of times
    (``only``: check just these methods, each for one call of its driver method)."""
    problems: list[str] = []
    for out in outcomes:
        step = out.step
        if only is not None and step.method not in only:
            continue
        expected = step.driver if only is None else {step.driver_method: 1}
        seen = [c.method for c in out.driver_calls]
        for method, times in expected.items():
            n = seen.count(method)
            if n != times:
                problems.append(
                    f"{step.method}: {method} reached the driver {n} times, expected {times} "
                    f"(driver calls: {seen})"
                )
    return problems


def driver_arg_problems(out: Outcome, session: Session) -> list[str]:
    """The step's driver call, if its arguments differ from the caller's."""
    step = out.step
    if step.args is None:
        return []
    calls = [c for c in out.driver_calls if c.method == step.driver_method]
    if not calls:
        return []  # reported by the count checks
    expected = step.args(session)
    got = calls[-1].args
    if got != expected:
        return [f"{step.method}: the driver got {got!r}, the caller passed {expected!r}"]
    return []
