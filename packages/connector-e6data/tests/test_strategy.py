"""Blue/green: probing, announcements with queries in flight, abrupt 456, shared state."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import awsdb_e6data as e6
from awsdb_e6data._strategy import StrategyState, Target
from awsdb_e6data.engine import Engine


def _colours(engine: Engine, rpc: str) -> list[str | None]:
    return [c.headers.get("strategy") for c in engine.control.calls_of(rpc)]


def test_state_machine_unit() -> None:
    state = StrategyState(Target("h", 1, ""))
    assert state.colour_for_new_work(None) is None
    state.confirm("blue")
    assert state.announce("green") and not state.announce("green")
    assert state.snapshot() == ("blue", "green")
    assert state.colour_for_new_work("blue") == "green"  # new work moves at once
    assert state.snapshot() == ("green", None)  # promoted, nothing consumed by others
    assert state.colour_for_new_work("blue") == "green"
    assert not state.announce("purple")
    state.reject("green")
    assert state.snapshot() == (None, None)
    state.confirm("blue")
    assert not state.announce("green")  # just answered 456: not trusted for a while
    state.distrust_seconds = 0
    assert state.announce("green")


def test_probe_blue_then_green(engine: Engine, connect: Any) -> None:
    engine.control.set_phase({"green"})
    cur = connect(engine).cursor()
    cur.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]
    assert _colours(engine, "authenticate") == ["blue", "green"]
    assert set(_colours(engine, "getNextResultBatch")) == {"green"}


def test_no_strategy_works(engine: Engine, connect: Any) -> None:
    engine.control.set_phase(set())
    with pytest.raises(e6.NoServingStrategyError):
        connect(engine).cursor().execute("SELECT 1")
    assert len(engine.control.calls_of("authenticate")) == 2  # bounded


def test_misconfigured_announcement_does_not_recurse(engine: Engine, connect: Any) -> None:
    engine.control.set_phase({"blue"}, announce="green")  # announces what it does not serve
    conn = connect(engine)
    for _ in range(3):
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
    assert len(engine.control.calls_of("authenticate")) == 2  # blue, then green once


def test_announced_switch_with_query_in_flight(engine: Engine, connect: Any) -> None:
    engine.control.set(strict=True)  # sessions and queries belong to their colour
    conn = connect(engine)
    q1 = conn.cursor()
    q1.execute("SELECT * FROM range(6)")  # phase A: blue, 3 batches of 2
    assert q1.fetchmany(2) == [(0,), (1,)]
    engine.control.set_phase({"blue", "green"}, announce="green")  # phase B
    assert q1.fetchmany(2) == [(2,), (3,)]  # the announcement arrives in a batch reply
    q2 = conn.cursor()
    engine.control.clear_calls()
    q2.execute("SELECT 2")  # q1 still in flight on this connection; new work goes green
    assert q2.fetchall() == [(2,)]
    assert _colours(engine, "authenticate") == ["green"]
    assert set(_colours(engine, "prepareStatementV2")) == {"green"}
    assert q1.fetchall() == [(4,), (5,)]  # q1 keeps its colour and session to the end
    assert _colours(engine, "getNextResultBatch")[-2:] == ["blue", "blue"]
    q3 = conn.cursor()
    q3.execute("SELECT 3")
    assert q3.fetchall() == [(3,)]
    assert set(_colours(engine, "prepareStatementV2")) == {"green"}
    engine.control.set_phase({"green"})  # phase C
    q3.execute("SELECT 4")
    assert q3.fetchall() == [(4,)]
    other = connect(engine)  # another connection of the process starts on green directly
    engine.control.clear_calls()
    other.cursor().execute("SELECT 5")
    assert _colours(engine, "authenticate") == ["green"]


def test_abrupt_456_on_prepare_is_recovered(engine: Engine, connect: Any) -> None:
    conn = connect(engine)
    cur = conn.cursor()
    cur.execute("SELECT 1")
    cur.fetchall()
    engine.control.set_phase({"green"})  # phase D: unannounced flip
    engine.control.clear_calls()
    cur.execute("SELECT 2")
    assert cur.fetchall() == [(2,)]
    assert _colours(engine, "prepareStatementV2") == ["blue", "green"]


def test_abrupt_456_during_fetch_raises_query_lost(engine: Engine, connect: Any) -> None:
    cur = connect(engine, prefetch=False).cursor()
    cur.execute("SELECT * FROM range(10)")
    assert cur.fetchone() == (0,)
    engine.control.set_phase({"green"})  # phase E
    with pytest.raises(e6.QueryLostError) as err:
        cur.fetchall()
    assert err.value.is_retryable
    cur.execute("SELECT 1")  # next statement works on the serving colour
    assert cur.fetchall() == [(1,)]


def test_cancel_uses_the_query_colour(engine: Engine, connect: Any) -> None:
    engine.control.set_phase({"blue", "green"})
    a, b = connect(engine), connect(engine)
    cur = a.cursor()
    cur.execute("SELECT * FROM range(10)")  # prepared on blue
    engine.control.set_phase({"blue", "green"}, announce="green")
    b.cursor().execute("SELECT 1")  # b (idle) adopts green for the whole target
    cur.cancel()  # D17: must carry blue, the colour of its own prepare
    assert _colours(engine, "cancelQuery") == ["blue"]


def test_switch_under_eight_threads_has_no_failures(engine: Engine, connect: Any) -> None:
    engine.control.set(batch_size=50)
    conn = connect(engine)
    stop = threading.Event()
    failures: list[BaseException] = []
    done = [0]
    lock = threading.Lock()

    def worker() -> None:
        own = connect(engine)
        while not stop.is_set():
            for c in (conn, own):
                try:
                    cur = c.cursor()
                    cur.execute("SELECT * FROM range(120)")
                    assert len(cur.fetchall()) == 120
                    cur.close()
                    with lock:
                        done[0] += 1
                except BaseException as exc:
                    failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        _wait_for(done, 20)
        engine.control.set_phase({"blue", "green"}, announce="green")
        _wait_for(done, done[0] + 40)
        engine.control.set_phase({"green"})  # blue retired only after the announcement
        _wait_for(done, done[0] + 40)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert _colours(engine, "prepareStatementV2")[-1] == "green"


def _wait_for(counter: list[int], target: int) -> None:
    import time

    deadline = time.monotonic() + 30
    while counter[0] < target and time.monotonic() < deadline:
        time.sleep(0.01)
    assert counter[0] >= target


def test_realistic_456_text_is_recognised(engine: Engine, connect: Any) -> None:
    engine.control.set(realistic_456=True)  # "Received http2 header with status: 456"
    cur = connect(engine).cursor()
    cur.execute("SELECT 1")
    cur.fetchall()
    engine.control.set_phase({"green"})
    cur.execute("SELECT 2")
    assert cur.fetchall() == [(2,)]
    assert _colours(engine, "prepareStatementV2") == ["blue", "blue", "green"]
