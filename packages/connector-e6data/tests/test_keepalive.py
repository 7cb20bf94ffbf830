"""Idle connections survive the client's 30 s keepalive pings (slow: opt-in)."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from awsdb_e6data.engine import Engine

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("E6DATA_SLOW_TESTS") != "1", reason="idles 100 s; set E6DATA_SLOW_TESTS=1"
    ),
]


def test_idle_100s_both_clients(engine: Engine, connect: Any) -> None:
    e6grpc = pytest.importorskip("e6data_python_connector.e6data_grpc")
    ours = connect(engine).cursor()
    theirs_conn = e6grpc.Connection(
        host="127.0.0.1",
        port=engine.port,
        username="user",
        password="secret",
        catalog="e6data",
        database="main",
    )
    theirs = theirs_conn.cursor(catalog_name="e6data", db_name="main")
    try:
        ours.execute("SELECT 1")
        theirs.execute("SELECT 1")
        theirs.fetchall()
        time.sleep(100)
        ours.execute("SELECT 2")
        assert ours.fetchall() == [(2,)]
        theirs.execute("SELECT 2")
        assert theirs.fetchall() == [[2]]
        assert len(engine.control.calls_of("authenticate")) == 2  # no reconnect/re-auth
    finally:
        theirs_conn.close()
