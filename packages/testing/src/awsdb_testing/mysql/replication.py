"""GTID replication steps of the MariaDB controller.

These functions work on a :class:`~awsdb_testing.mysql.cluster.MariaDBCluster` and its
nodes, through each node's root control connection (the unix socket), so faults on the
nodes' TCP addresses and proxies never block the controller.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from awsdb_testing.model import TopologyRow
from awsdb_testing.mysql._sql import REPL_PASSWORD, REPL_USER, setup_sql
from awsdb_testing.mysql.node import WRITER_QUERY, MariaDBNode, ReplicationError, gtid_seq

if TYPE_CHECKING:
    from awsdb_testing.mysql.cluster import MariaDBCluster

__all__ = [
    "bootstrap_primary",
    "change_master",
    "check_replication",
    "gtid_binlog_pos",
    "most_advanced",
    "promote",
    "wait_all_report",
    "wait_caught_up",
    "wait_gtid",
    "wait_replicas_caught_up",
    "write_marker",
    "write_membership",
    "write_static_topology",
]


def bootstrap_primary(cluster: MariaDBCluster, primary: MariaDBNode) -> None:
    """Create the users, schemas and emulation objects on the first primary."""
    for stmt in setup_sql():
        cluster._q(primary, stmt)
    write_membership(cluster, primary, live=True)


def write_membership(cluster: MariaDBCluster, writer: MariaDBNode, *, live: bool) -> None:
    """Rewrite the membership table: one row per node, ``writer`` the writer."""
    conn = cluster._ctl(writer)
    cur = conn.cursor()
    try:
        cur.execute("START TRANSACTION")
        cur.execute("DELETE FROM aurora_emu.topology")
        for node in cluster._nodes:
            cur.execute(
                "INSERT INTO aurora_emu.topology (server_id, host, port, is_writer) "
                "VALUES (%s, %s, %s, %s)",
                (node.instance_id, node.host, node.port, node.index == writer.index),
            )
        cur.execute("UPDATE aurora_emu.config SET live = %s WHERE id = 1", (live,))
        cur.execute("COMMIT")
    finally:
        cur.close()


def change_master(
    cluster: MariaDBCluster, node: MariaDBNode, master: MariaDBNode, *, use_gtid: str
) -> None:
    """Point ``node``'s replication at ``master``.

    ``use_gtid`` is ``slave_pos`` (a fresh replica) or ``current_pos`` (a former writer).
    """
    cluster._q(node, "STOP SLAVE")
    cluster._q(
        node,
        f"CHANGE MASTER TO MASTER_HOST='{master.host}', MASTER_PORT={master.port}, "
        f"MASTER_USER='{REPL_USER}', MASTER_PASSWORD='{REPL_PASSWORD}', "
        f"MASTER_USE_GTID={use_gtid}, MASTER_CONNECT_RETRY=1, "
        "MASTER_HEARTBEAT_PERIOD=1",
    )
    cluster._q(node, "START SLAVE")


def promote(cluster: MariaDBCluster, node: MariaDBNode) -> None:
    """Make ``node`` the writer: apply what it received, drop replication, read-only off."""
    status = cluster.replication_status(node.index)
    if status is not None:
        io_pos = str(status.get("Gtid_IO_Pos") or "")
        if io_pos:  # apply everything already received before promoting
            cluster._q(node, "SELECT MASTER_GTID_WAIT(%s, 5)", (io_pos,))
    cluster._q(node, "STOP SLAVE")
    cluster._q(node, "RESET SLAVE ALL")
    cluster._q(node, "SET GLOBAL read_only = OFF")
    node.was_writer = True
    for other in cluster._nodes:
        if other.index != node.index:
            other.was_writer = False


def most_advanced(cluster: MariaDBCluster, replicas: list[MariaDBNode]) -> MariaDBNode:
    """The replica that received (then applied) the most; ties go to the lowest index."""

    def rank(node: MariaDBNode) -> tuple[int, int, int]:
        status = cluster.replication_status(node.index) or {}
        received = gtid_seq(str(status.get("Gtid_IO_Pos") or ""))
        applied = gtid_seq(str(cluster._q(node, "SELECT @@gtid_current_pos")[0][0] or ""))
        return (max(received, applied), applied, -node.index)

    return max(replicas, key=rank)


def wait_all_report(
    cluster: MariaDBCluster, writer: MariaDBNode, nodes: list[MariaDBNode], deadline: float
) -> None:
    """Wait until every node in ``nodes`` reports ``writer`` as the only writer."""
    pending = list(nodes)
    while pending:
        pending = [
            n
            for n in pending
            if [str(r[0]) for r in cluster._q(n, WRITER_QUERY)] != [writer.instance_id]
        ]
        if not pending:
            return
        for node in pending:
            check_replication(cluster, node)
        if time.monotonic() > deadline:
            names = ", ".join(n.instance_id for n in pending)
            raise TimeoutError(f"{names} do not report {writer.instance_id} as writer")
        time.sleep(0.003)


def write_marker(cluster: MariaDBCluster, writer: MariaDBNode, value: str) -> str:
    """Insert a marker row on ``writer``; returns its GTID binlog position."""
    cluster._q(writer, "INSERT INTO appdb.marker (v) VALUES (%s)", (value[:64],))
    return gtid_binlog_pos(cluster, writer)


def gtid_binlog_pos(cluster: MariaDBCluster, node: MariaDBNode) -> str:
    """``@@gtid_binlog_pos`` of ``node``."""
    return str(cluster._q(node, "SELECT @@gtid_binlog_pos")[0][0] or "")


def wait_gtid(cluster: MariaDBCluster, node: MariaDBNode, pos: str, deadline: float) -> None:
    """Wait until ``node`` has applied GTID position ``pos``.

    Raises ``ReplicationError`` when a replication thread broke, ``TimeoutError`` at the
    deadline.
    """
    if not pos:
        return
    while True:
        remaining = deadline - time.monotonic()
        step = max(0.0, min(0.5, remaining))
        rows = cluster._q(node, "SELECT MASTER_GTID_WAIT(%s, %s)", (pos, step))
        if rows and int(rows[0][0]) == 0:
            return
        check_replication(cluster, node)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{node.instance_id} did not reach GTID {pos}")


def wait_caught_up(
    cluster: MariaDBCluster, node: MariaDBNode, writer: MariaDBNode, timeout: float
) -> None:
    """Wait until ``node`` has applied everything in ``writer``'s binlog."""
    wait_gtid(cluster, node, gtid_binlog_pos(cluster, writer), time.monotonic() + timeout)


def wait_replicas_caught_up(cluster: MariaDBCluster, writer: MariaDBNode, timeout: float) -> None:
    """Wait until every live replica has applied ``writer``'s binlog."""
    deadline = time.monotonic() + timeout
    pos = gtid_binlog_pos(cluster, writer)
    for node in cluster._live_nodes():
        if node.index != writer.index:
            wait_gtid(cluster, node, pos, deadline)


def check_replication(cluster: MariaDBCluster, node: MariaDBNode) -> None:
    """Raise ``ReplicationError`` if a replication thread of ``node`` stopped with an error."""
    status = cluster.replication_status(node.index)
    if status is None:
        return
    for kind in ("IO", "SQL"):
        errno_ = int(status.get(f"Last_{kind}_Errno") or 0)
        if errno_ and errno_ not in (2003, 2013):  # connect retries are not fatal
            msg = status.get(f"Last_{kind}_Error")
            raise ReplicationError(f"{node.instance_id} {kind} thread error {errno_}: {msg}")


def write_static_topology(cluster: MariaDBCluster, rows: list[TopologyRow]) -> None:
    """Make every node report exactly ``rows`` (zero, one or several writers)."""
    writer = cluster._node(cluster.writer().instance_id)
    by_id = {n.instance_id: n for n in cluster._nodes}
    conn = cluster._ctl(writer)
    cur = conn.cursor()
    try:
        cur.execute("START TRANSACTION")
        cur.execute("DELETE FROM aurora_emu.topology")
        for row in rows:
            node = by_id.get(row.server_id)
            cur.execute(
                "INSERT INTO aurora_emu.topology (server_id, host, port, is_writer, cpu, "
                "replica_lag_in_milliseconds, last_update_timestamp, hidden) VALUES "
                "(%s, %s, %s, %s, %s, %s, IF(%s IS NULL, NULL, "
                "NOW(6) - INTERVAL %s MICROSECOND), %s)",
                (
                    row.server_id,
                    node.host if node else "",
                    node.port if node else 0,
                    row.is_writer,
                    row.cpu,
                    row.replica_lag_ms,
                    row.last_update_age_s,
                    int((row.last_update_age_s or 0) * 1_000_000),
                    row.hidden,
                ),
            )
        cur.execute("UPDATE aurora_emu.config SET live = FALSE WHERE id = 1")
        cur.execute("COMMIT")
    finally:
        cur.close()
    wait_replicas_caught_up(cluster, writer, timeout=30.0)
