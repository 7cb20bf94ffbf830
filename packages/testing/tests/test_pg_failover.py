"""Failover controller on real servers: kill/stop, rejoin, re-clone, stuck replicas, durability."""

from __future__ import annotations

import contextlib
import threading
import time

import psycopg
import pytest

from awsdb_testing.pg import PgCluster
from awsdb_testing.pg.node import PgNode

pytestmark = pytest.mark.pg


def _insert_visible_everywhere(cluster: PgCluster, label: str) -> None:
    writer = cluster.writer()
    with psycopg.connect(**cluster.app_conninfo_kwargs(writer), autocommit=True) as conn:
        row = conn.execute("INSERT INTO t (v) VALUES (%s) RETURNING id", (label,)).fetchone()
    assert row is not None
    cluster.wait_converged(timeout=20)
    for node in cluster.readers():
        with psycopg.connect(**cluster.app_conninfo_kwargs(node)) as conn:
            assert conn.execute("SELECT v FROM t WHERE id = %s", (row[0],)).fetchone() == (label,)


def test_kill_failover_report_and_rejoin_with_rewind(fresh_pg_cluster: PgCluster) -> None:
    cluster = fresh_pg_cluster
    old_pid = cluster.pids()["instance-1"]
    report = cluster.failover(target="instance-3")
    assert (report.old_writer, report.new_writer, report.method) == (
        "instance-1",
        "instance-3",
        "kill",
    )
    steps = list(report.steps)
    # the two end states are recorded in whichever order the servers reach them
    assert steps[:5] == ["killed", "chosen", "promoted", "writable", "repointed"]
    assert sorted(steps[5:]) == ["converged", "replicated"]
    assert report.steps["repointed"] <= min(report.steps["converged"], report.steps["replicated"])
    assert report.writable_s is not None and report.converged_s is not None
    assert report.repaired == []
    assert "instance-1" not in cluster.pids()
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(old_pid, 0)
    assert cluster.reported_writers("instance-2") == ["instance-3"]
    # the old writer rejoins as a replica of the new one
    assert cluster.rejoin("instance-1") == "rewind"
    assert sorted(n.instance_id for n in cluster.readers()) == ["instance-1", "instance-2"]
    assert cluster.reported_writers("instance-1") == ["instance-3"]
    _insert_visible_everywhere(cluster, "after-rejoin")


def test_stop_failover_and_reclone(fresh_pg_cluster: PgCluster) -> None:
    cluster = fresh_pg_cluster
    report = cluster.failover(kill=False, no_writer_window_s=0.2)
    assert report.method == "stop"
    assert report.steps["promoted"] >= 0.2  # the no-writer window was honoured
    cluster.reclone(report.old_writer)
    assert report.old_writer in [n.instance_id for n in cluster.readers()]
    _insert_visible_everywhere(cluster, "after-reclone")


def test_stuck_replica_is_restarted(fresh_pg_cluster: PgCluster) -> None:
    cluster = fresh_pg_cluster
    with cluster.superuser_connect("instance-3") as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    report = cluster.failover(target="instance-2")
    assert report.repaired == ["instance-3:restart"]
    assert cluster.reported_writers("instance-3") == ["instance-2"]


def test_replica_that_crashes_at_the_timeline_switch_is_restarted_at_once(
    fresh_pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from awsdb_testing.pg import failover

    cluster = fresh_pg_cluster
    real_repoint = failover._repoint

    def repoint_then_crash(node: PgNode, primary: PgNode) -> None:
        real_repoint(node, primary)
        if node.instance_id == "instance-3":
            node.kill()  # as when its startup process PANICs on a missing WAL segment

    monkeypatch.setattr(failover, "_repoint", repoint_then_crash)
    # no waiting for the stuck-replica delay: a dead server is repaired when it is seen
    monkeypatch.setattr(failover, "STUCK_AFTER_S", 1000.0)
    report = cluster.failover(target="instance-2")
    assert report.repaired == ["instance-3:restart"]
    assert "instance-3" in cluster.pids()
    assert cluster.reported_writers("instance-3") == ["instance-2"]
    _insert_visible_everywhere(cluster, "after-crash-repair")


def test_stuck_replica_is_recloned_when_restart_does_not_help(
    fresh_pg_cluster: PgCluster,
) -> None:
    cluster = fresh_pg_cluster
    # a persistent apply delay survives the restart: only a re-clone repairs the replica
    with cluster.superuser_connect("instance-3") as conn:
        conn.execute("ALTER SYSTEM SET recovery_min_apply_delay = '1h'")
        conn.execute("SELECT pg_reload_conf()")
    report = cluster.failover(target="instance-2")
    assert report.repaired == ["instance-3:restart", "instance-3:reclone"]
    with cluster.superuser_connect("instance-3") as conn:
        assert conn.execute("SHOW recovery_min_apply_delay").fetchone() == ("0",)
    _insert_visible_everywhere(cluster, "after-repair")


def test_durable_mode_loses_no_acknowledged_commit(awsdb_leak_check: None) -> None:
    with PgCluster(durable=True, first_octet=51) as cluster:
        acked: list[int] = []
        errors: list[str] = []
        stop = threading.Event()

        def writer_loop() -> None:
            host = cluster.writer()
            conn: psycopg.Connection | None = None
            while not stop.is_set():
                try:
                    if conn is None:
                        conn = psycopg.connect(
                            **cluster.app_conninfo_kwargs(host), autocommit=True, connect_timeout=2
                        )
                    row = conn.execute("INSERT INTO t (v) VALUES ('w') RETURNING id").fetchone()
                    assert row is not None
                    acked.append(int(row[0]))
                except psycopg.Error as exc:
                    errors.append(type(exc).__name__)
                    conn = None
                    time.sleep(0.02)
                    with contextlib.suppress(LookupError):
                        host = cluster.writer()

        thread = threading.Thread(target=writer_loop, name="durable-writer", daemon=True)
        thread.start()
        time.sleep(0.5)
        before = len(acked)
        report = cluster.failover()
        time.sleep(0.5)
        stop.set()
        thread.join(10)
        assert not thread.is_alive()
        assert before > 0 and len(acked) > before  # writes continued on the new writer
        assert errors  # the client saw the crash
        with cluster.superuser_connect(report.new_writer) as conn:
            present = {r[0] for r in conn.execute("SELECT id FROM t").fetchall()}
        lost = [i for i in acked if i not in present]
        assert lost == []
