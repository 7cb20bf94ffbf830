"""The SQLAlchemy dialects e6data:// and e6data+asyncio:// against the engine over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from importlib.metadata import distribution

import pytest

sa = pytest.importorskip("sqlalchemy")
pytest.importorskip("greenlet")

from sqlalchemy.dialects import registry  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

import awsdb_e6data as e6  # noqa: E402
from awsdb_e6data import sqlalchemy as e6sa  # noqa: E402
from awsdb_e6data.engine import Engine  # noqa: E402


@pytest.fixture(autouse=True)
def _ours() -> Iterator[None]:
    # The published client registers the same dialect names; make ours win in these tests.
    e6sa.register()
    yield
    for name in ("e6data", "e6data.asyncio"):
        registry.impls.pop(name, None)


def _url(engine: Engine, driver: str = "e6data", **query: str) -> str:
    params = "&".join(f"{k}={v}" for k, v in {"catalog": "e6data", **query}.items())
    return f"{driver}://user:secret@127.0.0.1:{engine.port}/main?{params}"


def test_entry_points_name_our_dialects() -> None:
    eps = {
        ep.name: ep.load()
        for ep in distribution("awsdb-connector-e6data").entry_points
        if ep.group == "sqlalchemy.dialects"
    }
    assert eps == {"e6data": e6sa.E6DataDialect, "e6data.asyncio": e6sa.E6DataAsyncDialect}


def test_url_to_connection_keywords() -> None:
    url = sa.make_url(
        "e6data://me%40x.com:p%2Fw@h.example:4443/?schema=sales&catalog=glue"
        "&cluster-name=Prod&secure=true&auto-resume=false&rpc_timeout=2.5&max_retries=1"
        "&grpc.keepalive_time_ms=60000&escape_style=hive"
    )
    assert e6sa.connect_kwargs(url) == {
        "host": "h.example",
        "port": 4443,
        "username": "me@x.com",
        "password": "p/w",
        "database": "sales",
        "catalog": "glue",
        "cluster_name": "Prod",
        "secure": True,
        "auto_resume": False,
        "rpc_timeout": 2.5,
        "max_retries": 1,
        "escape_style": "hive",
        "grpc_options": {"grpc.keepalive_time_ms": 60000},
    }
    with pytest.raises(sa.exc.ArgumentError):
        e6sa.connect_kwargs(sa.make_url("e6data://u:p@h/?secure=maybe"))
    with pytest.raises(sa.exc.ArgumentError):
        e6sa.connect_kwargs(sa.make_url("e6data://u:p@h/?max_workers=2"))
    assert (
        e6sa.connect_kwargs(sa.make_url("e6data://u:p@h/d?max_workers=2"), asyncio=True)[
            "max_workers"
        ]
        == 2
    )


def test_column_types() -> None:
    assert isinstance(e6sa.column_type("long"), sa.BigInteger)
    dec = e6sa.column_type("decimal(10,2)")
    assert isinstance(dec, sa.Numeric) and (dec.precision, dec.scale) == (10, 2)
    assert e6sa.column_type("timestamp_tz").timezone is True  # type: ignore[attr-defined]
    assert isinstance(e6sa.column_type("array<int>"), sa.String)
    assert isinstance(e6sa.column_type("geometry"), sa.types.NullType)


def test_select_literal_parameters_and_results(engine: Engine) -> None:
    eng = sa.create_engine(_url(engine))
    try:
        assert isinstance(eng.dialect, e6sa.E6DataDialect)
        with eng.connect() as conn:
            assert conn.execute(sa.select(sa.literal(1))).scalar() == 1
            assert conn.scalar(sa.select(sa.literal("o'neil"))) == "o'neil"
            rows = conn.execute(
                sa.text("SELECT id, name, amount FROM sample WHERE id <= :n ORDER BY id"),
                {"n": 3},
            ).all()
            assert [tuple(r) for r in rows] == [
                (1, "one", Decimal("1.50")),
                (2, None, None),
                (3, "thr'ee", Decimal("-0.05")),
            ]
            conn.commit()  # no transactions: nothing happens
        assert engine.service.query_count() == 0
    finally:
        eng.dispose()


def test_reflection(engine: Engine) -> None:
    eng = sa.create_engine(_url(engine))
    try:
        insp = sa.inspect(eng)
        assert insp.default_schema_name == "main"
        assert "sales" in insp.get_schema_names()
        assert insp.get_table_names() == ["sample"]
        assert insp.get_table_names(schema="sales") == ["orders"]
        assert insp.has_table("sample") and not insp.has_table("missing")
        cols = {c["name"]: c["type"] for c in insp.get_columns("orders", schema="sales")}
        assert list(cols) == ["id", "total", "note"]
        assert isinstance(cols["id"], sa.Integer) and isinstance(cols["note"], sa.String)
        assert (cols["total"].precision, cols["total"].scale) == (7, 2)  # type: ignore[attr-defined]
        with pytest.raises(sa.exc.NoSuchTableError):
            insp.get_columns("missing")
        orders = sa.Table("orders", sa.MetaData(), schema="sales", autoload_with=eng)
        assert [c.name for c in orders.columns] == ["id", "total", "note"]
        with eng.connect() as conn:
            query = sa.select(orders.c.id, orders.c.total).order_by(orders.c.id)
            assert [tuple(r) for r in conn.execute(query)] == [
                (1, Decimal("10.25")),
                (2, Decimal("3.50")),
            ]
            big = sa.select(orders.c.note).where(orders.c.total > 5)
            assert conn.execute(big).scalars().all() == ["x"]
    finally:
        eng.dispose()


def test_errors_are_wrapped_with_the_connector_error_as_orig(engine: Engine) -> None:
    eng = sa.create_engine(_url(engine))
    try:
        with eng.connect() as conn, pytest.raises(sa.exc.DBAPIError) as info:
            conn.execute(sa.text("SELECT * FROM missing_table"))
        assert isinstance(info.value.orig, e6.DatabaseError)
    finally:
        eng.dispose()


def test_async_engine(engine: Engine) -> None:
    async def main() -> None:
        eng = create_async_engine(_url(engine, "e6data+asyncio", max_workers="2"))
        try:
            assert isinstance(eng.dialect, e6sa.E6DataAsyncDialect)
            async with eng.connect() as conn:
                assert (await conn.execute(sa.select(sa.literal(1)))).scalar() == 1
                result = await conn.execute(
                    sa.text("SELECT id FROM sample WHERE id > :n ORDER BY id"), {"n": 3}
                )
                assert result.scalars().all() == [4, 5]
                assert await conn.run_sync(lambda c: sa.inspect(c).get_table_names()) == ["sample"]
                raw = await conn.get_raw_connection()
                assert isinstance(raw.driver_connection, e6.AsyncConnection)
        finally:
            await eng.dispose()

    asyncio.run(main())


def test_async_engine_cancel_cancels_the_query(engine: Engine) -> None:
    async def main() -> None:
        eng = create_async_engine(_url(engine, "e6data+asyncio"))
        try:
            async with eng.connect() as conn:
                await conn.execute(sa.select(sa.literal(1)))  # connected and authenticated
                task = asyncio.create_task(conn.execute(sa.text("SELECT sleep_ms(600000)")))
                running = await asyncio.to_thread(
                    engine.control.wait_for_call, "executeStatementV2", 2
                )
                assert running
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert len(engine.control.calls_of("cancelQuery")) == 1
            # The engine stops the statement (SQLAlchemy may drop the connection meanwhile).
            stopped = await asyncio.to_thread(engine.control.wait_for, lambda c: c.interrupted)
            assert stopped and len(engine.control.interrupted) == 1
        finally:
            await eng.dispose()

    asyncio.run(main())


def test_pool_pre_ping_is_a_round_trip(engine: Engine) -> None:
    eng = sa.create_engine(_url(engine), pool_pre_ping=True, pool_size=1)
    try:
        with eng.connect() as conn:
            conn.execute(sa.select(sa.literal(1)))
        engine.control.clear_calls()
        engine.forget_sessions()
        with eng.connect() as conn:  # the ping re-authenticates the pooled connection
            assert conn.scalar(sa.select(sa.literal(2))) == 2
        rpcs = [c.rpc for c in engine.control.calls_of()]
        assert rpcs[:3] == ["clearOrCancelQuery", "authenticate", "clearOrCancelQuery"]
    finally:
        eng.dispose()
