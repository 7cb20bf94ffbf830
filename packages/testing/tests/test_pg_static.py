"""Static-mode topology injection and live mode, read through the exact aurora-pg SQL."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from awsdb_testing.model import TopologyRow
from awsdb_testing.pg import TOPOLOGY_SQL, WRITER_CHECK_SQL, PgCluster

pytestmark = pytest.mark.pg


def _rows(cluster: PgCluster, node: str) -> dict[str, tuple[Any, ...]]:
    with psycopg.connect(**cluster.app_conninfo_kwargs(node), autocommit=True) as conn:
        return {r[0]: r for r in conn.execute(TOPOLOGY_SQL).fetchall()}


def test_static_topologies(fresh_pg_cluster: PgCluster) -> None:
    cluster = fresh_pg_cluster
    # stale reader row is dropped by the query's 300 s filter; a stale writer row is kept
    cluster.set_topology_static(
        [
            TopologyRow("instance-1", True, last_update_age_s=600),
            TopologyRow("instance-2", False, last_update_age_s=600),
            TopologyRow("instance-3", False, cpu=42.5, replica_lag_ms=1234.0),
        ]
    )
    for node in ("instance-1", "instance-2", "instance-3"):
        rows = _rows(cluster, node)
        assert sorted(rows) == ["instance-1", "instance-3"]
        assert rows["instance-1"][1] is True
        assert rows["instance-3"][2:4] == (42.5, 1234.0)

    # hidden instance and an unknown id
    cluster.set_topology_static(
        [
            TopologyRow("instance-1", True),
            TopologyRow("instance-2", False, hidden=True),
            TopologyRow("instance-9", False),
        ]
    )
    assert sorted(_rows(cluster, "instance-3")) == ["instance-1", "instance-9"]

    # no writer at all, even on the real primary
    cluster.set_topology_static(
        [TopologyRow("instance-1", False), TopologyRow("instance-2", False)]
    )
    for node in ("instance-1", "instance-2"):
        assert [k for k, r in _rows(cluster, node).items() if r[1]] == []
    with psycopg.connect(**cluster.app_conninfo_kwargs(1)) as conn:
        assert conn.execute(WRITER_CHECK_SQL).fetchall() == []

    # two writers
    cluster.set_topology_static(
        [
            TopologyRow("instance-1", True),
            TopologyRow("instance-2", True),
            TopologyRow("instance-3", False),
        ]
    )
    for node in ("instance-1", "instance-3"):
        writers = sorted(k for k, r in _rows(cluster, node).items() if r[1])
        assert writers == ["instance-1", "instance-2"]
    with psycopg.connect(**cluster.app_conninfo_kwargs(2)) as conn:
        assert conn.execute(WRITER_CHECK_SQL).fetchall() == [("instance-2",)]

    # back to live: the real primary is the only writer again
    cluster.set_live()
    for node in ("instance-1", "instance-2", "instance-3"):
        rows = _rows(cluster, node)
        assert sorted(rows) == ["instance-1", "instance-2", "instance-3"]
        assert [k for k, r in rows.items() if r[1]] == ["instance-1"]


def test_real_lag_from_paused_replay(fresh_pg_cluster: PgCluster) -> None:
    cluster = fresh_pg_cluster
    with cluster.superuser_connect("instance-2") as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    with cluster.superuser_connect("instance-1") as conn:
        conn.execute("INSERT INTO t (v) VALUES ('lag')")
    # the paused replica does not see the row, the other one does
    with psycopg.connect(**cluster.app_conninfo_kwargs("instance-2")) as conn:
        assert conn.execute("SELECT count(*) FROM t WHERE v = 'lag'").fetchone() == (0,)
    with cluster.superuser_connect("instance-2") as conn:
        conn.execute("SELECT pg_wal_replay_resume()")
    cluster.wait_converged(timeout=20)
    with psycopg.connect(**cluster.app_conninfo_kwargs("instance-2")) as conn:
        assert conn.execute("SELECT count(*) FROM t WHERE v = 'lag'").fetchone() == (1,)
