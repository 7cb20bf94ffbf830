"""EFM on a real PostgreSQL (psycopg) behind the userspace fault proxy."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import psycopg
import pytest
from _efm_support import (
    connect_pg,
    efm_keys,
    eventually,
    host_monitor,
    run_with_fault,
    settings,
    thread_names,
)

import awsdb
from awsdb.hosts import HostAvailability
from awsdb_efm import HostMonitor, monitor_key
from awsdb_testing.proxy import FaultProxy

pytestmark = pytest.mark.pg

FAST = settings(1000, 300, 2)  # grace 1 s, probe every 300 ms, 2 failures
AGGRESSIVE = settings(6000, 1000, 1)


def _blackholed_query(proxy: FaultProxy, after_s: float, **props: Any) -> Any:
    conn = connect_pg(proxy, **props)
    try:
        conn.execute("SELECT 1").fetchall()
        outcome = run_with_fault(
            lambda: conn.execute("SELECT pg_sleep(30)").fetchall(), proxy.blackhole, after_s=after_s
        )
        service = conn.plugin_service
        return outcome, service, host_monitor(conn)
    finally:
        proxy.heal()
        conn.close()


@pytest.mark.parametrize("after_s", [0.3, 1.6], ids=["inside-grace", "after-grace"])
def test_blackholed_long_query_is_aborted(pg_hosts: list[FaultProxy], after_s: float) -> None:
    outcome, service, monitor = _blackholed_query(pg_hosts[0], after_s, **FAST)
    assert isinstance(outcome.error, psycopg.OperationalError)
    assert service.is_network_error(outcome.error)
    assert monitor.verdicts == 1
    host = service.current_host
    assert host is not None
    marks = service.services.availability
    assert [h.availability for h in marks.apply([host])] == [HostAvailability.UNAVAILABLE]


@pytest.mark.slow
@pytest.mark.parametrize("after_s", [2.0, 6.5], ids=["inside-grace", "after-grace"])
def test_aggressive_settings_abort(pg_hosts: list[FaultProxy], after_s: float) -> None:
    outcome, service, monitor = _blackholed_query(pg_hosts[1], after_s, **AGGRESSIVE)
    assert isinstance(outcome.error, psycopg.OperationalError)
    assert service.is_network_error(outcome.error)
    assert monitor.verdicts == 1


def test_healthy_long_query_is_not_aborted(pg_hosts: list[FaultProxy]) -> None:
    conn = connect_pg(pg_hosts[0], **FAST)
    try:
        assert conn.execute("SELECT pg_sleep(3), 7").fetchall() == [("", 7)]
        monitor = host_monitor(conn)
        assert monitor.probes >= 2  # it did watch the call past its grace period
        assert monitor.verdicts == 0
        assert conn.execute("SELECT 1").fetchall() == [(1,)]
    finally:
        conn.close()


def test_slow_but_answering_host_is_not_aborted(pg_hosts: list[FaultProxy]) -> None:
    # 10 ms each way on every chunk: a probe (one round trip) is slower but within its timeout
    conn = connect_pg(pg_hosts[2], **FAST)
    try:
        pg_hosts[2].latency(0.01)
        assert conn.execute("SELECT pg_sleep(2.5), 1").fetchall() == [("", 1)]
        assert host_monitor(conn).verdicts == 0
    finally:
        pg_hosts[2].heal()
        conn.close()


def test_short_calls_are_never_probed(pg_hosts: list[FaultProxy]) -> None:
    conn = connect_pg(pg_hosts[0], **settings(30000, 5000, 3))
    try:
        for _ in range(50):
            conn.execute("SELECT 1").fetchall()
        monitor = host_monitor(conn)
        assert monitor.probes == 0
        assert monitor.monitored == 0
        assert pg_hosts[0].stats().active == 1  # no probe connection was opened
    finally:
        conn.close()


def test_follows_the_replaced_connection(pg_hosts: list[FaultProxy]) -> None:
    a, b = pg_hosts[0], pg_hosts[1]
    conn = connect_pg(a, **FAST)
    try:
        conn.execute("SELECT 1").fetchall()
        service = conn.plugin_service
        old_host = service.current_host
        assert old_host is not None
        new_host = old_host.replace(host=b.host, port=b.port)
        service.replace_connection(service.connect(new_host), new_host)
        outcome = run_with_fault(
            lambda: conn.execute("SELECT pg_sleep(30)").fetchall(), b.blackhole, after_s=1.6
        )
        assert isinstance(outcome.error, psycopg.OperationalError)
        assert service.is_network_error(outcome.error)
        new = service.services.monitors.get(monitor_key(new_host, host_monitor(conn).settings))
        assert isinstance(new, HostMonitor) and new.verdicts == 1
        old = service.services.monitors.get(monitor_key(old_host, new.settings))
        assert isinstance(old, HostMonitor) and old.verdicts == 0
    finally:
        b.heal()
        conn.close()


def test_resources_back_to_baseline(pg_hosts: list[FaultProxy]) -> None:
    before = thread_names()
    conns = [connect_pg(pg_hosts[i % 3], **FAST) for i in range(6)]
    for conn in conns:
        conn.execute("SELECT pg_sleep(1.5)").fetchall()  # past the grace: probes connect
    assert thread_names() > before
    for conn in conns:
        conn.close()
    services = conns[0].plugin_service.services
    assert len(services.monitors) == 3
    awsdb.release_resources()
    assert len(services.monitors) == 0
    assert thread_names() == before
    assert eventually(lambda: sum(p.stats().active for p in pg_hosts) == 0)


def test_abandoned_connection_is_collectable(pg_hosts: list[FaultProxy]) -> None:
    conn = connect_pg(pg_hosts[0], **FAST)
    conn.execute("SELECT 1").fetchall()
    services = conn.plugin_service.services
    ref = weakref.ref(conn.plugin_service)
    conn.close()
    del conn
    gc.collect()
    assert ref() is None
    assert len(services.monitors) == 1  # the monitor outlives it (disposal time)


def test_monitors_bounded_by_hosts_and_settings(pg_hosts: list[FaultProxy]) -> None:
    # 150 connections: the harness's servers allow 60 each (the MariaDB test opens 200)
    variants = [settings(30000, 5000, 3), settings(6000, 1000, 1)]
    conns = []
    try:
        for i in range(150):
            conn = connect_pg(pg_hosts[i % 3], **variants[(i // 3) % 2])
            conn.execute("SELECT 1").fetchall()
            conns.append(conn)
        services = conns[0].plugin_service.services
        assert len(services.monitors) == 6  # 3 hosts x 2 settings
        assert len(efm_keys(conns[0])) == 6
    finally:
        for conn in conns:
            conn.close()


def test_blackholed_server_side_fetch_is_aborted(pg_hosts: list[FaultProxy]) -> None:
    # a named cursor's rows stay on the server: its fetch waits on the network and is watched
    conn = connect_pg(pg_hosts[0], **FAST)
    try:
        cur = conn.cursor(name="efm_stream")
        cur.execute("SELECT pg_sleep(30), 1")  # DECLARE: the query runs at the fetch
        outcome = run_with_fault(cur.fetchall, pg_hosts[0].blackhole, after_s=1.6)
        assert isinstance(outcome.error, psycopg.OperationalError)
        assert conn.plugin_service.is_network_error(outcome.error)
        assert host_monitor(conn).verdicts == 1
    finally:
        pg_hosts[0].heal()
        conn.close()


def test_only_calls_that_wait_on_the_server_are_registered(
    pg_hosts: list[FaultProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = connect_pg(pg_hosts[0], **settings(30000, 5000, 3))
    try:
        conn.execute("SELECT 1").fetchall()
        monitor = host_monitor(conn)
        calls: list[int] = []
        start = monitor.start_monitoring

        def counting(service: Any) -> Any:
            calls.append(1)
            return start(service)

        monkeypatch.setattr(monitor, "start_monitoring", counting)
        cur = conn.cursor()  # psycopg opens cursors locally
        assert calls == []
        cur.execute("SELECT generate_series(1, 3)")
        assert len(calls) == 1
        assert cur.fetchone() == (1,)  # a client-side cursor holds its rows
        assert cur.fetchall() == [(2,), (3,)]
        assert len(calls) == 1
        cur.close()
        named = conn.cursor(name="efm_named")
        named.execute("SELECT generate_series(1, 3)")
        assert named.fetchall() == [(1,), (2,), (3,)]
        assert len(calls) == 3  # DECLARE, then the fetch from the server
        named.close()
        conn.commit()
        assert len(calls) == 4  # the cursor's close is not watched, the commit is
        assert monitor.monitored == 0
    finally:
        conn.close()
