"""Failover, rejoin and re-clone of the MariaDB controller.

The cluster's public methods (``failover``, ``wait_converged``, ``rejoin``, ``reclone``)
call these functions.
"""

from __future__ import annotations

import shutil
import time
from typing import TYPE_CHECKING

from awsdb_testing._procs import chown_tree
from awsdb_testing.model import FailoverReport
from awsdb_testing.mysql.node import NodeRef, ReplicationError
from awsdb_testing.mysql.replication import (
    change_master,
    gtid_binlog_pos,
    most_advanced,
    promote,
    wait_all_report,
    wait_caught_up,
    wait_gtid,
    write_marker,
)

if TYPE_CHECKING:
    from awsdb_testing.mysql.cluster import MariaDBCluster

__all__ = ["reclone_node", "rejoin_node", "run_failover", "wait_converged"]


def run_failover(
    cluster: MariaDBCluster,
    target: NodeRef | None = None,
    kill: bool = True,
    no_writer_window_s: float = 0.0,
    *,
    converge_timeout: float = 30.0,
) -> FailoverReport:
    """Kill (or stop) the writer, promote a replica, repoint the others.

    ``target`` picks the new writer; by default the replica that received the most
    (highest GTID). Steps in the report, seconds from the kill: ``killed``, ``promoted``
    (read-only off), ``writable`` (first write committed on the new writer),
    ``repointed``, ``converged`` (every live node reports the new writer),
    ``replicated`` (a marker row written on the new writer is on every replica). The old
    writer stays down; call :meth:`rejoin` to bring it back.
    """
    with cluster._lock:
        old = cluster._node(cluster.writer().instance_id)
        replicas = [n for n in cluster._live_nodes() if n.index != old.index]
        if not replicas:
            raise LookupError("no replica to promote")
        chosen = cluster._node(target) if target is not None else None
        if chosen is not None and (chosen.index == old.index or not chosen.alive()):
            raise ValueError(f"cannot promote {chosen.instance_id}")
        report = FailoverReport(old.instance_id, "", "kill" if kill else "stop")
        t0 = time.monotonic()
        report.started_at = t0
        if kill:
            cluster.kill(old.index)
        else:
            cluster.stop(old.index)
        report.steps["killed"] = time.monotonic() - t0
        if no_writer_window_s > 0:
            time.sleep(no_writer_window_s)
        new = chosen or most_advanced(cluster, replicas)
        report.new_writer = new.instance_id
        promote(cluster, new)
        report.steps["promoted"] = time.monotonic() - t0
        cluster._q(
            new,
            "UPDATE aurora_emu.topology SET is_writer = (server_id = %s)",
            (new.instance_id,),
        )
        report.steps["writable"] = time.monotonic() - t0
        others = [n for n in replicas if n.index != new.index]
        for node in others:
            change_master(cluster, node, new, use_gtid="slave_pos")
        report.steps["repointed"] = time.monotonic() - t0
        cluster._schedule_endpoint_flip(new.index)
        deadline = t0 + converge_timeout
        wait_all_report(cluster, new, [new, *others], deadline)
        report.steps["converged"] = time.monotonic() - t0
        pos = write_marker(cluster, new, f"failover-{new.instance_id}")
        for node in others:
            try:
                wait_gtid(cluster, node, pos, deadline)
            except (ReplicationError, TimeoutError):
                reclone_node(cluster, node.index, timeout=max(5.0, deadline - time.monotonic()))
                report.repaired.append(node.instance_id)
        report.steps["replicated"] = time.monotonic() - t0
        return report


def wait_converged(cluster: MariaDBCluster, timeout: float = 30.0) -> float:
    """Wait until one live node is writable, every live node reports it as the writer
    and every replica has applied the writer's binlog; returns seconds waited."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        try:
            writer = cluster._node(cluster.writer().instance_id)
            live = cluster._live_nodes()
            wait_all_report(cluster, writer, live, deadline)
            pos = gtid_binlog_pos(cluster, writer)
            for node in live:
                if node.index != writer.index:
                    wait_gtid(cluster, node, pos, deadline)
            return time.monotonic() - t0
        except LookupError:
            if time.monotonic() > deadline:
                raise TimeoutError("no writer") from None
            time.sleep(0.01)


def rejoin_node(cluster: MariaDBCluster, ref: NodeRef, *, timeout: float = 30.0) -> float:
    """Bring ``ref`` back as a replica of the current writer; returns seconds taken.

    The node is started read-only if needed and repointed with
    ``MASTER_USE_GTID=current_pos`` (its own GTIDs live in its binlog). If replication
    fails (for example its binlog has transactions the new writer never received), the
    node is re-cloned.
    """
    t0 = time.monotonic()
    node = cluster._node(ref)
    writer = cluster._node(cluster.writer().instance_id)
    if node.index == writer.index:
        raise ValueError(f"{node.instance_id} is the writer")
    if not node.alive():
        cluster._start_servers({node.index: True})
    else:
        cluster._q(node, "SET GLOBAL read_only = ON")
    node.was_writer = False
    try:
        change_master(cluster, node, writer, use_gtid="current_pos")
        wait_caught_up(cluster, node, writer, timeout)
    except (ReplicationError, TimeoutError):
        reclone_node(cluster, node.index, timeout=timeout)
    return time.monotonic() - t0


def reclone_node(cluster: MariaDBCluster, ref: NodeRef, *, timeout: float = 60.0) -> float:
    """Rebuild ``ref`` from a pristine data directory, replaying the writer's binlog."""
    t0 = time.monotonic()
    node = cluster._node(ref)
    writer = cluster._node(cluster.writer().instance_id)
    if node.index == writer.index:
        raise ValueError(f"{node.instance_id} is the writer")
    cluster.kill(node.index)
    assert cluster._base is not None
    shutil.rmtree(node.datadir, ignore_errors=True)
    shutil.copytree(cluster._base / "pristine", node.datadir, symlinks=True)
    chown_tree(node.dir, cluster._user)
    # a new server id: a replica skips binlog events carrying its own id, and the
    # history it replays was partly written under the old one
    node.server_id += 1000
    cluster._start_servers({node.index: True})
    node.was_writer = False
    change_master(cluster, node, writer, use_gtid="slave_pos")
    wait_caught_up(cluster, node, writer, timeout)
    return time.monotonic() - t0
