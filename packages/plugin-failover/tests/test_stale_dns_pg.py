"""stale_dns on a real emulated Aurora PostgreSQL cluster whose writer endpoint still
resolves to the old writer after a failover."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb._service import get_services
from awsdb.hosts import HostInfo, HostRole
from awsdb.plugin import Plugin
from awsdb_failover import tracked_connections
from awsdb_testing.model import TopologyRow
from awsdb_testing.pg import PgCluster
from awsdb_testing.pg.proxies import PgProxies

pytestmark = pytest.mark.pg

FAST = {"topology_refresh_ms": 500, "failover_timeout_sec": 30}


def _recording_target(opened: list[Any], pids: list[int] | None = None) -> Callable[..., Any]:
    """psycopg's connect, recording the connections opened on the calling (test) thread
    (and their server process ids); the topology monitor's connections are opened on its
    own threads."""
    caller = threading.get_ident()

    def connect(*args: Any, **kwargs: Any) -> Any:
        conn = psycopg.Connection.connect(*args, **kwargs)
        if threading.get_ident() == caller:
            opened.append(conn)
            if pids is not None:
                pids.append(conn.info.backend_pid)
        return conn

    return connect


def _connect(
    cluster: PgCluster, endpoint: str, target: Callable[..., Any] | None = None, **kw: Any
) -> Any:
    if target is not None:
        kw["wrapper_driver_dialect"] = "psycopg"
    return awsdb.connect(
        target or psycopg.Connection.connect,
        f"host={endpoint} port={cluster.nodes[0].port} user=app dbname=app",
        autocommit=True,
        **{**FAST, **kw},
    )


def _server_id(conn: Any) -> str:
    row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
    return str(row[0])


def _backend_open(cluster: PgCluster, instance: str, pid: int) -> bool:
    """Whether server process ``pid`` still serves a client on ``instance``."""
    with cluster.superuser_connect(instance) as su:
        row = su.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert row is not None
    return bool(row[0])


def _stale_after_failover(cluster: PgCluster) -> None:
    """Fail over to instance-2, bring instance-1 back as a reader and leave the writer
    endpoint's name on it: the DNS answer of the old writer."""
    cluster.failover(target="instance-2")
    cluster.rejoin("instance-1")
    cluster.point_writer_endpoint("instance-1", delay_s=0)
    assert cluster.writer().instance_id == "instance-2"


def test_without_stale_dns_the_writer_endpoint_lands_on_the_old_writer(cluster: PgCluster) -> None:
    _stale_after_failover(cluster)
    conn = _connect(cluster, cluster.names.writer_endpoint, plugins="")
    try:
        assert _server_id(conn) == "instance-1"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE stale_dns_probe (v int)")
    finally:
        conn.close()


def test_stale_dns_lands_on_the_new_writer_and_closes_the_first(cluster: PgCluster) -> None:
    _stale_after_failover(cluster)
    opened: list[Any] = []
    pids: list[int] = []
    conn = _connect(
        cluster, cluster.names.writer_endpoint, _recording_target(opened, pids), plugins="stale_dns"
    )
    try:
        assert _server_id(conn) == "instance-2"
        conn.execute("CREATE TABLE stale_dns_probe (v int)")  # the writer writes
        host = conn.plugin_service.current_host
        assert host.host == cluster.names.instance("instance-2")
        assert host.role is HostRole.WRITER
        # two physical connections on this thread: the stale one, closed, and the writer
        assert len(opened) == 2
        assert opened[0].closed
        assert opened[1] is conn.target_connection and not opened[1].closed
        # server side: the first connection's backend on the old writer is gone
        assert not _backend_open(cluster, "instance-1", pids[0])
        # a second connection (the topology is known now) also lands on the writer
        again = _connect(cluster, cluster.names.writer_endpoint, plugins="stale_dns")
        try:
            assert _server_id(again) == "instance-2"
        finally:
            again.close()
    finally:
        conn.close()


def test_writer_endpoint_on_the_writer_is_kept(cluster: PgCluster) -> None:
    opened: list[Any] = []
    conn = _connect(
        cluster,
        cluster.names.writer_endpoint,
        _recording_target(opened),
        plugins="stale_dns",
        open_connection_retry_timeout_ms=5000,  # read by stale_dns too: no unused warning
    )
    try:
        assert _server_id(conn) == "instance-1"
        assert len(opened) == 1  # no second connection
        assert conn.plugin_service.current_host.host == cluster.names.instance("instance-1")
    finally:
        conn.close()


def test_reader_endpoint_is_left_alone(cluster: PgCluster) -> None:
    opened: list[Any] = []
    conn = _connect(
        cluster, cluster.names.reader_endpoint, _recording_target(opened), plugins="stale_dns"
    )
    try:
        reader_id = cluster.endpoint_targets()[1]
        assert _server_id(conn) == reader_id
        assert len(opened) == 1
        assert conn.plugin_service.current_host.host == cluster.names.reader_endpoint
    finally:
        conn.close()


class _ReadersOnly:
    """A host-list provider that serves only the readers of a fixed list (as a custom
    endpoint made of readers would)."""

    def __init__(self, hosts: list[HostInfo]) -> None:
        self._hosts = hosts

    def refresh(self, force: bool = False) -> list[HostInfo]:
        return list(self._hosts)

    def current(self) -> list[HostInfo]:
        return list(self._hosts)

    def identify(self, query: Any) -> HostInfo | None:
        return None

    def cluster_id(self) -> str:
        return "readers-only"


def test_a_writer_outside_the_allowed_hosts_is_a_clear_error(cluster: PgCluster) -> None:
    port = cluster.nodes[0].port
    endpoint = cluster.names.writer_endpoint
    readers = [HostInfo(endpoint, port)] + [
        HostInfo(cluster.names.instance(i), port, role=HostRole.READER)
        for i in ("instance-2", "instance-3")
    ]

    class Restrict(Plugin):
        def init_host_provider(self, props: Any, service: Any) -> Any:
            return _ReadersOnly(readers)

    awsdb.register_plugin(Restrict, code="test_readers_only", weight=10)
    cluster.point_writer_endpoint("instance-3", delay_s=0)  # stale: a reader
    opened: list[Any] = []
    not_allowed = r"instance-1\S* is not one of this connection's allowed hosts"
    with pytest.raises(awsdb.OperationalError, match=not_allowed):
        _connect(
            cluster,
            endpoint,
            _recording_target(opened),
            plugins="test_readers_only,stale_dns",
        )
    assert len(opened) == 1 and opened[0].closed


def test_in_the_full_chain_the_tracker_sees_the_writer(cluster: PgCluster) -> None:
    _stale_after_failover(cluster)
    conn = _connect(
        cluster,
        cluster.names.writer_endpoint,
        plugins="initial_connection,aurora_connection_tracker,failover,stale_dns",
    )
    try:
        chain = [type(p).__name__ for p in conn.plugin_service.plugins]
        assert chain == [
            "InitialConnectionPlugin",
            "StaleDnsPlugin",
            "AuroraConnectionTrackerPlugin",
            "FailoverPlugin",
        ]
        assert _server_id(conn) == "instance-2"
        url = f"{cluster.names.instance('instance-2')}:{cluster.nodes[0].port}"
        assert tracked_connections(get_services()) == {url: 1}
        conn.execute("CREATE TABLE stale_dns_probe (v int)")
        # the topology is known now: initial_connection puts the next connection on the
        # writer instance; stale_dns leaves it alone and its host list is the topology's
        second = _connect(
            cluster,
            cluster.names.writer_endpoint,
            plugins="initial_connection,aurora_connection_tracker,failover,stale_dns",
        )
        try:
            assert _server_id(second) == "instance-2"
            assert len(second.plugin_service.hosts()) == 3
        finally:
            second.close()
    finally:
        conn.close()


def test_a_writer_endpoint_on_another_address_moves_to_the_instance(
    pg_cluster: PgCluster, pg_proxies: PgProxies
) -> None:
    # behind the endpoint proxies the writer endpoint has an address of its own: on the
    # writer, but not on the writer instance's address, so the plugin moves to the instance
    opened: list[Any] = []
    conn = awsdb.connect(
        _recording_target(opened),
        f"host={pg_cluster.names.writer_endpoint} port={pg_proxies.port} user=app dbname=app",
        wrapper_driver_dialect="psycopg",
        autocommit=True,
        plugins="stale_dns",
        **FAST,
    )
    try:
        assert _server_id(conn) == "instance-1"
        host = conn.plugin_service.current_host
        assert host is not None and host.host == pg_cluster.names.instance("instance-1")
        assert len(opened) == 2
        assert opened[0].closed
        assert opened[1].info.hostaddr == pg_proxies.proxy("instance-1").host
    finally:
        conn.close()


def test_a_topology_writer_that_is_no_writer_keeps_the_first_connection(
    cluster: PgCluster,
) -> None:
    # the topology names instance-3 the writer; the server says it is a reader
    cluster.set_topology_static(
        [
            TopologyRow("instance-1", is_writer=False),
            TopologyRow("instance-2", is_writer=False),
            TopologyRow("instance-3", is_writer=True),
        ]
    )
    opened: list[Any] = []
    conn = _connect(
        cluster,
        cluster.names.writer_endpoint,
        _recording_target(opened),
        plugins="stale_dns",
        open_connection_retry_timeout_ms=300,
    )
    try:
        assert _server_id(conn) == "instance-1"  # kept as written
        assert len(opened) == 2
        assert opened[0] is conn.target_connection and not opened[0].closed
        assert opened[1].closed  # the topology's "writer" was given up
    finally:
        conn.close()
