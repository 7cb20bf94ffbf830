"""Authentication, sessions, deadlines, cancel and auto-resume against the engine."""

from __future__ import annotations

import threading
from typing import Any

import grpc
import pytest

import awsdb_e6data as e6
from awsdb_e6data.engine import Engine


def test_concurrent_first_use_makes_one_session(engine: Engine, connect: Any) -> None:
    conn = connect(engine)
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def work() -> None:
        barrier.wait()
        cur = conn.cursor()
        cur.execute("SELECT 1")
        results.append(cur.fetchall())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [[(1,)]] * 8
    assert len(engine.control.calls_of("authenticate")) == 1  # D8
    assert engine.service.session_count() == 1


def test_expired_session_reauthenticates_inside_execute(engine: Engine, connect: Any) -> None:
    conn = connect(engine)
    cur = conn.cursor()
    cur.execute("SELECT 1")
    cur.fetchall()
    engine.forget_sessions()
    engine.control.clear_calls()
    cur.execute("SELECT 2")
    assert cur.fetchall() == [(2,)]
    assert [c.rpc for c in engine.control.calls_of()][:3] == [
        "prepareStatementV2",
        "authenticate",
        "prepareStatementV2",
    ]
    engine.forget_sessions()
    assert conn.get_tables() == ["sample"]  # schema calls re-authenticate too


def test_session_lost_after_admission_is_not_replayed(engine: Engine, connect: Any) -> None:
    cur = connect(engine).cursor()
    cur.execute("CREATE TABLE counter (x INTEGER)")
    engine.control.inject_fault(
        "getResultMetadata", grpc.StatusCode.INTERNAL, "Access denied: invalid or expired session"
    )
    with pytest.raises(e6.QueryLostError):
        cur.execute("INSERT INTO counter VALUES (1)")
    cur.execute("SELECT count(*) FROM counter")
    assert cur.fetchall() == [(1,)]  # D11: ran exactly once
    assert len(engine.control.calls_of("executeStatementV2")) == 3


def test_every_rpc_has_a_deadline(engine: Engine, connect: Any) -> None:
    cur = connect(engine, rpc_timeout=0.3, prefetch=False).cursor()
    cur.execute("SELECT * FROM range(10)")
    engine.control.set_delay("getNextResultBatch", 600)  # a stalled engine
    with pytest.raises(e6.DeadlineExceededError):
        cur.fetchall()
    # The client gave the call up (the stalled handler saw it go) instead of waiting.
    assert engine.control.wait_for(lambda c: "getNextResultBatch" in c.abandoned)
    engine.control.set_delay("getNextResultBatch", 0)
    calls = engine.control.calls_of()
    assert calls and all(c.deadline is not None for c in calls)
    fetch = engine.control.calls_of("getNextResultBatch")[-1]
    assert fetch.deadline is not None and fetch.deadline <= 1  # rpc_timeout, not 30 s or 300 s


def test_cancel_from_another_thread(engine: Engine, connect: Any) -> None:
    conn = connect(engine)
    cur = conn.cursor()

    def cancel_once_running() -> None:
        if engine.control.wait_for_call("executeStatementV2"):
            cur.cancel()

    canceller = threading.Thread(target=cancel_once_running)
    canceller.start()
    with pytest.raises(e6.QueryCancelledError):
        cur.execute("SELECT sleep_ms(600000)")  # never finishes by itself
    canceller.join()
    cancels = engine.control.calls_of("cancelQuery")
    assert len(cancels) == 1 and cancels[0].headers["strategy"] == "blue"
    assert cancels[0].headers["plannerip"] == "127.0.0.1"
    assert engine.control.interrupted == [cur.query_id]  # the engine stopped the statement
    assert engine.service.query_count() == 0  # and released it
    cur.execute("SELECT 1")  # the cursor stays usable
    assert cur.fetchall() == [(1,)]


def test_cancel_before_prepare_is_remembered(engine: Engine, connect: Any) -> None:
    cur = connect(engine).cursor()
    engine.control.set_delay("prepareStatementV2", 600)
    done = threading.Event()

    def cancel_during_prepare() -> None:
        if engine.control.wait_for_call("prepareStatementV2"):
            cur.cancel()  # no query id yet: remembered
            engine.control.set_delay("prepareStatementV2", 0)
        done.set()

    threading.Thread(target=cancel_during_prepare).start()
    with pytest.raises(e6.QueryCancelledError):
        cur.execute("SELECT 1")
    assert done.wait(30)
    assert len(engine.control.calls_of("cancelQuery")) == 1
    assert engine.control.calls_of("executeStatementV2") == []


def test_resume_on_authenticate(engine: Engine, connect: Any) -> None:
    engine.control.suspend()
    cur = connect(engine).cursor()
    cur.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]
    rpcs = [c.rpc for c in engine.control.calls_of()]
    assert rpcs[:5] == ["authenticate", "status", "resume", "status", "authenticate"]
    assert engine.control.calls_of("status")[0].service == "ClusterService"


def test_resume_after_session_exists(engine: Engine, connect: Any) -> None:
    conn = connect(engine, resume_poll_interval=0.05)
    cur = conn.cursor()
    cur.execute("SELECT 1")
    cur.fetchall()
    engine.control.set(resume_delay=0.3)
    engine.control.suspend()
    cur.execute("SELECT 2")  # D12: a 503 on prepare resumes too
    assert cur.fetchall() == [(2,)]
    assert len([c for c in engine.control.calls_of("status") if c.service == "ClusterService"]) >= 3


def test_resume_failure_and_disabled(engine: Engine, connect: Any) -> None:
    engine.control.set(resume_fails=True)
    engine.control.suspend()
    with pytest.raises(e6.ResumeFailedError):
        connect(engine).cursor().execute("SELECT 1")
    with pytest.raises(e6.ClusterSuspendedError):
        connect(engine, auto_resume=False).cursor().execute("SELECT 1")


def test_concurrent_resumes_are_deduplicated(engine: Engine, connect: Any) -> None:
    engine.control.set(resume_delay=0.3)
    engine.control.suspend()
    conns = [connect(engine, resume_poll_interval=0.05) for _ in range(4)]
    errors: list[BaseException] = []

    def work(conn: Any) -> None:
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(engine.control.calls_of("resume")) == 1
