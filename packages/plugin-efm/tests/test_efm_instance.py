"""The monitored host is the instance behind the connection (emulated Aurora PostgreSQL).

The cluster's Aurora-shaped names are published mapped to fault proxies: one per instance
and one per cluster endpoint, the endpoint proxies forwarding through the instance proxies
(a fault on an instance also hits the connections that reach it through an endpoint).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from _efm_support import Outcome, efm_keys, settings

import awsdb
from awsdb.hosts import HostAvailability, HostInfo
from awsdb_efm import EfmSettings, HostMonitor, monitor_key
from awsdb_testing.pg.proxies import PgProxies

pytestmark = pytest.mark.pg

FAST = settings(1000, 300, 2)
FAST_SETTINGS = EfmSettings(1000, 300, 2)


def _connect(host: str, port: int, **props: Any) -> awsdb.AwsWrapperConnection:
    return awsdb.connect(
        psycopg.Connection.connect,
        host=host,
        port=port,
        user="app",
        dbname="app",
        plugins="efm",
        **FAST,
        **props,
    )


def _instance_url(proxies: PgProxies, instance_id: str) -> str:
    return f"{proxies.cluster.names.instance(instance_id)}:{proxies.port}"


def _monitor(conn: awsdb.AwsWrapperConnection, host: str, port: int) -> HostMonitor:
    monitor = conn.plugin_service.services.monitors.get(
        monitor_key(HostInfo(host, port), FAST_SETTINGS)
    )
    assert isinstance(monitor, HostMonitor)
    return monitor


def _in_threads(
    calls: list[Callable[[], Any]], fault: Callable[[], None] | None = None, after_s: float = 0.0
) -> list[Outcome]:
    outcomes = [Outcome() for _ in calls]

    def run(i: int) -> None:
        try:
            outcomes[i].result = calls[i]()
        except Exception as exc:
            outcomes[i].error = exc

    threads = [
        threading.Thread(target=run, args=(i,), name=f"awsdb-efm-test-{i}")
        for i in range(len(calls))
    ]
    timer = threading.Timer(after_s, fault) if fault is not None else None
    for t in threads:
        t.start()
    if timer is not None:
        timer.start()
    for t in threads:
        t.join(60)
    if timer is not None:
        timer.cancel()
        timer.join()
    return outcomes


def test_cluster_endpoint_and_instance_share_one_monitor(pg_proxies: PgProxies) -> None:
    names, port = pg_proxies.cluster.names, pg_proxies.port
    writer_id, reader_id = pg_proxies.cluster.endpoint_targets()
    conns = [
        _connect(names.writer_endpoint, port),
        _connect(names.instance(writer_id), port),
        _connect(names.reader_endpoint, port),
    ]
    try:
        outcomes = _in_threads(
            [lambda c=c: c.execute("SELECT pg_sleep(1.5), 1").fetchall() for c in conns]
        )
        assert [o.result for o in outcomes] == [[("", 1)]] * 3
        urls = sorted(k[1] for k in efm_keys(conns[0]))
        assert urls == sorted(
            {_instance_url(pg_proxies, writer_id), _instance_url(pg_proxies, reader_id)}
        )
        writer = _monitor(conns[0], names.instance(writer_id), port)
        assert writer.host.host_id == writer_id
        assert writer.probes >= 1 and writer.verdicts == 0
        # the probe connections dial the instances: each endpoint proxy carries only the
        # application's own connection
        assert pg_proxies.writer_proxy.stats().active == 1
        assert pg_proxies.reader_proxy.stats().active == 1
    finally:
        for conn in conns:
            conn.close()


def test_blackholed_instance_aborts_calls_through_the_endpoint(pg_proxies: PgProxies) -> None:
    names, port = pg_proxies.cluster.names, pg_proxies.port
    writer_id, _ = pg_proxies.cluster.endpoint_targets()
    instance = pg_proxies.proxy(writer_id)
    conns = [_connect(names.writer_endpoint, port), _connect(names.instance(writer_id), port)]
    try:
        for conn in conns:
            conn.execute("SELECT 1").fetchall()
        outcomes = _in_threads(
            [lambda c=c: c.execute("SELECT pg_sleep(30)").fetchall() for c in conns],
            instance.blackhole,
            after_s=1.6,
        )
        for outcome, conn in zip(outcomes, conns, strict=True):
            assert isinstance(outcome.error, psycopg.OperationalError), outcome
            assert conn.plugin_service.is_network_error(outcome.error)
        assert len(efm_keys(conns[0])) == 1
        monitor = _monitor(conns[0], names.instance(writer_id), port)
        assert monitor.verdicts == 1
        marks = conns[0].plugin_service.services.availability
        assert [h.availability for h in marks.apply([monitor.host])] == [
            HostAvailability.UNAVAILABLE
        ]
    finally:
        instance.heal()
        for conn in conns:
            conn.close()


def test_ip_address_with_instance_pattern_is_monitored_as_the_instance(
    pg_proxies: PgProxies,
) -> None:
    names, port = pg_proxies.cluster.names, pg_proxies.port
    writer_id, _ = pg_proxies.cluster.endpoint_targets()
    ip = pg_proxies.proxy(writer_id).host
    by_ip = _connect(ip, port, cluster_instance_host_pattern=names.instance_host_pattern)
    by_name = _connect(names.instance(writer_id), port)
    plain_ip = _connect(ip, port)  # no pattern: the address itself is watched
    try:
        for conn in (by_ip, by_name):
            conn.execute("SELECT pg_sleep(1.3)").fetchall()
        assert [k[1] for k in efm_keys(by_ip)] == [_instance_url(pg_proxies, writer_id)]
        plain_ip.execute("SELECT pg_sleep(1.3)").fetchall()
        urls = sorted(k[1] for k in efm_keys(by_ip))
        assert urls == sorted({_instance_url(pg_proxies, writer_id), f"{ip}:{port}"})
    finally:
        for conn in (by_ip, by_name, plain_ip):
            conn.close()
