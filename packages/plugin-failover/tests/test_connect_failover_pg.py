"""``enable_connect_failover`` on a real emulated Aurora PostgreSQL cluster.

The writer endpoint is pointed at the crashed old writer after a failover (a cluster name
that still resolves to a dead instance): a new connection through it is refused. With
``enable_connect_failover`` the initial connect fails over to the verified new writer,
provided the process already knows the cluster's topology; without it, or without a known
topology, the connect error is raised as it is.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import awsdb
from awsdb.errors import FailoverSuccessError
from awsdb_testing.pg import PgCluster

pytestmark = pytest.mark.pg

FAST = {"topology_refresh_ms": 200, "failover_timeout_sec": 30, "autocommit": True}


def _connect(cluster: PgCluster, plugins: str = "failover", **kw: Any) -> Any:
    host = cluster.names.writer_endpoint
    return awsdb.connect(
        psycopg.Connection.connect,
        f"host={host} port={cluster.nodes[0].port} user=app dbname=app connect_timeout=3",
        plugins=plugins,
        **{**FAST, **kw},
    )


def _server_id(conn: Any) -> str:
    row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
    return str(row[0])


def _dead_endpoint(cluster: PgCluster) -> tuple[str, str]:
    """Fail the writer over, then point the writer endpoint at the crashed old writer."""
    old = cluster.writer().instance_id
    report = cluster.failover()
    cluster.point_writer_endpoint(old, delay_s=0)
    return old, report.new_writer


def test_initial_connect_fails_over_to_the_new_writer(cluster: PgCluster) -> None:
    first = _connect(cluster)  # the process learns the cluster's topology
    try:
        old, new = _dead_endpoint(cluster)
        with pytest.raises(FailoverSuccessError):
            first.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError):
            _connect(cluster).close()  # the endpoint names the dead instance
        conn = _connect(cluster, enable_connect_failover=True)
        try:
            assert _server_id(conn) == new != old
            row = conn.execute("SELECT pg_catalog.pg_is_in_recovery()").fetchone()
            assert row == (False,)
            host = conn.plugin_service.current_host
            assert host is not None and host.host.startswith(f"{new}.")
            conn.execute("CREATE TABLE IF NOT EXISTS connect_fo (v int)")
            conn.execute("INSERT INTO connect_fo VALUES (1)")
        finally:
            conn.close()
    finally:
        first.close()


def test_connect_failover_with_the_default_chain(cluster: PgCluster) -> None:
    first = _connect(cluster, plugins="initial_connection,aurora_connection_tracker,failover")
    try:
        old, new = _dead_endpoint(cluster)
        conn = _connect(
            cluster,
            plugins="initial_connection,aurora_connection_tracker,failover",
            enable_connect_failover=True,
        )
        try:
            assert _server_id(conn) == new != old
        finally:
            conn.close()
    finally:
        first.close()


def test_without_a_known_topology_the_connect_error_is_raised(cluster: PgCluster) -> None:
    _dead_endpoint(cluster)
    with pytest.raises(psycopg.OperationalError) as info:
        _connect(cluster, enable_connect_failover=True)
    notes = getattr(info.value, "__notes__", [])
    assert any("no topology of this cluster is known" in n for n in notes)
