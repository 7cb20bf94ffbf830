"""Interoperability: the unmodified published client (e6data-python-connector 3.0.2) end to end
against our test engine. It is a test-only peer, installed through the ``test`` extra."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from awsdb_e6data.engine import Engine, EngineCertificates

e6grpc = pytest.importorskip("e6data_python_connector.e6data_grpc")
pub_strategy = pytest.importorskip("e6data_python_connector.strategy")
pub_pool = pytest.importorskip("e6data_python_connector.connection_pool")


@pytest.fixture(autouse=True)
def _fresh_published_state() -> Iterator[None]:
    # The published client keeps its blue/green state in module globals; every test here
    # starts a new engine, so start the peer from a clean slate as a new process would.
    pub_strategy._clear_strategy_cache()
    yield
    pub_strategy._clear_strategy_cache()


@pytest.fixture
def pconnect() -> Iterator[Any]:
    """``pconnect(engine_or_port, **kw)``: a published-client Connection, closed at teardown."""
    opened: list[Any] = []

    def factory(engine: Engine, **kw: Any) -> Any:
        params: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": engine.port,
            "username": "user",
            "password": "secret",
            "catalog": "e6data",
            "database": "main",
        }
        params.update(kw)
        conn = e6grpc.Connection(**params)
        opened.append(conn)
        return conn

    yield factory
    for conn in opened:
        with contextlib.suppress(Exception):
            conn.close()


def _rpcs(engine: Engine) -> list[str]:
    return [c.rpc for c in engine.control.calls_of()]


def test_auth_typed_results_and_fetch_variants(engine: Engine, pconnect: Any) -> None:
    conn = pconnect(engine)
    assert engine.control.calls_of() == []  # lazy
    cur = conn.cursor(catalog_name="e6data", db_name="main")
    qid = cur.execute("SELECT id, name, amount, flag FROM sample ORDER BY id")
    assert isinstance(qid, str) and qid
    assert cur.rowcount == 5
    assert [d[0] for d in cur.description] == ["id", "name", "amount", "flag"]
    first = cur.fetchone()
    assert first in ([[1, "one", Decimal("1.50"), True]], [1, "one", Decimal("1.50"), True])
    assert [r[0] for r in cur.fetchmany(2)] == [2, 3]
    rest = cur.fetchall()
    # [5] is the peer's documented defect D1 (the buffered row 4 is dropped); ours keeps it.
    assert [r[0] for r in rest] in ([4, 5], [5])
    cur.clear()
    auth = engine.control.calls_of("authenticate")
    assert auth[0].headers["strategy"] == "blue"
    cur.execute("SELECT * FROM range(5)")
    batches = list(cur.fetchall_buffer())
    assert sum(len(b) for b in batches) == 5 and len(batches) >= 2  # batch size 2
    cur.execute("SELECT ts, day FROM sample WHERE id = 1")
    row = cur.fetchall()[0]
    assert row[0].startswith("2023-11-14T22:13:20.123")  # the peer's own (lossy) rendering
    assert str(row[1]) == "2024-02-29"
    cur.clear()


def test_v1_path_status_explain_dry_run(engine: Engine, pconnect: Any) -> None:
    conn = pconnect(engine, catalog=None, database=None)
    cur = conn.cursor()
    qid = cur.execute("SELECT count(*) FROM sample")
    assert cur.fetchall() == [[5]]
    assert "prepareStatement" in _rpcs(engine)
    status = cur.status(qid)
    assert status.status is True and status.rowCount == 1
    info = cur.explain_analyse()
    assert {"is_cached", "parsing_time", "queuing_time", "planner"} <= set(info)
    assert "total_query_time" in info["planner"]
    assert "valid" in conn.dry_run("SELECT 1")
    cur.clear()
    cur2 = pconnect(engine).cursor(catalog_name="e6data", db_name="main")
    cur2.execute("SELECT * FROM sample")
    assert "SCAN" in cur2.explain().upper()
    cur2.clear()


def test_schema_listing(engine: Engine, pconnect: Any) -> None:
    conn = pconnect(engine)
    assert "sales" in conn.get_schema_names("e6data")
    assert conn.get_tables("e6data", "sales") == ["orders"]
    cols = conn.get_columns("e6data", "sales", "orders")
    assert [(c["fieldName"], c["fieldType"]) for c in cols][:2] == [
        ("id", "int"),
        ("total", "decimal(7,2)"),
    ]
    assert conn.get_catalogs() == [{"name": "e6data", "isDefault": True}]


def test_cancel(engine: Engine, pconnect: Any) -> None:
    conn = pconnect(engine)
    cur = conn.cursor(catalog_name="e6data", db_name="main")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            cur.execute("SELECT sleep_ms(600000)")  # never finishes by itself
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    assert engine.control.wait_for_call("executeStatementV2")
    qid = engine.control.calls_of("executeStatementV2")[0].query_id
    cur.cancel(qid)
    t.join(timeout=120)
    assert not t.is_alive() and errors  # the execute was interrupted
    assert engine.control.calls_of("cancelQuery")[0].query_id == qid
    assert engine.control.interrupted == [qid]


def test_session_loss_reauthenticates_in_execute(engine: Engine, pconnect: Any) -> None:
    cur = pconnect(engine).cursor(catalog_name="e6data", db_name="main")
    cur.execute("SELECT 1")
    cur.fetchall()
    engine.forget_sessions()
    cur.execute("SELECT 2")
    assert cur.fetchall() == [[2]]
    assert len(engine.control.calls_of("authenticate")) == 2


def test_announced_switch_with_queries_in_flight(engine: Engine, pconnect: Any) -> None:
    conn = pconnect(engine)
    c1 = conn.cursor(catalog_name="e6data", db_name="main")
    c1.execute("SELECT * FROM range(6)")  # A
    c1.fetchmany(2)
    engine.control.set_phase({"blue", "green"}, announce="green")  # B
    c1.fetchmany(2)
    c2 = conn.cursor(catalog_name="e6data", db_name="main")
    c2.execute("SELECT 2")
    assert c2.fetchall() == [[2]]
    c1.clear()
    c2.clear()
    engine.control.set_phase({"green"})  # C
    c3 = conn.cursor(catalog_name="e6data", db_name="main")
    c3.execute("SELECT 3")
    assert c3.fetchall() == [[3]]
    assert engine.control.calls_of("prepareStatementV2")[-1].headers["strategy"] == "green"


def test_abrupt_456_during_execute_and_fetch(engine: Engine, pconnect: Any) -> None:
    conn = pconnect(engine)
    cur = conn.cursor(catalog_name="e6data", db_name="main")
    cur.execute("SELECT 1")
    cur.fetchall()
    cur.clear()
    engine.control.set_phase({"green"})  # D: recovered inside execute
    cur.execute("SELECT * FROM range(10)")
    assert cur.fetchmany(2)[0] == [0]
    engine.control.set_phase({"blue"})  # E: lost during fetch, raised raw by the peer
    with pytest.raises(Exception) as err:
        cur.fetchall()
    assert "456" in str(err.value)


def test_auto_resume(engine: Engine, pconnect: Any) -> None:
    engine.control.suspend()
    cur = pconnect(engine).cursor(catalog_name="e6data", db_name="main")
    cur.execute("SELECT 1")
    assert cur.fetchall() == [[1]]
    assert [c.rpc for c in engine.control.calls_of() if c.service == "ClusterService"][:2] == [
        "status",
        "resume",
    ]


@pytest.mark.parametrize("as_bytes", [False, True])
def test_tls_custom_ca(
    tls_engine: Engine, certs: tuple[EngineCertificates, Path], pconnect: Any, as_bytes: bool
) -> None:
    material, ca_path = certs
    conn = e6grpc.Connection(
        host="localhost",
        port=tls_engine.tls_port,
        username="user",
        password="secret",
        catalog="e6data",
        database="main",
        secure=True,
        ssl_cert=material.ca_pem if as_bytes else str(ca_path),
    )
    try:
        cur = conn.cursor(catalog_name="e6data", db_name="main")
        cur.execute("SELECT count(*) FROM sample")
        assert cur.fetchall() == [[5]]
        cur.clear()
    finally:
        conn.close()


def test_pool_with_five_threads(engine: Engine) -> None:
    pool = pub_pool.ConnectionPool(
        min_size=2,
        max_size=5,
        max_overflow=2,
        host="127.0.0.1",
        port=engine.port,
        username="user",
        password="secret",
        catalog="e6data",
        database="main",
    )
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(3):
                with pool.get_connection_context() as conn:
                    cur = conn.cursor(catalog_name="e6data", db_name="main")
                    cur.execute(f"SELECT {i}")
                    assert cur.fetchall() == [[i]]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        stats = pool.get_statistics()
        assert stats["total_requests"] >= 15
    finally:
        pool.close_all()


def test_same_values_as_our_connector(engine: Engine, pconnect: Any, connect: Any) -> None:
    sql = "SELECT id, name, amount, flag, raw FROM sample WHERE id <> 2 ORDER BY id"
    pcur = pconnect(engine).cursor(catalog_name="e6data", db_name="main")
    pcur.execute(sql)
    theirs = pcur.fetchall()
    pcur.clear()
    cur = connect(engine).cursor()
    cur.execute(sql)
    ours = cur.fetchall()
    assert [[*r[:2], bool(r[3])] for r in theirs] == [[r[0], r[1], r[3]] for r in ours]
    assert [Decimal(r[2]) for r in theirs] == [r[2] for r in ours]  # same value, our scale kept
    assert ours[0][4] == b"a"  # BINARY is bytes on our side
