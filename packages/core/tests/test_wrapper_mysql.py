"""The wrapper over mysql-connector-python against a real MariaDB."""

from __future__ import annotations

from typing import Any

import mysql.connector
import pytest
from _plugins import Recorder

import awsdb


@pytest.fixture
def conn(mysql_server: Any) -> Any:
    awsdb.register_plugin(Recorder, code="recorder", weight=10)
    c = awsdb.connect(mysql.connector.connect, mysql_server.dsn, plugins="recorder")
    yield c
    c.close()


def test_execute_fetch_and_callproc_with_positional_args(conn: Any) -> None:
    rec = conn.plugin_service.plugins[0]
    cur = conn.cursor()
    cur.execute("DROP PROCEDURE IF EXISTS add_two")
    cur.execute("CREATE PROCEDURE add_two(IN a INT, IN b INT, OUT s INT) BEGIN SET s = a + b; END")
    rec.calls.clear()
    result = cur.callproc("add_two", (2, 40, 0))
    assert tuple(result)[2] == 42
    assert rec.calls == ["Cursor.callproc"]
    assert cur.execute("SELECT 1, %s", ("x",)).fetchall() == [(1, "x")]


def test_connection_execute_shortcut_and_transactions(conn: Any) -> None:
    cur = conn.execute("CREATE TEMPORARY TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB")
    assert isinstance(cur, awsdb.AwsWrapperCursor)
    conn.cursor().execute("INSERT INTO t VALUES (1)")
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    conn.cursor().execute("INSERT INTO t VALUES (2)")
    conn.commit()
    assert conn.execute("SELECT id FROM t").fetchall() == [(2,)]


def test_read_only_flag_is_applied_on_the_server(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("CREATE TABLE IF NOT EXISTS ro_t (id INT) ENGINE=InnoDB")
    conn.read_only = True
    assert conn.read_only is True
    with pytest.raises(mysql.connector.Error) as info:
        cur.execute("INSERT INTO ro_t VALUES (1)")
    assert conn.plugin_service.is_read_only_error(info.value)
    conn.rollback()
    conn.read_only = False
    cur.execute("INSERT INTO ro_t VALUES (1)")
    conn.commit()
    cur.execute("DROP TABLE ro_t")


def test_driver_errors_pass_through(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("CREATE TEMPORARY TABLE dup (id INT PRIMARY KEY)")
    cur.execute("INSERT INTO dup VALUES (1)")
    with pytest.raises(mysql.connector.errors.IntegrityError) as info:
        cur.execute("INSERT INTO dup VALUES (1)")
    assert info.value.errno == 1062
