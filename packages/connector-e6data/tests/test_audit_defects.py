"""Defects of an independent audit, each reproduced against the test engine first."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import awsdb_e6data as e6
from awsdb_e6data.engine import Engine

USER, PASSWORD = "user", "secret"


def _wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Wait for a condition (an event, not a duration); fail after a generous bound."""
    done = threading.Event()
    for _ in range(3000):
        if predicate():
            return
        done.wait(0.01)
    raise AssertionError(f"never happened: {what}")


def _run(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``fn`` on a thread; the list receives its result or its exception."""
    out: list[Any] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


# 1. A non-empty chunk of size 0 is the end of data.


@pytest.mark.timeout(60)
def test_zero_size_chunk_ends_the_data(engine: Engine, connect: Any) -> None:
    engine.control.set(end_marker="zero_chunk")
    cur = connect(engine, prefetch=False).cursor()
    cur.execute("SELECT * FROM range(5)")
    assert cur.fetchall() == [(0,), (1,), (2,), (3,), (4,)]
    assert len(engine.control.calls_of("getNextResultBatch")) == 4  # 3 batches + the marker
    cur.execute("SELECT 1 WHERE false")
    assert cur.fetchall() == []
    assert cur.fetchone() is None
    assert list(cur.fetchall_buffer()) == []


# 2. Pool pre-ping also checks a replacement connection.


@pytest.mark.timeout(60)
def test_pool_pre_ping_pings_the_replacement(engine: Engine) -> None:
    pool = e6.ConnectionPool(
        min_size=1,
        max_size=2,
        pre_ping=True,
        host="127.0.0.1",
        port=engine.port,
        username=USER,
        password=PASSWORD,
        catalog="e6data",
        database="main",
        rpc_timeout=5.0,
    )
    try:
        with pool.get_connection() as pooled:
            pooled.cursor().execute("SELECT 1")
        engine.stop(grace=0)  # the server is gone
        with pytest.raises(e6.OperationalError):
            pool.get_connection(timeout=0)  # idle one fails its ping; so does the replacement
        stats = pool.get_statistics()
        assert stats["active_connections"] == 0 and stats["created_connections"] == 0
    finally:
        pool.close_all()


# 3. Closing a connection while another thread fetches is a closed connection, not a cancel.


@pytest.mark.timeout(60)
@pytest.mark.parametrize("prefetch", [False, True])
def test_close_during_fetch_is_interface_error(
    engine: Engine, connect: Any, prefetch: bool
) -> None:
    conn = connect(engine, prefetch=prefetch)
    cur = conn.cursor()
    cur.execute("SELECT * FROM range(10)")
    assert cur.fetchone() == (0,)
    engine.control.set_delay("getNextResultBatch", 2.0)
    engine.control.clear_calls()
    thread, out = _run(cur.fetchall)
    _wait_until(lambda: bool(engine.control.calls_of("getNextResultBatch")), "fetch sent")
    conn.close()
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(out[0], e6.InterfaceError), out
    assert not isinstance(out[0], e6.QueryCancelledError)
    assert "closed" in str(out[0])


# 4. Queries that failed after prepare, or were cancelled, are cleared on the engine.


def test_metadata_decode_failure_clears_the_query(engine: Engine, connect: Any) -> None:
    cur = connect(engine).cursor()
    engine.control.set(corrupt_metadata=True)
    with pytest.raises(e6.DataError):
        cur.execute("SELECT * FROM range(10)")
    assert engine.service.query_count() == 0
    assert len(engine.control.calls_of("clearOrCancelQuery")) == 1
    engine.control.set(corrupt_metadata=False)
    cur.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]


def test_cancelled_and_failed_queries_are_cleared(engine: Engine, connect: Any) -> None:
    cur = connect(engine).cursor()
    cur.execute("SELECT * FROM range(10)")
    assert cur.fetchone() == (0,)
    cur.cancel()
    assert engine.service.query_count() == 0
    with pytest.raises(e6.ProgrammingError):
        cur.execute("SELECT * FROM no_such_table")
    assert engine.service.query_count() == 0
    cur.execute("SELECT 2")
    assert cur.fetchall() == [(2,)]
    assert engine.service.query_count() == 0


def test_clear_on_the_engine_is_bounded_by_a_deadline(engine: Engine, connect: Any) -> None:
    conn = connect(engine, clear_timeout=0.2)
    cur = conn.cursor()
    cur.execute("SELECT * FROM range(10)")
    engine.control.set_delay("clearOrCancelQuery", 5.0)
    cur.cancel()  # the stuck clear is abandoned at its deadline, silently
    assert len(engine.control.calls_of("clearOrCancelQuery")) == 1
    assert conn.clear_timeout == 0.2


# 5. execute_timeout default and cancel() of a fetch waiting on a stuck handler.


def test_execute_timeout_default() -> None:
    conn = e6.Connection("127.0.0.1", 1, USER, PASSWORD)
    assert conn.grpc_prepare_timeout == e6.Connection.DEFAULT_EXECUTE_TIMEOUT == 300.0
    conn.close()
    conn = e6.Connection("127.0.0.1", 1, USER, PASSWORD, execute_timeout=12)
    assert conn.grpc_prepare_timeout == 12.0
    conn.close()


# 6. A connection shared by busy threads moves new queries to the announced colour.


@pytest.mark.timeout(120)
def test_shared_busy_connection_switches_new_queries(engine: Engine, connect: Any) -> None:
    engine.control.set(batch_size=50, strict=True)
    conn = connect(engine)
    stop = threading.Event()
    failures: list[BaseException] = []
    done = [0]
    lock = threading.Lock()

    def worker() -> None:
        while not stop.is_set():
            try:
                cur = conn.cursor()
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
        _wait_until(lambda: done[0] >= 20, "queries on blue")
        engine.control.set_phase({"blue", "green"}, announce="green")
        # The connection never goes idle, yet new queries move to green...
        _wait_until(
            lambda: "green" in [c.headers.get("strategy") for c in engine.control.calls_of()],
            "a query on green",
        )
        # ...while blue's in-flight queries finish on blue and are cleared.
        _wait_until(lambda: "blue" not in engine.service.query_colours(), "blue drained")
        engine.control.set_phase({"green"})  # blue retires
        mark = done[0]
        _wait_until(lambda: done[0] >= mark + 40, "queries on green")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    recent = engine.control.calls_of("prepareStatementV2")[-20:]
    assert {c.headers.get("strategy") for c in recent} == {"green"}
