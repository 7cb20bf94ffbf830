"""Failover on a real emulated Aurora PostgreSQL cluster (streaming replication, SIGKILL).

The cluster's Aurora-shaped names are installed in the resolver, so awsdb connects to
``<name>.cluster-<hash>.us-east-1.rds.amazonaws.com`` exactly as an application would.
"""

from __future__ import annotations

import gc
import logging
import threading
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb._service import get_services
from awsdb_testing.pg import PgCluster

pytestmark = pytest.mark.pg

FAST = {"topology_refresh_ms": 500, "failover_timeout_sec": 30}


def _connect(cluster: PgCluster, endpoint: str | None = None, **kw: Any) -> Any:
    host = endpoint or cluster.names.writer_endpoint
    props = {**FAST, **kw}
    return awsdb.connect(
        psycopg.Connection.connect,
        f"host={host} port={cluster.nodes[0].port} user=app dbname=app",
        plugins=props.pop("plugins", "failover"),
        **props,
    )


def _server_id(conn: Any) -> str:
    row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
    return str(row[0])


def _setup_table(cluster: PgCluster) -> None:
    with psycopg.connect(**cluster.app_conninfo_kwargs(cluster.writer()), autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS fo (id int PRIMARY KEY, v text)")
        c.execute("TRUNCATE fo")


def test_failover_to_the_new_writer_raises_success_and_the_connection_works(
    cluster: PgCluster, caplog: pytest.LogCaptureFixture
) -> None:
    conn = _connect(cluster, autocommit=True)
    try:
        assert _server_id(conn) == "instance-1"
        monitors = get_services().monitors
        assert len(monitors) == 1
        with caplog.at_level(logging.INFO, logger="awsdb.failover"):
            cluster.failover(target="instance-2")
            with pytest.raises(awsdb.FailoverSuccessError) as info:
                conn.execute("SELECT 1")
        assert isinstance(info.value.__cause__, psycopg.OperationalError)
        assert _server_id(conn) == "instance-2"
        assert conn.autocommit is True  # session state carried over
        assert conn.read_only is False
        conn.execute("CREATE TABLE IF NOT EXISTS fo_after (v int)")  # writable
        assert any("failover of" in r.getMessage() for r in caplog.records)
        assert "instance-2" in conn.plugin_service.current_host.host
    finally:
        conn.close()


def test_open_transaction_is_reported_unknown(cluster: PgCluster) -> None:
    _setup_table(cluster)
    conn = _connect(cluster)
    try:
        conn.execute("INSERT INTO fo VALUES (1, 'in flight')")
        cluster.failover(target="instance-3")
        with pytest.raises(awsdb.TransactionResolutionUnknownError):
            conn.execute("INSERT INTO fo VALUES (2, 'next')")
        # the rolled-back transaction is not there; the connection is on the new writer
        assert conn.execute("SELECT count(*) FROM fo").fetchone() == (0,)
        assert _server_id(conn) == "instance-3"
    finally:
        conn.close()


def test_commit_during_failover_is_ambiguous(cluster: PgCluster) -> None:
    _setup_table(cluster)
    conn = _connect(cluster)
    try:
        conn.execute("INSERT INTO fo VALUES (1, 'x')")
        cluster.failover(target="instance-2")
        with pytest.raises(awsdb.TransactionResolutionUnknownError):
            conn.commit()
        assert _server_id(conn) == "instance-2"
    finally:
        conn.close()


def test_second_and_third_failover_on_the_same_connection(cluster: PgCluster) -> None:
    conn = _connect(cluster, autocommit=True)
    try:
        seen = [_server_id(conn)]
        for target in ("instance-2", "instance-3"):
            cluster.failover(target=target)
            with pytest.raises(awsdb.FailoverSuccessError):
                conn.execute("SELECT 1")
            seen.append(_server_id(conn))
        assert seen == ["instance-1", "instance-2", "instance-3"]
    finally:
        conn.close()


def test_cursor_of_the_failed_connection_raises_a_clear_error(cluster: PgCluster) -> None:
    conn = _connect(cluster, autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        cluster.failover(target="instance-2")
        with pytest.raises(awsdb.FailoverSuccessError):
            cur.execute("SELECT 1")
        with pytest.raises(awsdb.InterfaceError, match="replaced"):
            cur.execute("SELECT 1")
        assert conn.cursor().execute("SELECT 2").fetchone() == (2,)
    finally:
        conn.close()


def test_no_writer_within_the_budget_is_failover_failed(cluster: PgCluster) -> None:
    conn = _connect(cluster, autocommit=True, failover_timeout_sec=1.5)
    try:
        for node in list(cluster.nodes):
            cluster.kill(node)
        with pytest.raises(awsdb.FailoverFailedError, match=r"within 1\.5 s"):
            conn.execute("SELECT 1")
    finally:
        conn.close()


def test_reader_endpoint_defaults_to_reader_or_writer_and_stays_usable(
    cluster: PgCluster,
) -> None:
    conn = _connect(cluster, cluster.names.reader_endpoint, autocommit=True)
    try:
        first = _server_id(conn)
        assert first != "instance-1"  # the reader endpoint points at a replica
        cluster.kill(first)
        with pytest.raises(awsdb.FailoverSuccessError):
            conn.execute("SELECT 1")
        assert _server_id(conn) != first
    finally:
        conn.close()


def test_strict_reader_lands_on_a_reader(cluster: PgCluster) -> None:
    conn = _connect(cluster, autocommit=True, failover_mode="strict-reader")
    try:
        cluster.failover(target="instance-2")
        with pytest.raises(awsdb.FailoverSuccessError):
            conn.execute("SELECT 1")
        assert conn.execute("SELECT pg_catalog.pg_is_in_recovery()").fetchone() == (True,)
    finally:
        conn.close()


def test_ip_address_without_pattern_fails_fast_with_a_clear_error(cluster: PgCluster) -> None:
    node = cluster.writer()
    with pytest.raises(awsdb.ProgrammingError, match="cluster_instance_host_pattern"):
        awsdb.connect(
            psycopg.Connection.connect,
            f"host={node.host} port={node.port} user=app dbname=app",
            plugins="failover",
            wrapper_dialect="aurora-pg",
        )


def test_failover_disabled_lets_the_driver_error_through(cluster: PgCluster) -> None:
    conn = _connect(cluster, autocommit=True, enable_failover=False)
    try:
        cluster.kill(cluster.writer())
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    finally:
        conn.close()


def test_many_connections_share_one_monitor_and_everything_is_released(
    cluster: PgCluster,
) -> None:
    awsdb.release_resources()
    gc.collect()
    threads = threading.active_count()
    conns = [_connect(cluster, autocommit=True) for _ in range(30)]
    try:
        assert len(get_services().monitors) == 1
        assert threading.active_count() == threads + 1
        cluster.failover(target="instance-2")
        for conn in conns:  # every connection fails over to the writer the monitor found
            with pytest.raises(awsdb.FailoverSuccessError):
                conn.execute("SELECT 1")
            assert _server_id(conn) == "instance-2"
    finally:
        for conn in conns:
            conn.close()
    awsdb.release_resources()
    gc.collect()
    assert threading.active_count() == threads
