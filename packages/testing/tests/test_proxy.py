"""The TCP fault proxy in front of a real MariaDB server: each fault and the exact error
mysql-connector-python (pure Python) sees."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import mysql.connector
import pytest
from mysql.connector import errors

from awsdb_testing.mysql import MariaDBCluster
from awsdb_testing.mysql.fixtures import fault_proxy, mariadb_missing_reason
from awsdb_testing.proxy import FaultProxy, start_proxy_group

pytestmark = pytest.mark.mysql


@pytest.fixture(scope="module")
def servers(awsdb_leak_check: None) -> Iterator[MariaDBCluster]:
    """Two real MariaDB nodes (writer + replica) to proxy to."""
    reason = mariadb_missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    with MariaDBCluster(nodes=2, first_ip=51, proxy_first_ip=61) as cluster:
        yield cluster


@pytest.fixture
def proxy(servers: MariaDBCluster) -> Iterator[FaultProxy]:
    with fault_proxy(servers.server_address(1)) as p:
        yield p


def _connect(p: FaultProxy, **kw: Any) -> Any:
    return mysql.connector.connect(
        host=p.host, port=p.port, user="app", password="app", use_pure=True, autocommit=True, **kw
    )


def _one(conn: Any, sql: str) -> Any:
    # cursors are made before a fault: ``conn.cursor()`` itself pings the server and
    # reports a dead connection as "MySQL Connection not available"
    cur = conn if hasattr(conn, "fetchall") else conn.cursor()
    cur.execute(sql)
    return cur.fetchall()[0][0]


def test_forwards_and_counts(proxy: FaultProxy) -> None:
    conn = _connect(proxy)
    assert _one(conn, "SELECT @@report_host") == "instance-1"
    stats = proxy.stats()
    assert stats.accepted == 1 and stats.active == 1
    assert stats.bytes_up > 0 and stats.bytes_down > 0
    conn.close()


def test_blackhole_times_out_queries_and_connects(proxy: FaultProxy) -> None:
    conn = _connect(proxy, read_timeout=1)
    cur = conn.cursor()
    proxy.blackhole()
    with pytest.raises(errors.ReadTimeoutError) as info:
        _one(cur, "SELECT 1")
    assert info.value.errno == 3024
    with pytest.raises(errors.OperationalError, match="Connection not available"):
        conn.cursor()
    with pytest.raises(errors.ConnectionTimeoutError):
        _connect(proxy, connection_timeout=1)
    proxy.heal()
    assert _one(_connect(proxy), "SELECT 7") == 7


def test_blackhole_delivers_queued_bytes_on_heal(proxy: FaultProxy) -> None:
    raw = _connect(proxy)
    cur = raw.cursor()
    proxy.blackhole()
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(_one(cur, "SELECT 42")))
    worker.start()
    worker.join(0.3)
    assert worker.is_alive() and result == []  # held while the partition lasts
    proxy.heal()
    worker.join(10)
    assert result == [42]


def test_refuse_new_connections_keeps_open_ones(proxy: FaultProxy) -> None:
    raw = _connect(proxy)
    conn = raw.cursor()
    proxy.refuse()
    with pytest.raises(errors.InterfaceError) as info:
        _connect(proxy, connection_timeout=2)
    assert info.value.errno == 2003
    assert "Connection refused" in str(info.value)
    assert _one(conn, "SELECT 3") == 3
    proxy.heal()
    assert _one(_connect(proxy), "SELECT 4") == 4


def test_reset_all(proxy: FaultProxy) -> None:
    raw = _connect(proxy)
    conn = raw.cursor()
    assert proxy.reset_all() == 1
    with pytest.raises(errors.OperationalError) as info:
        _one(conn, "SELECT 1")
    assert info.value.errno == 2055
    assert "Connection reset by peer" in str(info.value)
    assert _one(_connect(proxy), "SELECT 5") == 5


def test_latency_trips_a_read_timeout(proxy: FaultProxy) -> None:
    raw = _connect(proxy, read_timeout=1)
    conn = raw.cursor()
    proxy.latency(3.0)
    with pytest.raises(errors.ReadTimeoutError):
        _one(conn, "SELECT 1")
    proxy.heal()
    assert _one(_connect(proxy, read_timeout=5), "SELECT 6") == 6


def test_retarget_moves_new_connections_only(proxy: FaultProxy, servers: MariaDBCluster) -> None:
    raw_old = _connect(proxy)
    old = raw_old.cursor()
    proxy.retarget(servers.server_address(2))
    assert proxy.target == servers.server_address(2)
    assert _one(_connect(proxy), "SELECT @@report_host") == "instance-2"
    assert _one(old, "SELECT @@report_host") == "instance-1"


def test_target_down_resets_the_client(servers: MariaDBCluster) -> None:
    # the proxy accepts, cannot reach the target and resets: mysql-connector reports the
    # RST as 2003 (during connect) or 2055 (while reading the greeting), never a refusal
    with fault_proxy(("127.0.0.1", 1)) as p, pytest.raises(errors.Error) as info:
        _connect(p, connection_timeout=2)
    assert info.value.errno in (2003, 2055)
    assert "Connection reset by peer" in str(info.value)
    assert p.stats().upstream_failures == 1


def test_stop_closes_the_port(servers: MariaDBCluster) -> None:
    p = FaultProxy(servers.server_address(1)).start()
    raw = _connect(p)
    conn = raw.cursor()
    p.stop()
    with pytest.raises(errors.InterfaceError) as info:
        _connect(p, connection_timeout=2)
    assert info.value.errno == 2003
    with pytest.raises(errors.Error):
        _one(conn, "SELECT 1")


def test_group_shares_one_port(servers: MariaDBCluster) -> None:
    targets = [servers.server_address(1), servers.server_address(2)]
    group = start_proxy_group(targets, ["127.0.0.71", "127.0.0.72"])
    try:
        assert group[0].port == group[1].port
        assert [_one(_connect(p), "SELECT @@report_host") for p in group] == [
            "instance-1",
            "instance-2",
        ]
    finally:
        for p in group:
            p.stop()
