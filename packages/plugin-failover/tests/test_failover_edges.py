"""Failover edge cases on real emulated Aurora PostgreSQL clusters.

Small clusters (one and two nodes), strict_reader's writer fallback, topologies with two
writer rows and stale rows (static mode of the emulation), an instance added to a running
cluster, the old writer coming back as a reader, a lost connection to a writer that is still
the writer, instance names that cannot be resolved, and a later connection's credentials
honoured by the shared monitor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb.hosts import HostRole
from awsdb.topology import TopologyMonitor
from awsdb_testing.model import TopologyRow
from awsdb_testing.pg import PgCluster, PgClusterConfig

pytestmark = pytest.mark.pg

FAST = {"topology_refresh_ms": 200, "failover_timeout_sec": 60}


def _small_cluster(pg_binaries: Any, nodes: int, octet: int, **kw: Any) -> PgCluster:
    return PgCluster(PgClusterConfig(nodes=nodes, first_octet=octet, bins=pg_binaries, **kw))


def _connect(cluster: PgCluster, host: str | None = None, **kw: Any) -> Any:
    host = host or cluster.names.writer_endpoint
    props = {**FAST, "autocommit": True, **kw}
    return awsdb.connect(
        psycopg.Connection.connect,
        f"host={host} port={cluster.nodes[0].port} user=app dbname=app connect_timeout=3",
        plugins="failover",
        **props,
    )


def _server_id(conn: Any) -> str:
    row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
    return str(row[0])


def _in_recovery(conn: Any) -> bool:
    row = conn.execute("SELECT pg_catalog.pg_is_in_recovery()").fetchone()
    return bool(row[0])


def _monitor(conn: Any) -> TopologyMonitor:
    provider = conn.plugin_service.host_provider
    assert provider is not None and provider.monitor is not None
    monitor: TopologyMonitor = provider.monitor
    return monitor


def _roles(monitor: TopologyMonitor) -> dict[str, HostRole]:
    return {h.host.split(".")[0]: h.role for h in monitor.hosts}


def _terminate_backend(cluster: PgCluster, conn: Any) -> None:
    """End the connection's server session (57P01 admin_shutdown: a lost connection)."""
    instance = _server_id(conn)
    row = conn.execute("SELECT pg_catalog.pg_backend_pid()").fetchone()
    with cluster.superuser_connect(instance) as su:
        su.execute("SELECT pg_terminate_backend(%s)", (row[0],))


def _eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached: {what}")
        time.sleep(0.02)


# --- small clusters and strict_reader ---------------------------------------------------


def test_two_node_cluster_fails_over_to_its_only_reader_and_back(
    pg_binaries: Any, awsdb_leak_check: None
) -> None:
    with _small_cluster(pg_binaries, 2, 71) as cluster, cluster.names_installed():
        conn = _connect(cluster)
        try:
            assert _server_id(conn) == "instance-1"
            cluster.failover()  # no replica is left once the only reader is promoted
            with pytest.raises(awsdb.FailoverSuccessError):
                conn.execute("SELECT 1")
            assert _server_id(conn) == "instance-2"
            assert _in_recovery(conn) is False
            cluster.rejoin("instance-1")
            cluster.failover()
            with pytest.raises(awsdb.FailoverSuccessError):
                conn.execute("SELECT 1")
            assert _server_id(conn) == "instance-1"
            assert _in_recovery(conn) is False
        finally:
            conn.close()


def test_strict_reader_falls_back_to_the_writer_on_a_single_node_cluster(
    pg_binaries: Any, awsdb_leak_check: None
) -> None:
    with _small_cluster(pg_binaries, 1, 74) as cluster, cluster.names_installed():
        conn = _connect(cluster, failover_mode="strict_reader")
        try:
            assert _server_id(conn) == "instance-1"
            _terminate_backend(cluster, conn)
            with pytest.raises(awsdb.FailoverSuccessError):
                conn.execute("SELECT 1")
            assert _server_id(conn) == "instance-1"  # the only instance: the writer
        finally:
            conn.close()


def test_strict_reader_does_not_take_the_writer_when_the_cluster_has_readers(
    cluster: PgCluster,
) -> None:
    conn = _connect(cluster, failover_mode="strict_reader", failover_timeout_sec=2)
    try:
        assert _server_id(conn) == "instance-1"  # the writer endpoint
        cluster.kill("instance-2")
        cluster.kill("instance-3")
        _terminate_backend(cluster, conn)
        with pytest.raises(awsdb.FailoverFailedError):
            conn.execute("SELECT 1")
    finally:
        conn.close()


def test_strict_reader_moves_from_the_writer_to_a_reader(cluster: PgCluster) -> None:
    conn = _connect(cluster, failover_mode="strict_reader")
    try:
        assert _server_id(conn) == "instance-1"
        _terminate_backend(cluster, conn)
        with pytest.raises(awsdb.FailoverSuccessError):
            conn.execute("SELECT 1")
        assert _server_id(conn) in ("instance-2", "instance-3")
        assert _in_recovery(conn) is True
    finally:
        conn.close()


# --- the writer did not change ------------------------------------------------------------


def test_lost_connection_to_a_writer_that_is_still_the_writer_reconnects_to_it(
    cluster: PgCluster,
) -> None:
    conn = _connect(cluster, failover_timeout_sec=30)
    try:
        for _ in range(3):  # the first time through the endpoint, then on the instance
            _terminate_backend(cluster, conn)
            with pytest.raises(awsdb.FailoverSuccessError):
                conn.execute("SELECT 1")
            assert _server_id(conn) == "instance-1"
            assert _in_recovery(conn) is False
    finally:
        conn.close()


def test_the_shared_monitor_takes_a_later_connections_credentials(cluster: PgCluster) -> None:
    # the first connection's role loses its login (a rotated secret, an expired token):
    # the shared monitor must probe with the later connection's credentials
    with cluster.superuser_connect(cluster.writer()) as su:
        su.execute("CREATE ROLE app_rotated LOGIN")
        su.execute("GRANT CONNECT ON DATABASE app TO app_rotated")
    first = _connect(cluster, failover_timeout_sec=20)
    later = awsdb.connect(
        psycopg.Connection.connect,
        f"host={cluster.names.writer_endpoint} port={cluster.nodes[0].port} "
        "user=app_rotated dbname=app connect_timeout=3",
        plugins="failover",
        **{**FAST, "autocommit": True, "failover_timeout_sec": 20},
    )
    try:
        monitor = _monitor(later)
        assert _monitor(first) is monitor
        with cluster.superuser_connect(cluster.writer()) as su:
            su.execute("ALTER ROLE app NOLOGIN")

        def replicated() -> bool:  # on every replica before the writer dies
            for node in cluster.readers():
                with cluster.superuser_connect(node) as su:
                    row = su.execute(
                        "SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = 'app'"
                    ).fetchone()
                if row != (False,):
                    return False
            return True

        _eventually(replicated, "the lost login replicated")
        report = cluster.failover()
        with pytest.raises(awsdb.FailoverSuccessError):
            later.execute("SELECT 1")
        assert _server_id(later) == report.new_writer
        row = later.execute("SELECT current_user").fetchone()
        assert row == ("app_rotated",)
        writer = monitor.writer()
        assert writer is not None and writer.host.startswith(f"{report.new_writer}.")
        assert not monitor.in_panic
    finally:
        later.close()
        first.close()


def test_release_waits_for_probes_stuck_in_connect(cluster: PgCluster) -> None:
    # every instance frozen while the panic probes connect: release leaves no thread behind
    conn = _connect(cluster)
    try:
        monitor = _monitor(conn)
        _eventually(lambda: len(monitor.hosts) == 3 and not monitor.in_panic, "a topology")

        def probes() -> list[str]:
            return [t.name for t in threading.enumerate() if "awsdb-topology-probe" in t.name]

        for node in cluster.nodes:
            cluster.pause(node)
        try:
            monitor.request_panic()
            _eventually(lambda: len(probes()) >= 3, "a probe per instance")
            time.sleep(0.2)  # inside their connects
            awsdb.release_resources()
            left = [t.name for t in threading.enumerate() if t.name.startswith("awsdb-topology")]
            assert left == []
        finally:
            for node in cluster.nodes:
                cluster.resume(node)
    finally:
        conn.close()


# --- topology contents (static mode) ------------------------------------------------------


def test_two_writer_rows_the_newest_is_the_writer(cluster: PgCluster) -> None:
    # instance-2 still carries an older writer row (a failover in progress elsewhere)
    cluster.set_topology_static(
        [
            TopologyRow("instance-1", is_writer=True, last_update_age_s=0.0),
            TopologyRow("instance-2", is_writer=True, last_update_age_s=20.0),
            TopologyRow("instance-3", is_writer=False, last_update_age_s=0.0),
        ]
    )
    conn = _connect(cluster)
    try:
        roles = _roles(_monitor(conn))
        assert roles == {"instance-3": HostRole.READER, "instance-1": HostRole.WRITER}
        _terminate_backend(cluster, conn)
        with pytest.raises(awsdb.FailoverSuccessError):
            conn.execute("SELECT 1")
        assert _server_id(conn) == "instance-1"
        assert _in_recovery(conn) is False
    finally:
        conn.close()


def test_stale_rows_are_not_used_and_a_stale_writer_row_loses(cluster: PgCluster) -> None:
    conn = _connect(cluster)
    try:
        cluster.failover(target="instance-2")
        # the old writer's row lingers with an old timestamp; a removed instance is stale
        cluster.set_topology_static(
            [
                TopologyRow("instance-1", is_writer=True, last_update_age_s=600.0),
                TopologyRow("instance-2", is_writer=True, last_update_age_s=0.0),
                TopologyRow("instance-3", is_writer=False, last_update_age_s=0.0),
                TopologyRow("instance-9", is_writer=False, last_update_age_s=600.0),
            ]
        )
        with pytest.raises(awsdb.FailoverSuccessError):
            conn.execute("SELECT 1")
        assert _server_id(conn) == "instance-2"
        monitor = _monitor(conn)
        _eventually(
            lambda: (
                _roles(monitor) == {"instance-3": HostRole.READER, "instance-2": HostRole.WRITER}
            ),
            "the topology without the stale rows",
        )
    finally:
        conn.close()


# --- membership changes --------------------------------------------------------------------


def test_a_new_instance_is_used(pg_binaries: Any, awsdb_leak_check: None) -> None:
    # the writer endpoint keeps pointing at the dead writer: only the topology names the
    # new instance
    with (
        _small_cluster(pg_binaries, 2, 77, stale_dns_s=600.0) as cluster,
        cluster.names_installed(),
    ):
        conn = _connect(cluster)
        try:
            monitor = _monitor(conn)
            assert set(_roles(monitor)) == {"instance-1", "instance-2"}
            cluster.add_node()
            _eventually(lambda: "instance-3" in _roles(monitor), "instance-3 in the topology")
            assert _roles(monitor)["instance-3"] is HostRole.READER
            cluster.failover(target="instance-3")
            with pytest.raises(awsdb.FailoverSuccessError):
                conn.execute("SELECT 1")
            assert _server_id(conn) == "instance-3"
            assert _in_recovery(conn) is False
        finally:
            conn.close()


def test_the_old_writer_returning_as_a_reader_is_a_reader(cluster: PgCluster) -> None:
    conn = _connect(cluster)
    reader = _connect(cluster, cluster.names.reader_endpoint, failover_mode="strict_reader")
    try:
        assert _server_id(reader) == "instance-2"  # the reader endpoint's target
        cluster.failover(target="instance-3")
        with pytest.raises(awsdb.FailoverSuccessError):
            conn.execute("SELECT 1")
        assert _server_id(conn) == "instance-3"
        cluster.rejoin("instance-1")
        monitor = _monitor(conn)
        _eventually(
            lambda: _roles(monitor).get("instance-1") is HostRole.READER,
            "instance-1 back as a reader",
        )
        assert _roles(monitor)["instance-3"] is HostRole.WRITER
        # the next failover goes to the promoted instance, never to the returned old writer
        cluster.failover(target="instance-2")
        with pytest.raises(awsdb.FailoverSuccessError):
            conn.execute("SELECT 1")
        assert _server_id(conn) == "instance-2"
        assert _in_recovery(conn) is False
        # the strict_reader connection was on instance-2, now the writer: a lost session
        # there moves it to the only reader, the returned old writer
        _terminate_backend(cluster, reader)
        with pytest.raises(awsdb.FailoverSuccessError):
            reader.execute("SELECT 1")
        assert _server_id(reader) == "instance-1"
        assert _in_recovery(reader) is True
    finally:
        conn.close()
        reader.close()


# --- names that cannot be used ---------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["?", "?.does-not-resolve.invalid"])
def test_unresolvable_instance_names_fail_every_waiter_with_the_first_error(
    cluster: PgCluster, pattern: str
) -> None:
    writer = cluster.writer()
    conns = [
        awsdb.connect(
            psycopg.Connection.connect,
            f"host={writer.host} port={writer.port} user=app dbname=app connect_timeout=3",
            plugins="failover",
            wrapper_dialect="aurora-pg",
            cluster_instance_host_pattern=pattern,
            failover_timeout_sec=600,  # fail fast must not mean "wait for the budget"
            autocommit=True,
        )
        for _ in range(3)
    ]
    errors: list[BaseException | None] = [None] * len(conns)
    try:
        cluster.kill(writer)  # the only address that works is gone; the names never resolve
        barrier = threading.Barrier(len(conns))

        def run(i: int) -> None:
            barrier.wait()
            try:
                conns[i].execute("SELECT 1")
            except BaseException as exc:
                errors[i] = exc

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(conns))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)  # a hang guard far below the 600 s budget
        assert not any(t.is_alive() for t in threads), "a waiter waited for the budget"
    finally:
        for c in conns:
            c.close()
    assert all(isinstance(e, awsdb.FailoverFailedError) for e in errors), errors
    messages = {str(e) for e in errors}
    assert len(messages) == 1  # every waiter got the same (first) error
    assert "resolve" in messages.pop()
