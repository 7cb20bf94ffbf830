"""aurora_connection_tracker and the default chain on a real emulated Aurora PostgreSQL cluster."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb._service import get_services
from awsdb_failover import tracked_connections
from awsdb_testing.model import TopologyRow
from awsdb_testing.pg import PgCluster

pytestmark = pytest.mark.pg

FAST = {"topology_refresh_ms": 300, "failover_timeout_sec": 30}
_WAIT_S = 30.0


def _connect(cluster: PgCluster, **kw: Any) -> Any:
    props = {**FAST, **kw}
    return awsdb.connect(
        psycopg.Connection.connect,
        f"host={cluster.names.writer_endpoint} port={cluster.nodes[0].port} user=app dbname=app",
        autocommit=True,
        **props,
    )


def _url(cluster: PgCluster, instance_id: str) -> str:
    return f"{cluster.names.instance(instance_id)}:{cluster.nodes[0].port}"


def _wait_until(check: Callable[[], bool], what: str) -> float:
    """Seconds until ``check()`` held (polled); fails after a generous bound."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > _WAIT_S:
            pytest.fail(f"not within {_WAIT_S:g} s: {what}")
        time.sleep(0.01)
    return time.monotonic() - started


def _backends(cluster: PgCluster, instance_id: str, application: str) -> int:
    with cluster.superuser_connect(instance_id) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE application_name = %s",
            (application,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_default_chain_is_initial_connection_tracker_failover() -> None:
    services = get_services()
    codes = services.plugins.default_codes()
    resolved = [r.code for r in services.plugins.resolve(codes, auto_sort=True)]
    assert resolved[:3] == ["initial_connection", "aurora_connection_tracker", "failover"]
    assert set(resolved) <= {"initial_connection", "aurora_connection_tracker", "failover", "efm"}


def test_connections_to_a_demoted_writer_are_aborted_while_the_server_lives(
    cluster: PgCluster,
) -> None:
    """The topology names a new writer while every server still runs: the tracker alone
    (no failover in the chain) shuts the idle connections to the old writer down."""
    conns = [
        _connect(
            cluster,
            plugins="aurora_connection_tracker",
            application_name="tracked",
            **{"topology-monitoring-application_name": "monitor"},
        )
        for _ in range(5)
    ]
    try:
        assert tracked_connections(get_services()) == {_url(cluster, "instance-1"): 5}
        assert _backends(cluster, "instance-1", "tracked") == 5
        cluster.set_topology_static(
            [
                TopologyRow("instance-1", False),
                TopologyRow("instance-2", True),
                TopologyRow("instance-3", False),
            ]
        )
        _wait_until(
            lambda: _backends(cluster, "instance-1", "tracked") == 0,
            "the old writer's connections are gone on the server",
        )
        assert tracked_connections(get_services()) == {}
        for conn in conns:
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")
    finally:
        for conn in conns:
            conn.close()


def test_default_chain_sigkill_failover_retires_the_old_writer_connections(
    cluster: PgCluster,
) -> None:
    awsdb.release_resources()
    gc.collect()
    threads = threading.active_count()
    conns = [_connect(cluster) for _ in range(5)]  # no plugins=: the default chain
    try:
        chain = [type(p).__name__ for p in conns[0].plugin_service.plugins]
        assert chain[:3] == [
            "InitialConnectionPlugin",
            "AuroraConnectionTrackerPlugin",
            "FailoverPlugin",
        ]
        services = get_services()
        assert tracked_connections(services) == {_url(cluster, "instance-1"): 5}
        cluster.failover(target="instance-2")
        _wait_until(
            lambda: _url(cluster, "instance-1") not in tracked_connections(services),
            "the tracker retired the old writer's connections",
        )
        for conn in conns:
            with pytest.raises(awsdb.FailoverSuccessError):
                conn.execute("SELECT 1")
            row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
            assert row == ("instance-2",)
        assert tracked_connections(services) == {_url(cluster, "instance-2"): 5}
    finally:
        for conn in conns:
            conn.close()
    assert tracked_connections(get_services()) == {}
    awsdb.release_resources()
    gc.collect()
    assert threading.active_count() == threads
