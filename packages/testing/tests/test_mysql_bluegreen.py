"""Blue/green emulation on two MariaDB clusters: ``mysql.rds_topology`` per node, phases
moved by the controller, names remapped in the process resolver."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from awsdb.resolver import get_resolver
from awsdb_testing.mysql import BG_STATUSES, MySQLBlueGreen
from awsdb_testing.mysql.fixtures import mariadb_missing_reason

pytestmark = pytest.mark.mysql

# verbatim from the dialect reference (aurora-facts.md §3.4)
BG_EXISTS_SQL = (
    "SELECT 1 AS tmp FROM information_schema.tables WHERE table_schema = 'mysql' AND "
    "table_name = 'rds_topology'"
)
BG_STATUS_SQL = "SELECT version, endpoint, port, role, status FROM mysql.rds_topology"


@pytest.fixture(scope="module")
def bg(awsdb_leak_check: None) -> Iterator[MySQLBlueGreen]:
    reason = mariadb_missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    with MySQLBlueGreen() as deployment:
        yield deployment


def _rows(cluster: Any, instance_id: str, sql: str) -> list[Any]:
    conn = cluster.connect_app(instance_id, autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        conn.close()


def test_switchover_phases_and_names(bg: MySQLBlueGreen) -> None:
    green = bg.green
    assert green is not None
    blue_writer = bg.blue.writer_endpoint
    resolver = get_resolver()
    bg.install_names()
    assert resolver.resolve(blue_writer) == bg.blue.node(1).host
    for cluster in (bg.blue, green):
        for node in cluster.nodes:
            assert _rows(cluster, node.instance_id, BG_EXISTS_SQL) == [(1,)]
            rows = _rows(cluster, node.instance_id, BG_STATUS_SQL)
            assert {r[4] for r in rows} == {"AVAILABLE"}
            assert {r[0] for r in rows} == {"1.0"}
            roles = {r[1]: r[3] for r in rows}
            assert roles[blue_writer] == "BLUE_GREEN_DEPLOYMENT_SOURCE"
            assert roles[green.writer_endpoint] == "BLUE_GREEN_DEPLOYMENT_TARGET"
            assert bg.suffix in green.writer_endpoint
    timeline = bg.switchover()
    assert list(timeline) == list(BG_STATUSES[1:])
    # blue names now lead to green, the old blue nodes answer under -old1 names
    assert resolver.resolve(blue_writer) == green.node(1).host
    old1 = bg.blue.instance_name(1).replace("instance-1.", "instance-1-old1.")
    assert resolver.resolve(old1) == bg.blue.node(1).host
    assert resolver.override(green.writer_endpoint) is None  # green names removed
    assert bg.blue.writers() == []  # blue writer made read-only in IN_PROGRESS
    rows = _rows(green, green.nodes[0].instance_id, BG_STATUS_SQL)
    assert {r[4] for r in rows} == {"SWITCHOVER_COMPLETED"}
    endpoints = {r[1] for r in rows}
    assert blue_writer in endpoints and green.writer_endpoint not in endpoints
    bg.remove_names()
    assert resolver.override(blue_writer) is None


def test_per_node_status_and_disappearing_metadata(bg: MySQLBlueGreen) -> None:
    green = bg.green
    assert green is not None
    bg.create_metadata()  # back to AVAILABLE everywhere (the module shares the deployment)
    bg.set_status("SWITCHOVER_IN_PROGRESS", side="green", nodes=[green.nodes[1].instance_id])
    # not replicated: only the one node changed, its replicas and the blue side did not
    assert bg.status_of(green, green.nodes[1].instance_id) == ["SWITCHOVER_IN_PROGRESS"]
    assert bg.status_of(green, green.nodes[0].instance_id) == ["AVAILABLE"]
    assert bg.status_of(bg.blue, "instance-2") == ["AVAILABLE"]
    bg.drop_metadata(side="blue")
    assert _rows(bg.blue, "instance-1", BG_EXISTS_SQL) == []
    assert _rows(green, green.nodes[0].instance_id, BG_EXISTS_SQL) == [(1,)]
    with pytest.raises(ValueError):
        bg.set_status("SWITCHOVER_SOMETHING")
