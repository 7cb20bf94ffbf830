"""stale_dns with mysql-connector (pure Python) on the emulated Aurora MySQL cluster whose
writer endpoint still resolves to the old writer after a failover."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import mysql.connector
import pytest

import awsdb

pytestmark = pytest.mark.mysql


@pytest.fixture
def cluster(fresh_mdb_cluster: Any) -> Iterator[Any]:
    with fresh_mdb_cluster.install_names():
        yield fresh_mdb_cluster


def _recording_target(opened: list[Any]) -> Callable[..., Any]:
    """mysql-connector's connect, recording the connections opened on the test thread."""
    caller = threading.get_ident()

    def connect(*args: Any, **kwargs: Any) -> Any:
        conn = mysql.connector.connect(*args, **kwargs)
        if threading.get_ident() == caller:
            opened.append((conn, conn.connection_id))
        return conn

    return connect


def _connect(cluster: Any, target: Callable[..., Any], plugins: str) -> Any:
    password = cluster.app_conninfo_kwargs(1)["password"]
    return awsdb.connect(
        target,
        f"mysql://app:{password}@{cluster.writer_endpoint}:{cluster.port}/appdb",
        wrapper_driver_dialect="mysql-connector-python",
        plugins=plugins,
        autocommit=True,
        topology_refresh_ms=500,
    )


def _one(conn: Any, sql: str) -> Any:
    cur = conn.cursor()
    cur.execute(sql)
    (row,) = cur.fetchall()
    cur.close()
    return row[0]


def _stale_after_failover(cluster: Any) -> None:
    cluster.failover(target=2)
    cluster.rejoin(1)
    cluster.point_writer_endpoint(1)  # the DNS answer of the old writer


def test_mysql_without_stale_dns_lands_on_the_old_writer(cluster: Any) -> None:
    _stale_after_failover(cluster)
    conn = _connect(cluster, mysql.connector.connect, "")
    try:
        assert _one(conn, "SELECT @@aurora_server_id") == "instance-1"
        cur = conn.cursor()
        with pytest.raises(mysql.connector.Error) as caught:
            cur.execute("CREATE TABLE stale_dns_probe (v INT)")
        assert caught.value.errno == 1290  # --read-only
        cur.close()
    finally:
        conn.close()


def test_mysql_stale_dns_lands_on_the_new_writer(cluster: Any) -> None:
    _stale_after_failover(cluster)
    opened: list[Any] = []
    conn = _connect(cluster, _recording_target(opened), "stale_dns")
    try:
        assert _one(conn, "SELECT @@aurora_server_id") == "instance-2"
        cur = conn.cursor()
        cur.execute("CREATE TABLE stale_dns_probe (v INT)")
        cur.close()
        assert len(opened) == 2
        first, first_id = opened[0]
        assert not first.is_connected()
        # server side: the first connection's session on the old writer is gone
        root = cluster.superuser_connect(1)
        try:
            count = _one(
                root, f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {first_id}"
            )
        finally:
            root.close()
        assert count == 0
    finally:
        conn.close()
