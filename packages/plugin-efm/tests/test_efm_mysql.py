"""EFM on a real MariaDB (pure-Python mysql-connector) behind the userspace fault proxy."""

from __future__ import annotations

from typing import Any

import mysql.connector
import pytest
from _efm_support import (
    connect_mdb,
    eventually,
    host_monitor,
    run_with_fault,
    settings,
    thread_names,
)

import awsdb
from awsdb.hosts import HostAvailability
from awsdb_testing.proxy import FaultProxy

pytestmark = pytest.mark.mysql

FAST = settings(1000, 300, 2)
AGGRESSIVE = settings(6000, 1000, 1)


def _query(conn: awsdb.AwsWrapperConnection, sql: str) -> list[Any]:
    cur = conn.cursor()
    try:
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


def _blackholed_query(proxy: FaultProxy, after_s: float, **props: Any) -> Any:
    conn = connect_mdb(proxy, **props)
    try:
        _query(conn, "SELECT 1")
        outcome = run_with_fault(
            lambda: _query(conn, "SELECT SLEEP(30)"), proxy.blackhole, after_s=after_s
        )
        return outcome, conn.plugin_service, host_monitor(conn)
    finally:
        proxy.heal()
        conn.close()


@pytest.mark.parametrize("after_s", [0.3, 1.6], ids=["inside-grace", "after-grace"])
def test_blackholed_long_query_is_aborted(mdb_hosts: list[FaultProxy], after_s: float) -> None:
    outcome, service, monitor = _blackholed_query(mdb_hosts[0], after_s, **FAST)
    assert isinstance(outcome.error, mysql.connector.Error)
    assert service.is_network_error(outcome.error)
    assert monitor.verdicts == 1
    host = service.current_host
    marks = service.services.availability
    assert [h.availability for h in marks.apply([host])] == [HostAvailability.UNAVAILABLE]


@pytest.mark.slow
@pytest.mark.parametrize("after_s", [2.0, 6.5], ids=["inside-grace", "after-grace"])
def test_aggressive_settings_abort(mdb_hosts: list[FaultProxy], after_s: float) -> None:
    outcome, service, monitor = _blackholed_query(mdb_hosts[1], after_s, **AGGRESSIVE)
    assert isinstance(outcome.error, mysql.connector.Error)
    assert service.is_network_error(outcome.error)
    assert monitor.verdicts == 1


def test_healthy_long_query_is_not_aborted(mdb_hosts: list[FaultProxy]) -> None:
    conn = connect_mdb(mdb_hosts[0], **FAST)
    try:
        assert _query(conn, "SELECT SLEEP(3), 7") == [(0, 7)]
        monitor = host_monitor(conn)
        assert monitor.probes >= 2
        assert monitor.verdicts == 0
        assert _query(conn, "SELECT 1") == [(1,)]
    finally:
        conn.close()


def test_resources_back_to_baseline(mdb_hosts: list[FaultProxy]) -> None:
    before = thread_names()
    conns = [connect_mdb(mdb_hosts[i % 3], **FAST) for i in range(6)]
    for conn in conns:
        _query(conn, "SELECT SLEEP(1.5)")
    for conn in conns:
        conn.close()
    services = conns[0].plugin_service.services
    assert len(services.monitors) == 3
    awsdb.release_resources()
    assert thread_names() == before
    assert eventually(lambda: sum(p.stats().active for p in mdb_hosts) == 0)


def test_200_connections_3_hosts(mdb_hosts: list[FaultProxy]) -> None:
    variants = [settings(30000, 5000, 3), settings(6000, 1000, 1)]
    conns = []
    try:
        for i in range(200):
            conn = connect_mdb(mdb_hosts[i % 3], **variants[(i // 3) % 2])
            _query(conn, "SELECT 1")
            conns.append(conn)
        services = conns[0].plugin_service.services
        assert len(services.monitors) == 6  # 3 hosts x 2 settings
    finally:
        for conn in conns:
            conn.close()
