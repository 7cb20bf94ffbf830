"""Failover, rejoin and re-clone steps of the PostgreSQL controller.

These functions work on a :class:`~awsdb_testing.pg.cluster.PgCluster` and its nodes; the
cluster's public methods (``failover``, ``rejoin``, ``reclone``, ``wait_converged``) call
them. Everything goes through each node's unix-socket control path, so network faults on
the nodes' TCP addresses never block the controller.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from awsdb_testing._procs import chown_tree, remove_tree
from awsdb_testing.model import FailoverReport, NodeInfo
from awsdb_testing.pg.node import PgNode

if TYPE_CHECKING:
    from awsdb_testing.pg.cluster import PgCluster

__all__ = [
    "lsn_to_int",
    "reclone_node",
    "rejoin_node",
    "run_failover",
    "wait_all_report",
    "wait_marker",
]

STUCK_AFTER_S = 3.0
REPAIR_WAIT_S = 5.0


def lsn_to_int(lsn: str) -> int:
    """``'0/3000148'`` → an integer for comparisons."""
    hi, lo = lsn.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def _most_advanced(nodes: list[PgNode]) -> PgNode:
    best: tuple[int, PgNode] | None = None
    for n in nodes:
        try:
            with n.connect(timeout=2) as conn:
                row = conn.execute(
                    "SELECT coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text"
                ).fetchone()
        except psycopg.Error:
            continue
        if row is None or row[0] is None:
            continue
        pos = lsn_to_int(str(row[0]))
        if best is None or pos > best[0]:
            best = (pos, n)
    if best is None:
        raise LookupError("no reachable replica to promote")
    return best[1]


def _repoint(node: PgNode, primary: PgNode) -> None:
    with node.connect(timeout=2) as conn:
        conn.execute(
            sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(
                sql.Literal(primary.tcp_conninfo(node.instance_id))
            )
        )
        conn.execute("SELECT pg_reload_conf()")


def _insert_marker(primary: PgNode, label: str) -> int:
    with primary.connect() as conn:
        conn.execute("SET synchronous_commit = local")
        row = conn.execute("INSERT INTO public.t (v) VALUES (%s) RETURNING id", (label,)).fetchone()
    assert row is not None
    return int(row[0])


def _state(node: PgNode, writer_id: str, marker: int | None) -> tuple[bool, bool]:
    """(reports ``writer_id`` as the only writer, marker row visible) on ``node``."""
    from awsdb_testing.pg.cluster import TOPOLOGY_SQL

    try:
        with node.connect(timeout=2) as conn:
            writers = [r[0] for r in conn.execute(TOPOLOGY_SQL).fetchall() if r[1]]
            seen = True
            if marker is not None:
                row = conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM public.t WHERE id = %s)", (marker,)
                ).fetchone()
                seen = bool(row and row[0])
    except psycopg.Error:
        return (False, False)
    return (writers == [writer_id], seen)


def wait_all_report(nodes: list[PgNode], writer_id: str, deadline: float) -> None:
    """Wait until every node's topology query reports ``writer_id`` as the only writer."""
    pending = list(nodes)
    while pending:
        pending = [n for n in pending if not _state(n, writer_id, None)[0]]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reporting {writer_id}: {[n.instance_id for n in pending]}")
        time.sleep(0.01)


def wait_marker(primary: PgNode, replicas: list[PgNode], deadline: float) -> None:
    """Insert a marker row on ``primary`` and wait until every replica shows it."""
    marker = _insert_marker(primary, "converge")
    pending = list(replicas)
    while pending:
        pending = [n for n in pending if not _state(n, primary.instance_id, marker)[1]]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"marker not replicated to {[n.instance_id for n in pending]}")
        time.sleep(0.01)


def run_failover(
    cluster: PgCluster,
    target: NodeInfo | str | int | None,
    *,
    kill: bool,
    no_writer_window_s: float,
) -> FailoverReport:
    """Kill/stop the writer, promote, repoint, and wait for convergence (see ``failover``)."""
    old = cluster._node(cluster.writer())
    candidates = [n for n in cluster._nodes if n is not old and n.pid is not None]
    if not candidates:
        raise LookupError("no running replica to fail over to")
    new_pref = cluster._node(target) if target is not None else None
    if new_pref is old:
        raise ValueError(f"{old.instance_id} is already the writer")
    report = FailoverReport(old.instance_id, "", "kill" if kill else "stop")
    steps = report.steps
    t0 = time.monotonic()
    report.started_at = t0
    if kill:
        old.kill()
    else:
        old.stop()
    steps["killed"] = time.monotonic() - t0
    new = new_pref or _most_advanced(candidates)
    report.new_writer = new.instance_id
    steps["chosen"] = time.monotonic() - t0
    if no_writer_window_s > 0:
        time.sleep(no_writer_window_s)
    with new.connect() as conn:
        conn.execute("SELECT pg_promote(wait => true, wait_seconds => 30)")
        steps["promoted"] = time.monotonic() - t0
        conn.execute("SET synchronous_commit = local")
        conn.execute(
            "UPDATE aurora_emu.topology SET is_writer = (server_id = %s)", (new.instance_id,)
        )
        steps["writable"] = time.monotonic() - t0
    others = [n for n in candidates if n is not new]
    for n in others:
        _repoint(n, new)
    steps["repointed"] = time.monotonic() - t0
    cluster.point_writer_endpoint(new.instance_id)
    _converge_with_repair(cluster, new, others, report, t0)
    return report


def _converge_with_repair(
    cluster: PgCluster, new: PgNode, others: list[PgNode], report: FailoverReport, t0: float
) -> None:
    marker = _insert_marker(new, "failover")
    status = {n.instance_id: (False, False) for n in others}
    repaired_at = {n.instance_id: time.monotonic() for n in others}
    attempts = {n.instance_id: 0 for n in others}
    deadline = time.monotonic() + 60.0
    while True:
        for n in others:
            if status[n.instance_id] != (True, True):
                status[n.instance_id] = _state(n, new.instance_id, marker)
        new_ok = _state(new, new.instance_id, None)[0]
        if new_ok and all(s[0] for s in status.values()) and "converged" not in report.steps:
            report.steps["converged"] = time.monotonic() - t0
        if all(s[1] for s in status.values()) and "replicated" not in report.steps:
            report.steps["replicated"] = time.monotonic() - t0
        if "converged" in report.steps and "replicated" in report.steps:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"failover to {new.instance_id} did not converge: {status}")
        now = time.monotonic()
        for n in others:
            key = n.instance_id
            wait = STUCK_AFTER_S if attempts[key] == 0 else REPAIR_WAIT_S
            # a replica whose server died (the startup process PANICs on a WAL segment
            # that the timeline switch made unavailable) is repaired at once
            crashed = n.pid is None
            if status[key] != (True, True) and (crashed or now - repaired_at[key] > wait):
                if attempts[key] == 0:
                    _restart(n)
                    report.repaired.append(f"{key}:restart")
                else:
                    reclone_node(cluster, n, verify=False)
                    report.repaired.append(f"{key}:reclone")
                attempts[key] += 1
                repaired_at[key] = time.monotonic()
        time.sleep(0.01)


def _restart(node: PgNode) -> None:
    node.stop(timeout=10)
    node.write_node_conf()
    node.start()


def _verify_replica(primary: PgNode, node: PgNode, timeout: float) -> bool:
    try:
        wait_marker(primary, [node], time.monotonic() + timeout)
    except TimeoutError:
        return False
    return True


def rejoin_node(cluster: PgCluster, node: PgNode) -> str:
    """pg_rewind ``node`` against the writer and start it as a replica; re-clone on failure."""
    writer = cluster._node(cluster.writer())
    if node is writer:
        raise ValueError(f"{node.instance_id} is the writer")
    node.kill()
    with writer.connect() as conn:
        conn.execute("CHECKPOINT")  # else pg_rewind may wrongly find "no rewind required"
    try:
        node.run_tool(
            [
                cluster.bins.tool("pg_rewind"),
                "-D",
                str(node.data),
                "--source-server",
                writer.control_conninfo("postgres"),
                "--no-sync",
            ]
        )
    except RuntimeError:
        reclone_node(cluster, node)
        return "reclone"
    node.write_node_conf()
    node.make_standby_of(writer)
    node.start()
    if not _verify_replica(writer, node, REPAIR_WAIT_S):
        reclone_node(cluster, node)
        return "reclone"
    cluster._refresh_names()
    return "rewind"


def reclone_node(cluster: PgCluster, node: PgNode, *, verify: bool = True) -> None:
    """Replace ``node``'s data directory with a base backup of the writer; start it."""
    writer = cluster._node(cluster.writer())
    if node is writer:
        raise ValueError(f"{node.instance_id} is the writer")
    node.kill()
    remove_tree(node.data)
    node.dir.mkdir(parents=True, exist_ok=True)
    chown_tree(node.dir, cluster.user)
    node.run_tool(
        [
            cluster.bins.tool("pg_basebackup"),
            "-D",
            str(node.data),
            "-h",
            str(writer.sock),
            "-p",
            str(writer.port),
            "-U",
            "postgres",
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
            "--no-manifest",
        ]
    )
    with contextlib.suppress(FileNotFoundError):
        (node.data / "postmaster.pid").unlink()
    node.write_node_conf()
    node.make_standby_of(writer)
    node.start()
    if verify and not _verify_replica(writer, node, 30.0):
        raise TimeoutError(f"re-cloned {node.instance_id} does not replicate")
    cluster._refresh_names()
