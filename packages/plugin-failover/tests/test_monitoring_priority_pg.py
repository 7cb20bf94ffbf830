"""``monitoring_connection_priority`` on a real emulated Aurora PostgreSQL cluster.

``strict-reader`` first: the topology monitor starts on the writer it verifies, then moves
its connection to a reader (checked on the servers: the reader holds the monitor's session,
the writer only the application's); failover still finds the new writer, and the monitor
moves to a reader again. The default (``strict-writer``) stays on the writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb.errors import FailoverSuccessError
from awsdb.hosts import HostRole
from awsdb.topology import TopologyMonitor
from awsdb_testing.pg import PgCluster

pytestmark = pytest.mark.pg

FAST = {"topology_refresh_ms": 100, "failover_timeout_sec": 30, "autocommit": True}


def _connect(cluster: PgCluster, **kw: Any) -> Any:
    host = cluster.names.writer_endpoint
    return awsdb.connect(
        psycopg.Connection.connect,
        f"host={host} port={cluster.nodes[0].port} user=app dbname=app connect_timeout=3",
        plugins="failover",
        **{**FAST, **kw},
    )


def _monitor(conn: Any) -> TopologyMonitor:
    provider = conn.plugin_service.host_provider
    assert provider is not None and provider.monitor is not None
    monitor: TopologyMonitor = provider.monitor
    return monitor


def _role_of_monitoring_host(monitor: TopologyMonitor) -> HostRole | None:
    host = monitor.monitoring_host
    if host is None:
        return None
    return next((h.role for h in monitor.hosts if h.url == host.url), None)


def _app_sessions(cluster: PgCluster, instance_id: str) -> int:
    with cluster.superuser_connect(instance_id) as su:
        row = su.execute(
            "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE usename = 'app'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached: {what}")
        time.sleep(0.02)


def _instance(monitor: TopologyMonitor) -> str:
    host = monitor.monitoring_host
    assert host is not None
    return host.host.split(".")[0]


def test_strict_reader_moves_the_monitor_to_a_reader(cluster: PgCluster) -> None:
    conn = _connect(cluster, monitoring_connection_priority="strict-reader,strict-writer")
    try:
        monitor = _monitor(conn)
        _eventually(
            lambda: _role_of_monitoring_host(monitor) is HostRole.READER, "monitor on a reader"
        )
        reader = _instance(monitor)
        writer = cluster.writer().instance_id
        assert reader != writer
        # server side: the reader holds the monitor's session; the writer has the
        # application's connection and nothing else of awsdb's
        # (eventually: the first search's probe sessions end a moment after their close)
        _eventually(lambda: _app_sessions(cluster, writer) == 1, "one session on the writer")
        _eventually(lambda: _app_sessions(cluster, reader) == 1, "the monitor's on the reader")
        version = monitor.version
        old = writer
        report = cluster.failover()
        with pytest.raises(FailoverSuccessError):
            conn.execute("SELECT 1")
        row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
        assert row == (report.new_writer,) and report.new_writer != old
        # the writer is handed over first; its topology is published a round trip later
        _eventually(lambda: monitor.version > version, "the new topology published")
        _eventually(
            lambda: _role_of_monitoring_host(monitor) is HostRole.READER,
            "monitor on a reader after the failover",
        )
        assert _instance(monitor) != report.new_writer
    finally:
        conn.close()


def test_default_priority_stays_on_the_writer(cluster: PgCluster) -> None:
    conn = _connect(cluster)
    try:
        monitor = _monitor(conn)
        _eventually(lambda: monitor.monitoring_host is not None, "a monitoring connection")
        deadline = time.monotonic() + 1.0  # ten refreshes
        while time.monotonic() < deadline:
            assert _role_of_monitoring_host(monitor) in (HostRole.WRITER, None)
            time.sleep(0.05)
        assert _instance(monitor) == cluster.writer().instance_id
        _eventually(
            lambda: all(_app_sessions(cluster, r.instance_id) == 0 for r in cluster.readers()),
            "no session on the readers",
        )
    finally:
        conn.close()
