"""Failover with mysql-connector (pure Python) on the emulated Aurora MySQL cluster
(MariaDB GTID replication behind rewriting proxies)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mysql.connector
import pytest

import awsdb
from awsdb._service import get_services

pytestmark = pytest.mark.mysql


@pytest.fixture
def cluster(fresh_mdb_cluster: Any) -> Iterator[Any]:
    with fresh_mdb_cluster.install_names():
        yield fresh_mdb_cluster


def _server_id(conn: Any) -> str:
    cur = conn.cursor()
    cur.execute("SELECT @@aurora_server_id")
    (row,) = cur.fetchall()
    cur.close()
    return str(row[0])


def test_mysql_failover_to_the_new_writer(cluster: Any) -> None:
    password = cluster.app_conninfo_kwargs(1)["password"]
    conn = awsdb.connect(
        mysql.connector.connect,
        f"mysql://app:{password}@{cluster.writer_endpoint}:{cluster.port}/appdb",
        plugins="failover",
        autocommit=True,
        failover_timeout_sec=30,
        topology_refresh_ms=500,
    )
    try:
        assert _server_id(conn) == "instance-1"
        assert len(get_services().monitors) == 1
        cluster.failover(target=2)
        with pytest.raises(awsdb.FailoverSuccessError):
            _server_id(conn)
        assert _server_id(conn) == "instance-2"
        assert conn.autocommit is True
        cur = conn.cursor()
        cur.execute("CREATE TABLE IF NOT EXISTS fo_mysql (v INT)")  # the new writer writes
        cur.close()
    finally:
        conn.close()
