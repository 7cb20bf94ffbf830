"""Fault proxies in front of a real PostgreSQL cluster: each fault and the exact error a
psycopg client sees, awsdb connecting through the published names, and the endpoint
proxies following a failover."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb.resolver import get_resolver
from awsdb_testing.pg import PgCluster
from awsdb_testing.pg.proxies import PgProxies, pg_proxies

pytestmark = pytest.mark.pg

_INSTANCE_SQL = "SELECT pg_catalog.aurora_db_instance_identifier()"


def _instance(conn: psycopg.Connection) -> str:
    row = conn.execute(_INSTANCE_SQL).fetchone()
    assert row is not None
    return str(row[0])


def _awsdb_instance(name: str, port: int) -> str:
    """Connect with awsdb (no plugins) by host name and ask which instance answered."""
    conn = awsdb.connect(
        psycopg.Connection.connect, host=name, port=port, user="app", dbname="app", plugins=""
    )
    try:
        cur = conn.cursor()
        cur.execute(_INSTANCE_SQL)
        return str(cur.fetchall()[0][0])
    finally:
        conn.close()


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_names_route_awsdb_through_the_proxies(pg_proxies: PgProxies) -> None:
    cluster = pg_proxies.cluster
    mapping = pg_proxies.host_map()
    for i, node in enumerate(cluster.nodes):
        proxy = pg_proxies.proxy(node.instance_id)
        assert mapping[node.name] == f"127.0.0.{41 + i}" == proxy.host
        assert get_resolver().override(node.name) == proxy.host
        before = proxy.stats().accepted
        assert _awsdb_instance(node.name, pg_proxies.port) == node.instance_id
        assert proxy.stats().accepted == before + 1  # awsdb went through the proxy
    names = cluster.names
    writer_before = pg_proxies.writer_proxy.stats().accepted
    assert _awsdb_instance(names.writer_endpoint, pg_proxies.port) == "instance-1"
    assert pg_proxies.writer_proxy.stats().accepted == writer_before + 1
    assert _awsdb_instance(names.reader_endpoint, pg_proxies.port) in ("instance-2", "instance-3")


def test_context_manager_removes_names_and_stops(pg_cluster: PgCluster) -> None:
    with pg_proxies(pg_cluster, first_octet=141, endpoints=False) as proxies:
        mapping = proxies.host_map()
        writer_name = pg_cluster.names.writer_endpoint
        # without endpoint proxies the endpoint names map to the writer's node proxy
        assert mapping[writer_name] == proxies.proxy("instance-1").host == "127.0.0.141"
        assert get_resolver().override(writer_name) == "127.0.0.141"
        kw = proxies.conninfo_kwargs("instance-2")
        with psycopg.connect(**kw) as conn:
            assert _instance(conn) == "instance-2"
        with pytest.raises(RuntimeError):
            _ = proxies.writer_proxy
    for name in mapping:
        assert get_resolver().override(name) is None
    with pytest.raises(psycopg.OperationalError, match="Connection refused"):
        psycopg.connect(**kw, connect_timeout=2)


def test_refuse_new_connections_existing_keep_working(pg_proxies: PgProxies) -> None:
    kw = pg_proxies.conninfo_kwargs("instance-1")
    conn = psycopg.connect(**kw, autocommit=True)
    pg_proxies.proxy("instance-1").refuse()
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(**kw, connect_timeout=2)
    assert type(info.value) is psycopg.OperationalError
    assert f'connection to server at "{kw["host"]}", port {kw["port"]} failed: ' in str(info.value)
    assert "Connection refused" in str(info.value)
    assert _instance(conn) == "instance-1"
    pg_proxies.proxy("instance-1").heal()
    with psycopg.connect(**kw) as fresh:
        assert _instance(fresh) == "instance-1"
    conn.close()


def test_reset_all_breaks_open_connections(pg_proxies: PgProxies) -> None:
    kw = pg_proxies.conninfo_kwargs("instance-2")
    conn = psycopg.connect(**kw, autocommit=True)
    assert _instance(conn) == "instance-2"
    assert pg_proxies.proxy("instance-2").reset_all() == 1
    with pytest.raises(psycopg.OperationalError, match="server closed the connection unexpectedly"):
        conn.execute("SELECT 1")
    assert conn.broken and conn.closed
    with psycopg.connect(**kw) as fresh:  # new connections are served
        assert _instance(fresh) == "instance-2"


def test_blackhole_times_out_connects_and_holds_queries(pg_proxies: PgProxies) -> None:
    kw = pg_proxies.conninfo_kwargs("instance-3")
    proxy = pg_proxies.proxy("instance-3")
    conn = psycopg.connect(**kw, autocommit=True)
    proxy.blackhole()
    with pytest.raises(psycopg.errors.ConnectionTimeout, match="connection timeout expired"):
        psycopg.connect(**kw, connect_timeout=1)
    # an open connection just waits: libpq has no read timeout and the proxy's kernel keeps
    # ACKing, so neither keepalives nor tcp_user_timeout fire
    thread, out = _in_thread(lambda: conn.execute("SELECT 42").fetchone())
    thread.join(1.0)
    assert thread.is_alive() and out == []
    proxy.heal()  # the held query is delivered and answered
    thread.join(30)
    assert out == [(42,)]
    conn.close()


def test_latency_trips_connect_timeout_but_queries_stay_correct(pg_proxies: PgProxies) -> None:
    kw = pg_proxies.conninfo_kwargs("instance-1")
    proxy = pg_proxies.proxy("instance-1")
    conn = psycopg.connect(**kw, autocommit=True)
    proxy.latency(3.0)  # the startup exchange needs several round trips
    with pytest.raises(psycopg.errors.ConnectionTimeout, match="connection timeout expired"):
        psycopg.connect(**kw, connect_timeout=1)
    proxy.latency(0.05)
    assert conn.execute("SELECT 6 * 7").fetchone() == (42,)
    proxy.heal()
    conn.close()


def test_node_fault_reaches_endpoint_clients(pg_proxies: PgProxies) -> None:
    writer_kw = pg_proxies.endpoint_conninfo_kwargs("writer")
    with psycopg.connect(**writer_kw) as conn:
        assert _instance(conn) == "instance-1"
    pg_proxies.proxy("instance-1").refuse()
    # the endpoint proxy accepts, its upstream (the node proxy) refuses, the client is
    # reset: before or after libpq sent its startup packet, so either message
    with pytest.raises(
        psycopg.OperationalError,
        match=r"Connection reset by peer|server closed the connection unexpectedly",
    ):
        psycopg.connect(**writer_kw, connect_timeout=2)
    pg_proxies.proxy("instance-1").heal()
    reader_kw = pg_proxies.endpoint_conninfo_kwargs("reader")
    with psycopg.connect(**reader_kw) as conn:
        assert _instance(conn) != "instance-1"


def test_endpoint_proxies_follow_failover(
    fresh_pg_cluster: PgCluster, pg_proxies: PgProxies
) -> None:
    names = fresh_pg_cluster.names
    port = pg_proxies.port
    old = awsdb.connect(
        psycopg.Connection.connect,
        host=names.writer_endpoint,
        port=port,
        user="app",
        dbname="app",
        plugins="",
        autocommit=True,
    )
    cur = old.cursor()
    cur.execute(_INSTANCE_SQL)
    assert cur.fetchall() == [("instance-1",)]
    report = fresh_pg_cluster.failover(target="instance-3")
    assert report.new_writer == "instance-3"
    assert pg_proxies.writer_proxy.target == pg_proxies.proxy("instance-3").address
    reader_target = pg_proxies.reader_proxy.target
    assert reader_target == pg_proxies.proxy("instance-2").address
    # the killed writer's connection: its backend may still say goodbye before dying
    with pytest.raises(
        psycopg.OperationalError,
        match=r"server closed the connection unexpectedly|unexpected postmaster exit",
    ):
        cur.execute("SELECT 1")
    assert _awsdb_instance(names.writer_endpoint, port) == "instance-3"
    assert _awsdb_instance(names.reader_endpoint, port) == "instance-2"
    with psycopg.connect(**pg_proxies.endpoint_conninfo_kwargs("writer")) as conn:
        conn.execute("INSERT INTO public.t (v) VALUES ('through the writer endpoint')")
