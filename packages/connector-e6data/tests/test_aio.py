"""The asyncio API against the engine over loopback: results, cancellation, the pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest

import awsdb_e6data as e6
from awsdb_e6data import aio
from awsdb_e6data.engine import Engine

T = TypeVar("T")
PARAMS: dict[str, Any] = {"username": "user", "password": "secret", "catalog": "e6data"}


@pytest.fixture
def aconnect() -> Iterator[Callable[..., aio.AsyncConnection]]:
    """``aconnect(engine, **kw)``: an AsyncConnection on the engine, closed at teardown."""
    opened: list[aio.AsyncConnection] = []

    def factory(engine: Engine, **kw: Any) -> aio.AsyncConnection:
        params = {**PARAMS, "database": "main", **kw}
        conn = e6.AsyncConnection("127.0.0.1", engine.port, **params)
        opened.append(conn)
        return conn

    yield factory
    for conn in opened:
        asyncio.run(conn.close())


def run(make: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await asyncio.wait_for(make(), 120)

    return asyncio.run(main())


async def until(predicate: Callable[[], bool]) -> None:
    """Wait (polling the event loop) until ``predicate()`` holds; fail after a long while."""
    for _ in range(6000):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


def test_public_names_and_docstrings() -> None:
    for name in ("AsyncConnection", "AsyncCursor", "AsyncConnectionPool", "AsyncPooledConnection"):
        obj = getattr(e6, name)
        assert obj is getattr(aio, name) and name in e6.__all__ and obj.__doc__
    assert e6.connect_async is aio.connect and e6.connect_async.__doc__
    for cls in (aio.AsyncConnection, aio.AsyncCursor, aio.AsyncConnectionPool):
        for attr, value in vars(cls).items():
            if not attr.startswith("_") and callable(value):
                assert value.__doc__, f"{cls.__name__}.{attr}"


def test_results_fetch_variants_and_iteration(engine: Engine, aconnect: Any) -> None:
    conn = aconnect(engine)

    async def main() -> None:
        assert engine.control.calls_of() == []  # lazy: no RPC before first use
        async with conn.cursor() as cur:
            qid = await cur.execute(
                "SELECT id, name, amount FROM sample WHERE id <= %(n)s ORDER BY id", {"n": 4}
            )
            assert qid == cur.query_id and cur.rowcount == 4
            assert [d[0] for d in cur.description or ()] == ["id", "name", "amount"]
            assert await cur.fetchone() == (1, "one", Decimal("1.50"))
            assert [r[0] for r in await cur.fetchmany(2)] == [2, 3]
            assert [r[0] for r in await cur.fetchall()] == [4]
            assert await cur.fetchone() is None and cur.rownumber == 4
            await cur.execute("SELECT * FROM range(7)")
            assert [r async for r in cur] == [(i,) for i in range(7)]
            await cur.execute("SELECT * FROM range(5)")
            batches = [b async for b in cur.fetchall_buffer(cur.query_id)]
            assert [len(b) for b in batches] == [2, 2, 1]  # one list per engine batch
            assert await conn.get_tables() == ["sample"]
            assert [c["fieldName"] for c in await cur.get_columns("sample")][:2] == ["id", "name"]
        assert engine.service.query_count() == 0
        with pytest.raises(e6.ProgrammingError):
            await conn.cursor().execute("SELECT * FROM missing_table")

    run(main)


def test_tasks_share_one_connection(engine: Engine, aconnect: Any) -> None:
    conn = aconnect(engine, max_workers=3)

    async def one(i: int) -> list[Any]:
        cur = conn.cursor()
        await cur.execute("SELECT %(i)s + r FROM range(3) t(r)", {"i": i})
        return await cur.fetchall()

    async def main() -> list[list[Any]]:
        return await asyncio.gather(*(one(i) for i in range(10)))

    assert run(main) == [[(i,), (i + 1,), (i + 2,)] for i in range(10)]
    assert len(engine.control.calls_of("authenticate")) == 1


def test_cancelling_an_awaited_execute_cancels_the_query(engine: Engine, aconnect: Any) -> None:
    conn = aconnect(engine)
    cur = conn.cursor()

    async def main() -> None:
        task = asyncio.create_task(cur.execute("SELECT sleep_ms(600000)"))  # never ends alone
        assert await asyncio.to_thread(engine.control.wait_for_call, "executeStatementV2")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        cancels = engine.control.calls_of("cancelQuery")
        assert [c.query_id for c in cancels] == [cur.query_id]
        assert engine.control.interrupted == [cur.query_id]  # the engine stopped it
        assert engine.service.query_count() == 0  # and released it
        await cur.execute("SELECT 1")  # the cursor stays usable
        assert await cur.fetchall() == [(1,)]

    run(main)


def test_cancelling_an_awaited_fetch_cancels_the_query(engine: Engine, aconnect: Any) -> None:
    conn = aconnect(engine, prefetch=False)
    cur = conn.cursor()

    async def main() -> None:
        qid = await cur.execute("SELECT * FROM range(10)")
        engine.control.set_delay("getNextResultBatch", 600)  # a fetch that does not return
        task = asyncio.create_task(cur.fetchall())
        assert await asyncio.to_thread(engine.control.wait_for_call, "getNextResultBatch")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        engine.control.set_delay("getNextResultBatch", 0)
        assert [c.query_id for c in engine.control.calls_of("cancelQuery")] == [qid]
        assert engine.service.query_count() == 0
        assert await cur.fetchall() == []  # the cancelled result is gone

    run(main)


def test_a_cancelled_call_that_never_started_sends_nothing(engine: Engine, aconnect: Any) -> None:
    conn = aconnect(engine, max_workers=1)  # one thread: the second execute queues
    slow, queued = conn.cursor(), conn.cursor()

    async def main() -> None:
        first = asyncio.create_task(slow.execute("SELECT sleep_ms(600000)"))
        assert await asyncio.to_thread(engine.control.wait_for_call, "executeStatementV2")
        second = asyncio.create_task(queued.execute("SELECT 2"))
        await asyncio.sleep(0)  # let it submit its call behind the first one
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert len(engine.control.calls_of("prepareStatementV2")) == 1  # "SELECT 2" never sent
        assert len(engine.control.calls_of("cancelQuery")) == 1
        assert queued.query_id is None

    run(main)


def test_explicit_cancel_and_concurrent_use_of_one_cursor(engine: Engine, aconnect: Any) -> None:
    conn = aconnect(engine)
    cur = conn.cursor()

    async def main() -> None:
        task = asyncio.create_task(cur.execute("SELECT sleep_ms(600000)"))
        assert await asyncio.to_thread(engine.control.wait_for_call, "executeStatementV2")
        with pytest.raises(e6.ProgrammingError):
            await cur.execute("SELECT 1")  # one operation at a time per cursor
        await cur.cancel()  # from another task
        with pytest.raises(e6.QueryCancelledError):
            await task
        assert len(engine.control.calls_of("cancelQuery")) == 1

    run(main)


def _pool(engine: Engine, **kw: Any) -> aio.AsyncConnectionPool:
    params = {"host": "127.0.0.1", "port": engine.port, "database": "main", **PARAMS, **kw}
    return e6.AsyncConnectionPool(**params)


def test_pool_tasks_statistics_and_timeouts(engine: Engine) -> None:
    async def main() -> None:
        async with _pool(engine, min_size=2, max_size=3, max_overflow=2) as pool:

            async def work(i: int) -> None:
                for _ in range(10):
                    async with pool.get_connection_context() as conn:
                        cur = conn.cursor()
                        await cur.execute("SELECT %(i)s", {"i": i})
                        assert await cur.fetchall() == [(i,)]

            await asyncio.gather(*(work(i) for i in range(5)))
            stats = pool.get_statistics()
            assert stats["total_requests"] == 50 and stats["active_connections"] == 0
            assert stats["created_connections"] <= 5
            held = [await pool.get_connection() for _ in range(5)]
            with pytest.raises(e6.PoolTimeoutError):
                await pool.get_connection(timeout=0)
            cur = held[0].cursor()
            await cur.execute("SELECT * FROM range(10)")
            for conn in held:
                await conn.close()  # returned: its cursors are closed, its query released
            assert cur.connection is None and engine.service.query_count() == 0
        assert pool.get_statistics()["created_connections"] == 0
        with pytest.raises(e6.InterfaceError):
            await pool.get_connection()

    run(main)


def test_pool_waiter_cancelled_takes_no_connection(engine: Engine) -> None:
    async def main() -> None:
        async with _pool(engine, min_size=1, max_size=1, max_overflow=0, pre_ping=False) as pool:
            held = await pool.get_connection()
            waiter = asyncio.create_task(pool.get_connection(timeout=600))
            await until(lambda: pool.get_statistics()["waiting_threads"] == 1)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            await held.close()  # the blocked checkout now gets it and gives it back
            await until(lambda: pool.get_statistics()["waiting_threads"] == 0)
            await until(lambda: pool.get_statistics()["idle_connections"] == 1)
            async with pool.get_connection_context(timeout=0) as conn:
                assert conn.pooled is held.pooled  # the one connection, free again
            stats = pool.get_statistics()
            assert stats["active_connections"] == 0 and stats["total_requests"] == 3

    run(main)
