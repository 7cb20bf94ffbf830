"""initial_connection on a real emulated Aurora PostgreSQL cluster."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import awsdb
from awsdb._service import get_services
from awsdb.hosts import HostRole
from awsdb.resolver import get_resolver
from awsdb_failover import tracked_connections
from awsdb_failover._initial_connection import roles_for
from awsdb_testing.pg import PgCluster

pytestmark = pytest.mark.pg

FAST = {"topology_refresh_ms": 500, "failover_timeout_sec": 30}


def _connect(cluster: PgCluster, endpoint: str, **kw: Any) -> Any:
    props = {**FAST, **kw}
    return awsdb.connect(
        psycopg.Connection.connect,
        f"host={endpoint} port={cluster.nodes[0].port} user=app dbname=app",
        autocommit=True,
        **props,
    )


def _server_id(conn: Any) -> str:
    row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
    return str(row[0])


def test_writer_endpoint_resolving_to_a_reader_lands_on_the_writer(cluster: PgCluster) -> None:
    reader = cluster.node("instance-3")
    get_resolver().set(cluster.names.writer_endpoint, reader.host)  # a stale DNS answer
    first = _connect(cluster, cluster.names.writer_endpoint, plugins="initial_connection")
    try:
        assert _server_id(first) == "instance-1"
        host = first.plugin_service.current_host
        assert host.host == cluster.names.instance("instance-1")
        assert host.role is HostRole.WRITER
        # the topology is known now: the next connection goes to the writer directly
        second = _connect(cluster, cluster.names.writer_endpoint, plugins="initial_connection")
        try:
            assert _server_id(second) == "instance-1"
        finally:
            second.close()
    finally:
        first.close()


def test_reader_endpoint_lands_on_a_verified_reader(cluster: PgCluster) -> None:
    conns = [
        _connect(
            cluster,
            cluster.names.reader_endpoint,
            plugins="initial_connection",
            initial_connection_host_selector_strategy="round_robin",
        )
        for _ in range(4)
    ]
    try:
        seen = set()
        for conn in conns:
            assert conn.execute("SELECT pg_catalog.pg_is_in_recovery()").fetchone() == (True,)
            host = conn.plugin_service.current_host
            assert host.role is HostRole.READER
            seen.add(_server_id(conn))
        assert seen == {"instance-2", "instance-3"}  # round robin over both readers
    finally:
        for conn in conns:
            conn.close()


def test_reader_endpoint_resolving_to_the_writer_lands_on_a_reader(cluster: PgCluster) -> None:
    get_resolver().set(cluster.names.reader_endpoint, cluster.node("instance-1").host)
    conn = _connect(cluster, cluster.names.reader_endpoint, plugins="initial_connection")
    try:
        assert _server_id(conn) in {"instance-2", "instance-3"}
    finally:
        conn.close()


def test_default_chain_lands_on_the_instance_and_the_tracker_needs_no_query(
    cluster: PgCluster,
) -> None:
    get_resolver().set(cluster.names.writer_endpoint, cluster.node("instance-2").host)
    conn = _connect(cluster, cluster.names.writer_endpoint)  # the default chain
    try:
        chain = [type(p).__name__ for p in conn.plugin_service.plugins]
        assert chain[:3] == [
            "InitialConnectionPlugin",
            "AuroraConnectionTrackerPlugin",
            "FailoverPlugin",
        ]
        assert _server_id(conn) == "instance-1"
        url = f"{cluster.names.instance('instance-1')}:{cluster.nodes[0].port}"
        assert tracked_connections(get_services()) == {url: 1}
        cluster.failover(target="instance-2")
        with pytest.raises(awsdb.FailoverSuccessError):
            conn.execute("SELECT 1")
        assert _server_id(conn) == "instance-2"
    finally:
        conn.close()


def test_no_writer_within_the_budget_connects_as_written(cluster: PgCluster) -> None:
    cluster.kill("instance-1")
    get_resolver().set(cluster.names.writer_endpoint, cluster.node("instance-2").host)
    conn = _connect(
        cluster,
        cluster.names.writer_endpoint,
        plugins="initial_connection",
        open_connection_retry_timeout_ms=600,
        open_connection_retry_interval_ms=100,
    )
    try:
        assert _server_id(conn) == "instance-2"  # no writer anywhere: as written
    finally:
        conn.close()


def test_substitution_roles_by_endpoint_type() -> None:
    class _Props(dict[str, Any]):
        pass

    writer = "db.cluster-abc.us-east-1.rds.amazonaws.com"
    reader = "db.cluster-ro-abc.us-east-1.rds.amazonaws.com"
    instance = "db-1.abc.us-east-1.rds.amazonaws.com"
    assert roles_for(_Props(), writer) == ("writer", "writer")
    assert roles_for(_Props(), reader) == ("reader", "reader")
    assert roles_for(_Props(), instance) == ("none", "none")
    assert roles_for(_Props(), "10.0.0.1") == ("none", "none")
    with pytest.raises(awsdb.ProgrammingError, match="endpoint_substitution_role"):
        roles_for(_Props(endpoint_substitution_role="reader"), writer)
    with pytest.raises(awsdb.ProgrammingError, match="endpoint_substitution_role"):
        roles_for(_Props(endpoint_substitution_role="writer"), instance)
