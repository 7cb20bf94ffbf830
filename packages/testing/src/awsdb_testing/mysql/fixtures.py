"""MariaDB and fault-injection fixtures as plain context managers (pytest-independent).

The pytest plugin wraps them as fixtures; other test runners, benchmarks and users
rehearsing failovers can use them directly:

- :func:`mariadb_missing_reason`: ``None`` when MariaDB can run here, else why not;
- :func:`mdb_cluster` (session scope): a 3-node cluster with rewriting proxies, snapshotted
  once so that destructive tests can restore it;
- :func:`mdb_fresh` (function scope): yields the shared cluster and restores the snapshot
  afterwards (node 1 writer, proxies healed);
- :func:`mdb_proxies` (function scope): the cluster's proxies, healed afterwards;
- :func:`fault_proxy`: one :class:`~awsdb_testing.proxy.FaultProxy` in front of any server;
- :func:`netns_missing_reason` / :func:`netns_network`: the root-only namespace mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from awsdb_testing.mysql._server import find_mariadb
from awsdb_testing.mysql.cluster import MariaDBCluster
from awsdb_testing.netns import NetnsNetwork, netns_available
from awsdb_testing.proxy import FaultProxy, StreamFilter

__all__ = [
    "fault_proxy",
    "mariadb_missing_reason",
    "mdb_cluster",
    "mdb_fresh",
    "mdb_proxies",
    "netns_missing_reason",
    "netns_network",
]


def mariadb_missing_reason() -> str | None:
    """``None`` if ``mariadbd`` and ``mariadb-install-db`` are installed, else a reason."""
    if find_mariadb() is None:
        return (
            "MariaDB is not installed (mariadbd / mariadb-install-db not found): run "
            "scripts/install-system-deps.sh (apt-get install mariadb-server mariadb-client)"
        )
    return None


def netns_missing_reason() -> str | None:
    """``None`` if the network-namespace mode can run (root, ``ip netns``, ``nft``)."""
    ok, reason = netns_available()
    return None if ok else reason


@contextmanager
def mdb_cluster(**kwargs: Any) -> Iterator[MariaDBCluster]:
    """Start a MariaDB cluster (``kwargs`` go to :class:`MariaDBCluster`), snapshot it,
    yield it, and kill everything by PID at the end."""
    cluster = MariaDBCluster(**kwargs)
    try:
        cluster.start()
        cluster.snapshot()
        yield cluster
    finally:
        cluster.close()


@contextmanager
def mdb_fresh(cluster: MariaDBCluster) -> Iterator[MariaDBCluster]:
    """Yield ``cluster`` for a destructive test; restore its snapshot afterwards."""
    try:
        yield cluster
    finally:
        cluster.remove_names()
        cluster.restore()


@contextmanager
def mdb_proxies(cluster: MariaDBCluster) -> Iterator[list[FaultProxy]]:
    """Yield the cluster's rewriting proxies; heal and re-aim them afterwards."""
    try:
        yield cluster.proxies
    finally:
        for node, proxy in zip(cluster.nodes, cluster.proxies, strict=True):
            proxy.heal()
            proxy.retarget(cluster.server_address(node.instance_id))


@contextmanager
def fault_proxy(
    target: tuple[str, int],
    listen: tuple[str, int] = ("127.0.0.1", 0),
    *,
    filter_factory: Callable[[], StreamFilter] | None = None,
) -> Iterator[FaultProxy]:
    """A started :class:`FaultProxy` in front of ``target``; stopped afterwards."""
    proxy = FaultProxy(target, listen, filter_factory=filter_factory)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@contextmanager
def netns_network(count: int = 3) -> Iterator[NetnsNetwork]:
    """A created :class:`NetnsNetwork` (root only), destroyed afterwards."""
    net = NetnsNetwork(count).create()
    try:
        yield net
    finally:
        net.destroy()
