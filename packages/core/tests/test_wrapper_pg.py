"""Every DB-API entry point over a real PostgreSQL goes through its plugin chain."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from _plugins import Recorder

import awsdb
from awsdb.errors import InterfaceError, NotSupportedError


@pytest.fixture
def recorded(pg_server: Any) -> Any:
    awsdb.register_plugin(Recorder, code="recorder", weight=10)
    conn = awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="recorder")
    yield conn, conn.plugin_service.plugins[0]
    conn.close()


def test_connect_goes_through_the_connect_chain(recorded: Any) -> None:
    _, rec = recorded
    assert rec.calls == ["connect"]


def test_connection_entry_points(recorded: Any) -> None:
    conn, rec = recorded
    rec.calls.clear()
    assert conn.autocommit is False
    conn.autocommit = True
    conn.set_autocommit(False)
    assert conn.read_only is False
    conn.read_only = True
    conn.set_read_only(False)
    cur = conn.cursor()
    conn.commit()
    conn.rollback()
    shortcut = conn.execute("SELECT 41 + 1")
    assert isinstance(shortcut, awsdb.AwsWrapperCursor)
    assert shortcut.fetchone() == (42,)
    assert rec.calls == [
        "Connection.autocommit",
        "Connection.autocommit.set",
        "Connection.autocommit.set",
        "Connection.read_only",
        "Connection.read_only.set",
        "Connection.read_only.set",
        "Connection.cursor",
        "Connection.commit",
        "Connection.rollback",
        "Connection.execute",
        "Cursor.fetchone",
    ]
    cur.close()


def test_cursor_entry_points(recorded: Any) -> None:
    conn, rec = recorded
    cur = conn.cursor()
    rec.calls.clear()
    assert cur.execute("CREATE TEMP TABLE t (id int PRIMARY KEY, v text)") is cur
    cur.executemany("INSERT INTO t VALUES (%s, %s)", [(1, "a"), (2, "b"), (3, "c")])
    assert cur.execute("SELECT id, v FROM t ORDER BY id").fetchone() == (1, "a")
    assert cur.fetchmany(1) == [(2, "b")]
    assert cur.fetchall() == [(3, "c")]
    cur.execute("SELECT id FROM t ORDER BY id")
    assert [r[0] for r in cur] == [1, 2, 3]
    assert [d.name for d in cur.description] == ["id"]
    assert cur.rowcount == 3
    assert cur.lastrowid is None  # psycopg has no row ids
    cur.arraysize = 7
    assert cur.arraysize == 7
    cur.setinputsizes([None])
    cur.setoutputsize(10)
    assert cur.nextset() is None
    with pytest.raises(NotSupportedError, match="callproc"):
        cur.callproc("now")
    with cur as same:
        assert same is cur
    assert cur.closed
    expected = [
        "Cursor.execute",
        "Cursor.executemany",
        "Cursor.execute",
        "Cursor.fetchone",
        "Cursor.fetchmany",
        "Cursor.fetchall",
        "Cursor.execute",
        "Cursor.__next__",
        "Cursor.__next__",
        "Cursor.__next__",
        "Cursor.__next__",  # StopIteration also passes through the chain
        "Cursor.description",
        "Cursor.rowcount",
        "Cursor.lastrowid",
        "Cursor.arraysize.set",
        "Cursor.arraysize",
        "Cursor.setinputsizes",
        "Cursor.setoutputsize",
        "Cursor.nextset",
        "Cursor.callproc",
        "Cursor.__enter__",
        "Cursor.__exit__",
    ]
    assert rec.calls == expected


def test_two_phase_commit_goes_through_chains(recorded: Any, pg_server: Any) -> None:
    conn, rec = recorded
    rec.calls.clear()
    xid = conn.xid(1, "awsdb-gtrid", "bq")
    conn.tpc_begin(xid)
    conn.cursor().execute("SELECT 1")
    conn.tpc_prepare()
    with psycopg.connect(pg_server.dsn) as other:
        assert any(x.gtrid == "awsdb-gtrid" for x in other.tpc_recover())
    conn.tpc_commit()
    assert conn.tpc_recover() == []
    conn.rollback()
    assert [c for c in rec.calls if c.startswith("Connection.tpc") or c == "Connection.xid"] == [
        "Connection.xid",
        "Connection.tpc_begin",
        "Connection.tpc_prepare",
        "Connection.tpc_commit",
        "Connection.tpc_recover",
    ]


def test_context_manager_commits_and_closes(pg_server: Any) -> None:
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="") as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS ctx_t (v int)")
        conn.execute("INSERT INTO ctx_t VALUES (7)")
    assert conn.closed
    with psycopg.connect(pg_server.dsn) as raw:
        assert raw.execute("SELECT count(*) FROM ctx_t WHERE v = 7").fetchone() == (1,)
        raw.execute("DROP TABLE ctx_t")


def test_driver_exceptions_pass_through_unchanged(pg_server: Any) -> None:
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="execute_time") as c:
        c.execute("CREATE TEMP TABLE u (id int PRIMARY KEY)")
        c.execute("INSERT INTO u VALUES (1)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            c.execute("INSERT INTO u VALUES (1)")
        c.rollback()
        with pytest.raises(psycopg.errors.DivisionByZero):
            c.cursor().execute("SELECT 1 / 0")


def test_no_plugins_binds_driver_fetch_methods(pg_server: Any) -> None:
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="") as conn:
        cur = conn.cursor()
        assert conn.plugin_service.chains == {}
        # the driver's own bound methods: no wrapper frame on the fetch path
        assert cur.fetchone.__self__ is cur.target_cursor
        assert cur.execute("SELECT 1").fetchall() == [(1,)]


def test_cursor_after_switch_raises_clear_error(pg_server: Any) -> None:
    conn = awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="")
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        service = conn.plugin_service
        old_raw = conn.target_connection
        service.replace_connection(psycopg.connect(pg_server.dsn), service.current_host)
        assert old_raw.closed  # the replaced connection is disposed of
        with pytest.raises(InterfaceError, match="replaced"):
            cur.fetchall()
        with pytest.raises(InterfaceError, match="replaced"):
            cur.execute("SELECT 1")
        assert conn.cursor().execute("SELECT 2").fetchone() == (2,)
    finally:
        conn.close()


def test_closed_connection_rejects_new_cursors(pg_server: Any) -> None:
    conn = awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="")
    conn.close()
    conn.close()  # idempotent
    assert conn.closed
    with pytest.raises(InterfaceError):
        conn.cursor()


def test_unknown_attributes_forward_to_driver(pg_server: Any) -> None:
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="") as conn:
        assert conn.info.server_version >= 150000
        assert conn.pgconn is conn.target_connection.pgconn


def test_aws_wrapper_compatible_entry(pg_server: Any) -> None:
    conn = awsdb.AwsWrapperConnection.connect(
        psycopg.Connection.connect, pg_server.dsn, plugins="", autocommit=True
    )
    with conn:
        assert conn.autocommit is True
        assert conn.execute("SELECT current_user").fetchone() == ("app",)


def test_database_dialect_is_detected_on_first_use_only(pg_server: Any) -> None:
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="") as conn:
        service = conn.plugin_service
        assert service._database_dialect is None  # no probe at connect
        assert service.database_dialect.code == "pg"
        assert not service.in_transaction()
    with awsdb.connect(
        psycopg.Connection.connect, pg_server.dsn, plugins="", wrapper_dialect="aurora-pg"
    ) as conn:
        assert conn.plugin_service.database_dialect.code == "aurora-pg"
