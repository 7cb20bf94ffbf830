"""Root-only network-namespace faults against real PostgreSQL nodes.

Each node runs in its own namespace behind a bridge; clients connect directly to the node's
address (no proxy), so what psycopg sees is the kernel's own behaviour: a link down is found
by ``tcp_user_timeout`` / keepalives, an nft drop by ``connect_timeout``, an nft reject
answers at once with a reset. Skipped cleanly without root, ``ip netns`` or ``nft``.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from awsdb.drivers import ErrorKind
from awsdb.drivers._psycopg import PsycopgDialect
from awsdb_testing.netns import NetnsNetwork
from awsdb_testing.pg import PgCluster

pytestmark = [pytest.mark.netns, pytest.mark.pg]

# what awsdb's defaults amount to for a dead host: a bounded connect, keepalives on an idle
# connection and a bound on unacknowledged data
_DETECTING = {
    "connect_timeout": 2,
    "keepalives": 1,
    "keepalives_idle": 1,
    "keepalives_interval": 1,
    "keepalives_count": 2,
    "tcp_user_timeout": 2000,
}


@pytest.fixture
def ns(
    pg_netns_cluster: tuple[NetnsNetwork, PgCluster],
) -> Iterator[tuple[NetnsNetwork, PgCluster]]:
    net, cluster = pg_netns_cluster
    try:
        yield net, cluster
    finally:
        net.heal()
        cluster.restore()


def _connect(cluster: PgCluster, node: str, **extra: Any) -> psycopg.Connection:
    return psycopg.connect(**cluster.app_conninfo_kwargs(node), autocommit=True, **extra)


def _instance(conn: psycopg.Connection) -> str:
    row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
    assert row is not None
    return str(row[0])


def _outcome(fn: Callable[[], Any], timeout: float) -> list[Any]:
    """Run ``fn`` in a thread; the result or exception, or ``[]`` if it still hangs."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    return out


def test_nodes_live_in_their_namespaces(ns: tuple[NetnsNetwork, PgCluster]) -> None:
    net, cluster = ns
    pids = cluster.pids()
    for i, node in enumerate(cluster.nodes, start=1):
        assert (node.host, node.port) == (net.node_ip(i), 5432)
        # the recorded PID is the postmaster itself, inside the node's namespace
        pid = pids[node.instance_id]
        assert Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
        found = subprocess.run(
            ["ip", "netns", "identify", str(pid)], capture_output=True, text=True, check=True
        )
        assert found.stdout.strip() == net.namespace(i)
        with _connect(cluster, node.instance_id) as conn:
            assert _instance(conn) == node.instance_id
            row = conn.execute("SELECT host(inet_client_addr())").fetchone()
            assert row == (net.client_ip,)  # the client crossed the bridge
    assert cluster.writer().instance_id == "instance-1"
    cluster.wait_converged(20)  # replication crosses the bridge too


def test_link_down_is_detected_by_tcp_user_timeout(ns: tuple[NetnsNetwork, PgCluster]) -> None:
    net, cluster = ns
    conn = _connect(cluster, "instance-2", **_DETECTING)
    assert _instance(conn) == "instance-2"
    net.link_down(2)
    # no timing assertion: the query must fail instead of hanging (generous guard)
    out = _outcome(lambda: conn.execute("SELECT 1").fetchone(), timeout=60)
    assert out, "the query hung although the link was down"
    assert isinstance(out[0], psycopg.OperationalError), out
    # awsdb sees a lost host, not a timeout or a local close
    assert PsycopgDialect().classify(out[0]) is ErrorKind.NETWORK, out
    # a new connection cannot reach the node either: connect_timeout bounds it
    out = _outcome(lambda: _connect(cluster, "instance-2", **_DETECTING), timeout=60)
    assert out and isinstance(out[0], psycopg.errors.ConnectionTimeout), out
    net.link_up(2)
    with _connect(cluster, "instance-2", **_DETECTING) as again:
        assert _instance(again) == "instance-2"


def test_nft_drop_times_out_connects(ns: tuple[NetnsNetwork, PgCluster]) -> None:
    net, cluster = ns
    net.drop(3, port=5432)
    with pytest.raises(psycopg.errors.ConnectionTimeout, match="connection timeout expired"):
        _connect(cluster, "instance-3", connect_timeout=1)
    net.heal(3)
    with _connect(cluster, "instance-3", connect_timeout=5) as conn:
        assert _instance(conn) == "instance-3"


def test_nft_reject_refuses_at_once(ns: tuple[NetnsNetwork, PgCluster]) -> None:
    net, cluster = ns
    net.reject(2, port=5432)
    with pytest.raises(psycopg.OperationalError, match="Connection refused") as info:
        _connect(cluster, "instance-2", connect_timeout=5)
    assert type(info.value) is psycopg.OperationalError
    # only the client is rejected: replication to the node keeps flowing
    cluster.wait_converged(20)


def test_partitioned_writer_is_failed_over(ns: tuple[NetnsNetwork, PgCluster]) -> None:
    net, cluster = ns
    net.link_down(1)  # clients and replicas lose the writer
    report = cluster.failover()  # fences node 1 by PID, over its unix socket
    assert report.old_writer == "instance-1"
    assert report.new_writer in ("instance-2", "instance-3")
    with _connect(cluster, report.new_writer, connect_timeout=5) as conn:
        conn.execute("INSERT INTO public.t (v) VALUES ('after the partition')")
    net.heal(1)
    assert cluster.rejoin("instance-1") in ("rewind", "reclone")
    cluster.wait_converged(30)
    with _connect(cluster, "instance-1", connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM public.t WHERE v = 'after the partition'")
        assert row.fetchone() == (1,)
