"""Snapshot and restore of the MariaDB cluster's data directories."""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING

from awsdb_testing._procs import chown_tree, remove_tree
from awsdb_testing.mysql.replication import wait_replicas_caught_up

if TYPE_CHECKING:
    from awsdb_testing.mysql.cluster import MariaDBCluster

__all__ = ["restore_snapshot", "take_snapshot"]


def take_snapshot(cluster: MariaDBCluster) -> float:
    """Stop the cluster cleanly, copy its data directories, start it again.

    The cluster must be converged (every replica caught up). Returns seconds taken.
    """
    t0 = time.monotonic()
    assert cluster._base is not None
    writer = cluster._node(cluster.writer().instance_id)
    wait_replicas_caught_up(cluster, writer, timeout=30.0)
    roles = {n.index: n.index != writer.index for n in cluster._nodes}
    snap = cluster._base / "snapshot"
    remove_tree(snap)
    cluster._drop_ctl_conns()
    for node in cluster._nodes:
        if node.proc is not None:
            node.proc.stop()
            node.proc = None
    snap.mkdir()
    for node in cluster._nodes:
        shutil.copytree(node.datadir, snap / f"n{node.index}", symlinks=True)
    (snap / "writer").write_text(str(writer.index))
    cluster._start_servers(roles)
    for node in cluster._nodes:
        if node.index != writer.index:
            cluster._q(node, "START SLAVE")
    cluster._has_snapshot = True
    cluster.timings["snapshot"] = time.monotonic() - t0
    return cluster.timings["snapshot"]


def restore_snapshot(cluster: MariaDBCluster) -> float:
    """SIGKILL everything, copy the snapshot back, start and wait for replication.

    Proxies are healed and the writer endpoint points at the snapshot's writer again.
    Returns seconds taken.
    """
    if not cluster._has_snapshot or cluster._base is None:
        raise RuntimeError("no snapshot taken")
    t0 = time.monotonic()
    snap = cluster._base / "snapshot"
    writer_index = int((snap / "writer").read_text())
    cluster._drop_ctl_conns()
    cluster._kill_all_servers()
    for node in cluster._nodes:
        shutil.rmtree(node.datadir, ignore_errors=True)
        shutil.copytree(snap / f"n{node.index}", node.datadir, symlinks=True)
        chown_tree(node.dir, cluster._user)
        node.was_writer = node.index == writer_index
    cluster._start_servers({n.index: n.index != writer_index for n in cluster._nodes})
    for node in cluster._nodes:
        if node.index != writer_index:
            cluster._q(node, "START SLAVE")
    for proxy in cluster.proxies:
        proxy.heal()
        proxy.retarget(cluster.server_address(cluster._nodes[cluster.proxies.index(proxy)].index))
    if cluster._dns_timer is not None:
        cluster._dns_timer.cancel()
        cluster._dns_timer = None
    cluster.point_writer_endpoint(writer_index)
    wait_replicas_caught_up(cluster, cluster._node(writer_index), timeout=30.0)
    cluster.timings["restore"] = time.monotonic() - t0
    return cluster.timings["restore"]
