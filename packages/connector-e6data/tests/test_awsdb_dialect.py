"""awsdb_e6data as a target driver under awsdb (driver dialect found by entry point)."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

import awsdb_e6data as e6
from awsdb_e6data.engine import Engine

awsdb = pytest.importorskip("awsdb")
drivers = pytest.importorskip("awsdb.drivers")


def test_connect_through_awsdb_with_a_plugin(engine: Engine) -> None:
    conn = awsdb.connect(
        e6.connect,
        host="127.0.0.1",
        port=engine.port,
        user="user",
        password="secret",
        catalog="e6data",
        dbname="sales",
        plugins="execute_time",
    )
    try:
        cur = conn.cursor()
        cur.execute("SELECT total FROM orders WHERE id = %(id)s", {"id": 1})
        assert [tuple(r) for r in cur.fetchall()] == [(Decimal("10.25"),)]
    finally:
        conn.close()
    assert engine.control.calls_of("prepareStatementV2")[0].headers["strategy"] == "blue"


def test_dialect_is_registered_by_entry_point() -> None:
    registry = drivers.DriverRegistry()
    assert "e6data" in registry.codes()
    dialect = registry.for_target(e6.connect)
    assert dialect.code == "e6data" and dialect.threadsafety == 2
    kinds = drivers.ErrorKind
    assert dialect.classify(e6.QueryCancelledError("x")) is kinds.TIMEOUT
    assert dialect.classify(e6.AuthenticationError("x")) is kinds.LOGIN
    assert dialect.classify(e6.OperationalError("x", grpc_code="UNAVAILABLE")) is kinds.NETWORK
    assert dialect.classify(e6.QueryLostError("x", grpc_code="UNKNOWN")) is kinds.OTHER
    assert dialect.classify(e6.ProgrammingError("x")) is kinds.OTHER
    assert issubclass(dialect.failover_errors().success, e6.OperationalError)


def test_abort_cancels_a_blocked_query(engine: Engine, connect: Any) -> None:
    dialect = drivers.DriverRegistry().get("e6data")
    conn = connect(engine)
    cur = conn.cursor()

    def abort_when_running() -> None:
        if engine.control.wait_for_call("executeStatementV2"):
            dialect.abort(conn)

    threading.Thread(target=abort_when_running).start()
    with pytest.raises(e6.QueryCancelledError):
        cur.execute("SELECT sleep_ms(600000)")  # never finishes by itself
    assert engine.control.interrupted == [cur.query_id]
    assert not dialect.is_closed(conn)  # abort never closes: the owner does
    cur.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]
    with pytest.raises(awsdb.errors.UnsupportedOperationError):
        dialect.set_autocommit(conn, False)
