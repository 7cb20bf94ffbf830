"""Root-only network-namespace faults: real kernel behaviour against MariaDB nodes.

Each node runs in its own namespace behind a bridge; the client connects directly to the
node's address (no proxy), so the kernel's own timeouts and resets are what it sees.
Skipped cleanly without root, ``ip netns`` or ``nft``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from mysql.connector import errors

from awsdb_testing.mysql import MariaDBCluster
from awsdb_testing.mysql.fixtures import (
    mariadb_missing_reason,
    netns_missing_reason,
    netns_network,
)
from awsdb_testing.netns import NetnsNetwork

pytestmark = [pytest.mark.netns, pytest.mark.mysql]


@pytest.fixture(scope="module")
def ns_cluster(awsdb_leak_check: None) -> Iterator[tuple[NetnsNetwork, MariaDBCluster]]:
    reason = netns_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    reason = mariadb_missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    with netns_network(3) as net:
        cluster = MariaDBCluster(network=net, proxy_first_ip=81)
        try:
            cluster.start()
            cluster.snapshot()
            yield net, cluster
        finally:
            cluster.close()
        assert net.leftovers() != []  # still there until the context ends
    assert net.leftovers() == []


@pytest.fixture
def env(ns_cluster: tuple[NetnsNetwork, MariaDBCluster]) -> Iterator[tuple[NetnsNetwork, Any]]:
    net, cluster = ns_cluster
    try:
        yield net, cluster
    finally:
        net.heal()
        cluster.restore()


def _cursor(cluster: MariaDBCluster, index: int | str, **kw: Any) -> tuple[Any, Any]:
    conn = cluster.connect_app(index, direct=True, autocommit=True, **kw)
    return conn, conn.cursor()


def test_nodes_live_in_their_namespaces(env: tuple[NetnsNetwork, MariaDBCluster]) -> None:
    net, cluster = env
    for i in (1, 2, 3):
        assert cluster.server_address(i) == (net.node_ip(i), 3306)
        _conn, cur = _cursor(cluster, i)
        cur.execute("SELECT @@report_host")
        assert cur.fetchall() == [(f"instance-{i}",)]
    cluster.wait_converged(10)  # replication crosses the bridge


def test_link_down_read_timeout(env: tuple[NetnsNetwork, MariaDBCluster]) -> None:
    net, cluster = env
    _conn, cur = _cursor(cluster, 2, read_timeout=1)
    net.link_down(2)
    with pytest.raises(errors.ReadTimeoutError) as info:
        cur.execute("SELECT 1")
    assert info.value.errno == 3024


def test_drop_times_out_connects(env: tuple[NetnsNetwork, MariaDBCluster]) -> None:
    net, cluster = env
    net.drop(3, port=3306)
    with pytest.raises(errors.ConnectionTimeoutError) as info:
        _cursor(cluster, 3, connection_timeout=1)
    assert info.value.errno == 2003
    assert "timed out" in str(info.value)
    net.heal(3)
    _conn, cur = _cursor(cluster, 3, connection_timeout=5)
    cur.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]


def test_reject_refuses_at_once(env: tuple[NetnsNetwork, MariaDBCluster]) -> None:
    net, cluster = env
    net.reject(2, port=3306)
    with pytest.raises(errors.InterfaceError) as info:
        _cursor(cluster, 2, connection_timeout=5)
    assert info.value.errno == 2003
    assert "Connection refused" in str(info.value)


def test_partitioned_writer_fenced_and_failed_over(
    env: tuple[NetnsNetwork, MariaDBCluster],
) -> None:
    net, cluster = env
    _conn, cur = _cursor(cluster, 1, read_timeout=1)
    net.link_down(1)  # clients and replicas lose the writer
    with pytest.raises(errors.ReadTimeoutError):
        cur.execute("SELECT 1")
    report = cluster.failover()  # fences node 1 through its PID, over the control socket
    assert report.old_writer == "instance-1"
    _c2, cur2 = _cursor(cluster, report.new_writer)
    cur2.execute("INSERT INTO marker (v) VALUES ('after-partition')")
    net.heal(1)
    cluster.rejoin("instance-1")
    cluster.wait_converged(30)
    _c3, cur3 = _cursor(cluster, 1)
    cur3.execute("SELECT COUNT(*) FROM marker WHERE v = 'after-partition'")
    assert cur3.fetchall() == [(1,)]
