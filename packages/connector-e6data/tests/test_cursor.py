"""DB-API behaviour of our connector against the real test engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import awsdb_e6data as e6
from awsdb_e6data.engine import Engine

ROWS = "SELECT * FROM sample ORDER BY id"


def test_module_globals() -> None:
    assert (e6.apilevel, e6.threadsafety, e6.paramstyle) == ("2.0", 2, "pyformat")
    assert issubclass(e6.ProgrammingError, e6.DatabaseError)
    assert issubclass(e6.DatabaseError, e6.Error)
    assert issubclass(e6.QueryLostError, e6.OperationalError)
    assert e6.NUMBER == "DECIMAL128" and e6.STRING == "STRING" and e6.DATETIME == "DATE"


def test_typed_values(engine: Engine, connect: Any) -> None:
    cur = connect(engine).cursor()
    cur.execute(ROWS)
    rows = cur.fetchall()
    assert rows[0] == (
        1,
        "one",
        Decimal("1.50"),
        dt.datetime(2023, 11, 14, 22, 13, 20, 123456),
        dt.date(2024, 2, 29),
        b"a",
        True,
    )
    assert str(rows[0][2]) == "1.50"  # the scale is kept
    assert rows[1] == (2, None, None, None, None, None, None)
    assert rows[2][1:6] == (
        "thr'ee",
        Decimal("-0.05"),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
        dt.date(1900, 1, 1),
        b"\xff\x00",
    )
    assert rows[4][2:5] == (
        Decimal("99999999.99"),
        dt.datetime(2262, 1, 1, 0, 0, 0, 1),
        dt.date(9999, 12, 31),
    )
    assert all(isinstance(r, tuple) for r in rows)


def test_more_types(engine: Engine, connect: Any) -> None:
    cur = connect(engine).cursor()
    cur.execute(
        "SELECT TIMESTAMPTZ '2023-11-14 22:13:20.123456+00' AS tz, INTERVAL 90 MINUTE AS iv,"
        " 12345678901234567890123456789012345678::HUGEINT AS big,"
        " 1234567890123456789012345678.9012345678::DECIMAL(38,10) AS wide,"
        " [1, 2] AS arr, {'a': 1} AS st, 2.5::FLOAT AS f, 7::TINYINT AS ti, NULL AS nothing,"
        " 'ü€😀' AS uni"
    )
    row = cur.fetchone()
    assert row is not None
    assert row[0] == dt.datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=dt.UTC)
    assert row[1] == dt.timedelta(minutes=90)
    assert row[2] == Decimal("12345678901234567890123456789012345678")
    assert row[3] == Decimal("1234567890123456789012345678.9012345678")  # no 28-digit rounding
    assert row[4] == "[1,2]" and row[5] == '{"a":1}'
    assert row[6:] == (2.5, 7, None, "ü€😀")
    assert [d[1] for d in cur.description] == [
        "TIMESTAMP_TZ",
        "INTERVAL_DAY_SECOND",
        "DECIMAL128",
        "DECIMAL128",
        "ARRAY",
        "STRUCT",
        "FLOAT",
        "INTEGER",
        "NULL",
        "STRING",
    ]


def test_fetch_variants_and_buffers(engine: Engine, connect: Any) -> None:
    cur = connect(engine).cursor()
    assert cur.description is None
    cur.execute("SELECT i FROM range(1, 6) r(i)")  # 5 rows in batches of 2
    assert cur.fetchone() == (1,)
    assert cur.fetchmany(1) == [(2,)]
    assert cur.fetchall() == [(3,), (4,), (5,)]  # D1: nothing lost from the buffer
    assert cur.fetchone() is None and cur.fetchall() == []
    cur.execute("SELECT i FROM range(1, 6) r(i)")
    cur.fetchmany(1)
    cur.execute("SELECT * FROM (VALUES (100), (200)) t(x)")  # D2: no leftovers
    assert cur.fetchmany(2) == [(100,), (200,)]
    cur.arraysize = 3
    cur.execute("SELECT i FROM range(10) r(i)")
    assert len(cur.fetchmany()) == 3  # D3: defaults to arraysize
    assert [len(b) for b in cur.fetchall_buffer()] == [1, 2, 2, 2]
    cur.execute("SELECT i FROM range(4) r(i)")
    assert [r[0] for r in cur] == [0, 1, 2, 3]
    assert cur.rownumber == 4


def test_description_rowcount_no_extra_rpc(engine: Engine, connect: Any) -> None:
    cur = connect(engine).cursor()
    cur.execute("SELECT 1 AS a")
    assert cur.description[0][:2] == ("a", "INTEGER")
    cur.execute("SELECT 2 AS b, 'x' AS c")  # D4: rebuilt on every execute
    assert [d[0] for d in cur.description] == ["b", "c"]
    engine.control.clear_calls()
    assert [cur.rowcount for _ in range(5)] == [1] * 5
    assert engine.control.calls_of() == []  # D5: rowcount costs no RPC
    cur.execute("CREATE TABLE t_ddl (a INTEGER)")
    assert cur.description is None
    cur.execute("INSERT INTO t_ddl SELECT * FROM range(7)")
    assert cur.rowcount == 7
    with pytest.raises(e6.ProgrammingError):
        cur.fetchall()


def test_wire_sequence(engine: Engine, connect: Any) -> None:
    conn = connect(engine)
    cur = conn.cursor()
    engine.control.clear_calls()
    qid = cur.execute("SELECT * FROM range(5)")
    cur.fetchall()
    calls = engine.control.calls_of()
    assert [c.rpc for c in calls] == [
        "authenticate",
        "prepareStatementV2",
        "executeStatementV2",
        "getResultMetadata",
        "getNextResultBatch",
        "getNextResultBatch",
        "getNextResultBatch",
        "getNextResultBatch",
        "clearOrCancelQuery",
    ]
    assert all(c.headers.get("strategy") == "blue" for c in calls)
    assert all(c.query_id == qid for c in calls[2:])
    assert all(c.headers.get("plannerip") == "127.0.0.1" for c in calls[2:])
    assert engine.service.query_count() == 0  # exhaustion released the query


def test_parameters_standard_quoting(engine: Engine, connect: Any) -> None:
    cur = connect(engine).cursor()
    params = {
        "s": "o'neil \\ \n",
        "n": None,
        "d": Decimal("1.50"),
        "b": b"\x00\xff",
        "day": dt.date(2024, 1, 2),
        "ts": dt.datetime(2024, 1, 2, 3, 4, 5, 6),
        "i": 5,
    }
    cur.execute("SELECT %(s)s, %(n)s, %(d)s, %(b)s, %(day)s, %(ts)s, %(i)s", params)
    assert cur.fetchone() == tuple(params.values())
    cur.execute("SELECT count(*) FROM sample WHERE id IN %s", ([1, 3],))
    assert cur.fetchone() == (2,)
    cur.execute("SELECT 10 % 3")  # no parameters: % is not special
    assert cur.fetchone() == (1,)


def test_v1_path_without_catalog(engine: Engine, connect: Any) -> None:
    conn = connect(engine, catalog=None, database=None)
    cur = conn.cursor()
    engine.control.clear_calls()
    cur.execute("SELECT count(*) FROM sample")
    assert cur.fetchone() == (5,)
    rpcs = [c.rpc for c in engine.control.calls_of()]
    assert "prepareStatement" in rpcs and "executeStatement" in rpcs


def test_schema_listing_defaults(engine: Engine, connect: Any) -> None:
    conn = connect(engine, database="sales")
    assert set(conn.get_schema_names()) >= {"main", "sales"}  # D15: no argument needed
    assert conn.get_tables() == ["orders"]
    assert conn.get_tables(database="main") == ["sample"]
    assert conn.get_columns(table="orders") == [
        {"fieldName": "id", "fieldType": "int"},
        {"fieldName": "total", "fieldType": "decimal(7,2)"},
        {"fieldName": "note", "fieldType": "string"},
    ]
    assert conn.get_catalogs() == [{"name": "e6data", "isDefault": True}]
    cur = conn.cursor()
    assert cur.get_tables() == ["orders"]
    cur.execute("SELECT total FROM orders ORDER BY id")  # database selects the schema
    assert cur.fetchall() == [(Decimal("10.25"),), (Decimal("3.50"),)]


def test_status_explain_clear(engine: Engine, connect: Any) -> None:
    cur = connect(engine).cursor()
    qid = cur.execute("SELECT * FROM sample")
    status = cur.status()
    assert status.status is True and status.rowCount == 5
    assert "SCAN" in cur.explain().upper()
    info = cur.explain_analyse()
    assert set(info) >= {"is_cached", "parsing_time", "queuing_time", "planner"}
    assert "total_query_time" in info["planner_json"]
    cur.clear()
    assert engine.service.query_count() == 0
    engine.control.clear_calls()
    cur.close()
    cur.close()  # idempotent
    assert engine.control.calls_of() == []  # nothing left to clear
    assert qid


def test_close_unused_cursor_sends_nothing(engine: Engine, connect: Any) -> None:
    conn = connect(engine)
    conn.cursor().close()  # D18
    assert engine.control.calls_of() == []
    with pytest.raises(e6.InterfaceError):
        conn.cursor().close() or conn.close() or conn.cursor()


def test_errors_are_pep249(engine: Engine, connect: Any) -> None:
    conn = connect(engine)
    cur = conn.cursor()
    with pytest.raises(e6.ProgrammingError) as err:
        cur.execute("SELEC 1")
    assert err.value.grpc_code == "INTERNAL"
    with pytest.raises(e6.ProgrammingError):
        cur.execute("SELECT * FROM no_such_table")
    with pytest.raises(e6.NotSupportedError):
        conn.rollback()
    cur.execute("SELECT 1")  # still usable
    assert cur.fetchall() == [(1,)]


def test_bad_credentials_then_usable(engine: Engine) -> None:
    conn = e6.connect("127.0.0.1", engine.port, "user", "wrong", catalog="e6data")
    with pytest.raises(e6.AuthenticationError):
        conn.cursor().execute("SELECT 1")
    conn._password = "secret"  # new credentials on the same, still open, connection
    cur = conn.cursor()
    cur.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]
    conn.close()
    engine.control.set(bad_credentials="denied")
    conn = e6.connect("127.0.0.1", engine.port, "user", "wrong", catalog="e6data")
    with pytest.raises(e6.AuthenticationError):
        conn.get_tables()
    conn.close()


def test_constructor_validation() -> None:
    with pytest.raises(e6.InterfaceError):
        e6.connect("", 1, "u", "p")
    with pytest.raises(e6.InterfaceError):
        e6.connect("h", 1, None, None)
    with pytest.raises(e6.NotSupportedError):
        e6.connect("h", 1, "u", "p", access_token="t")
    with pytest.raises(e6.InterfaceError):
        e6.connect(
            "h", 1, "u", "p", grpc_options={"grpc.keepalive_time_ms": 1, "keepalive_time_ms": 2}
        )
    conn = e6.connect("h", 1, "u", "hunter2", grpc_options={"grpc_prepare_timeout": 7})
    assert conn.grpc_prepare_timeout == 7.0
    assert "hunter2" not in repr(conn)  # the password never shows
    assert all("prepare" not in key for key, _ in conn._channel_args)  # no leak into channel


def test_engine_text_modes_decode_the_same(engine: Engine, connect: Any) -> None:
    engine.control.set(decimal_mode="text", interval_mode="string")
    cur = connect(engine).cursor()
    cur.execute("SELECT amount, INTERVAL 2 DAY AS iv FROM sample WHERE id = 1")
    assert cur.fetchall() == [(Decimal("1.50"), "2 days")]


def test_abandoned_cursor_is_released_without_network(engine: Engine, connect: Any) -> None:
    import gc

    conn = connect(engine)
    cur = conn.cursor()
    cur.execute("SELECT * FROM range(10)")
    cur.fetchone()
    assert conn._inflight
    engine.control.clear_calls()
    del cur
    gc.collect()
    assert not conn._inflight  # the connection is idle again (it may adopt a new colour)
    assert engine.control.calls_of() == []  # no RPC during garbage collection


def test_prefetched_stream_of_large_batches(engine: Engine, connect: Any) -> None:
    engine.control.set(batch_size=1000)  # ~110 KB per batch: the prefetch path is used
    conn = connect(engine)
    cur = conn.cursor()
    cur.execute("SELECT i, repeat('x', 100) AS pad FROM range(5000) r(i)")
    seen: list[int] = []
    for batch in cur.fetchall_buffer():
        assert len(batch) == 1000
        seen.extend(r[0] for r in batch)
    assert seen == list(range(5000))
    assert engine.service.query_count() == 0
    cur.execute("SELECT i, repeat('x', 100) AS pad FROM range(5000) r(i)")
    assert len(cur.fetchmany(1500)) == 1500  # a request for the next batch is in flight
    engine.control.set_phase({"green"})
    with pytest.raises(e6.QueryLostError):
        cur.fetchall()
    assert not conn._inflight


def test_closing_the_connection_under_a_cursor(engine: Engine, connect: Any) -> None:
    conn = connect(engine)
    cur = conn.cursor()
    cur.execute("SELECT * FROM range(10)")
    conn.close()
    with pytest.raises(e6.InterfaceError):
        cur.fetchall()
    with pytest.raises(e6.InterfaceError):
        cur.execute("SELECT 1")
