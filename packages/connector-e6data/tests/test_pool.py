"""ConnectionPool: checkout semantics, statistics, timeouts, pre-ping, recycle, threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import awsdb_e6data as e6
from awsdb_e6data.engine import Engine

KEYS = {
    "created_connections",
    "active_connections",
    "idle_connections",
    "waiting_threads",
    "total_requests",
    "failed_connections",
    "overflow_connections",
    "thread_connections",
    "pool_size",
}


def _pool(engine: Engine, **kw: Any) -> e6.ConnectionPool:
    params: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": engine.port,
        "username": "user",
        "password": "secret",
        "catalog": "e6data",
        "database": "main",
    }
    params.update(kw)
    return e6.ConnectionPool(**params)


def test_statistics_and_nested_checkouts(engine: Engine) -> None:
    with _pool(engine, min_size=2, max_size=3, max_overflow=1) as pool:
        stats = pool.get_statistics()
        assert set(stats) == KEYS
        assert stats["created_connections"] == 2 and stats["idle_connections"] == 2
        assert engine.control.calls_of() == []  # eager connections are lazy on the network
        outer = pool.get_connection()
        inner = pool.get_connection()  # D13: a nested checkout is a different connection
        assert inner is not outer
        pool.return_connection(inner)
        again = pool.get_connection()
        assert again is not outer  # the outer one is still in use and never handed out
        stats = pool.get_statistics()
        assert stats["active_connections"] == 2 and stats["thread_connections"] == 1
        pool.return_connection(again)
        pool.return_connection(outer)
        pool.return_connection(outer)  # double return is ignored
        stats = pool.get_statistics()
        assert stats["active_connections"] == 0 and stats["idle_connections"] == 2
        assert stats["total_requests"] == 3


def test_overflow_and_timeouts(engine: Engine) -> None:
    with _pool(engine, min_size=0, max_size=1, max_overflow=1, pre_ping=False) as pool:
        waits: list[float | None] = []
        waiting = threading.Event()
        wait = pool._cond.wait

        def spy(timeout: float | None = None) -> bool:
            waits.append(timeout)
            waiting.set()
            return wait(timeout)

        pool._cond.wait = spy  # type: ignore[method-assign]
        a, b = pool.get_connection(), pool.get_connection()
        assert pool.get_statistics()["overflow_connections"] == 1
        with pytest.raises(e6.PoolTimeoutError):
            pool.get_connection(timeout=0)  # D13: 0 means do not wait
        assert waits == []
        with pytest.raises(TimeoutError):
            pool.get_connection(timeout=0.2)
        assert waits and all(t is not None and 0 < t <= 0.2 for t in waits)
        waits.clear()
        waiting.clear()

        def return_once_waited() -> None:
            if waiting.wait(30):
                pool.return_connection(b)

        returner = threading.Thread(target=return_once_waited)
        returner.start()
        c = pool.get_connection(timeout=60)  # woken by the return
        returner.join()
        assert waits  # it did wait for the return
        assert c is not b and b.connection.closed  # an overflow connection is not kept
        pool.return_connection(c)
        pool.return_connection(a)
        stats = pool.get_statistics()
        assert stats["created_connections"] == 1 and stats["overflow_connections"] == 0
        assert stats["waiting_threads"] == 0


def test_pre_ping_is_a_round_trip_and_replaces_dead_sessions(engine: Engine) -> None:
    with _pool(engine, min_size=1, max_size=2, pre_ping=True) as pool:
        with pool.get_connection_context() as conn:
            conn.cursor().execute("SELECT 1")
        engine.control.clear_calls()
        engine.forget_sessions()
        with pool.get_connection_context() as conn:
            cur = conn.cursor()
            cur.execute("SELECT 2")
            assert cur.fetchall() == [(2,)]
        rpcs = [c.rpc for c in engine.control.calls_of()]
        assert rpcs[:3] == ["clearOrCancelQuery", "authenticate", "clearOrCancelQuery"]


def test_recycle_keeps_counts_exact(engine: Engine) -> None:
    with _pool(engine, min_size=1, max_size=2, recycle=1, pre_ping=False) as pool:
        first = pool.get_connection()
        first.created_at -= 5  # older than recycle
        pool.return_connection(first)
        second = pool.get_connection()
        assert second is not first and first.connection.closed
        assert pool.get_statistics()["created_connections"] == 1  # D13: no drift
        pool.return_connection(second)


def test_cursors_take_their_arguments_and_are_closed_on_return(engine: Engine) -> None:
    with _pool(engine, min_size=1, database="sales") as pool:
        conn = pool.get_connection()
        assert conn.cursor().get_tables() == ["orders"]
        assert conn.cursor("e6data", "main").get_tables() == ["sample"]  # D13: args honoured
        cur = conn.cursor()
        cur.execute("SELECT * FROM range(10)")
        pool.return_connection(conn)
        assert cur.connection is None
        assert engine.service.query_count() == 0


def test_five_threads(engine: Engine) -> None:
    with _pool(engine, min_size=2, max_size=3, max_overflow=2) as pool:
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                for _ in range(10):
                    with pool.get_connection_context() as conn:
                        cur = conn.cursor()
                        cur.execute("SELECT %(i)s", {"i": i})
                        assert cur.fetchall() == [(i,)]
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        stats = pool.get_statistics()
        assert stats["total_requests"] == 50 and stats["active_connections"] == 0
        assert stats["created_connections"] <= 5
    assert pool.get_statistics()["created_connections"] == 0
    with pytest.raises(e6.InterfaceError):
        pool.get_connection()
