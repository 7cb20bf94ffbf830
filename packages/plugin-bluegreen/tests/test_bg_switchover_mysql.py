"""A simulated blue/green switchover on the emulated Aurora MySQL deployment
(``mysql.rds_topology``) with a workload of one query every 20 ms through awsdb: with
``bg`` no query fails; without it the dropped blue sessions fail queries."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import mysql.connector
import pytest

import awsdb
from awsdb_bluegreen import BlueGreenPlugin, Phase, Role
from awsdb_testing.mysql import MySQLBlueGreen
from awsdb_testing.mysql._sql import APP_PASSWORD, APP_USER
from awsdb_testing.mysql.fixtures import mariadb_missing_reason
from awsdb_testing.pg.bluegreen import SwitchoverWorkload

QUERY = "SELECT @@server_id"
FAST = {
    "bg_interval_baseline_ms": 200,
    "bg_interval_increased_ms": 100,
    "bg_interval_high_ms": 50,
}

pytestmark = pytest.mark.mysql


@pytest.fixture
def deployment(awsdb_leak_check: None) -> Iterator[MySQLBlueGreen]:
    reason = mariadb_missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    with MySQLBlueGreen(nodes=1) as bg:
        bg.install_names()
        try:
            yield bg
        finally:
            awsdb.release_resources()


def _connect(bg: MySQLBlueGreen, plugins: str) -> Any:
    props: dict[str, Any] = dict(FAST) if plugins else {}
    # with mysql.rds_topology present the Multi-AZ probe matches the emulation too (and
    # Multi-AZ DB clusters have no blue/green support): name the Aurora MySQL dialect
    props["wrapper_dialect"] = "aurora-mysql"
    return awsdb.connect(
        mysql.connector.connect,
        host=bg.blue.writer_endpoint,
        port=bg.blue.port,
        user=APP_USER,
        password=APP_PASSWORD,
        database="appdb",
        use_pure=True,
        autocommit=True,
        connection_timeout=5,
        plugins=plugins,
        **props,
    )


def _server_id(cluster: Any) -> Any:
    conn = cluster.connect_app(cluster.nodes[0].instance_id)
    try:
        cur = conn.cursor()
        cur.execute(QUERY)
        return cur.fetchall()[0][0]
    finally:
        conn.close()


def test_mysql_switchover_without_failed_queries(deployment: MySQLBlueGreen) -> None:
    bg = deployment
    assert bg.green is not None
    blue_id, green_id = _server_id(bg.blue), _server_id(bg.green)
    with _connect(bg, "bg") as conn:
        plugin = next(p for p in conn.plugin_service.plugins if isinstance(p, BlueGreenPlugin))
        dep = plugin.deployment
        assert dep is not None
        workload = SwitchoverWorkload(lambda: _connect(bg, "bg"), QUERY).start()
        try:
            workload.wait_ok(10)
            assert dep.phase() is Phase.CREATED
            assert dep.error(Role.TARGET) is None
            bg.switchover(phase_s=1.0, disrupt=True, lead_s=0.5)
            workload.wait_ok(20)
        finally:
            result = workload.stop()
        assert dep.phase() is Phase.COMPLETED
    assert result.failed == 0, result.errors
    assert result.values[0] == blue_id
    assert result.last_values[0] == green_id


def test_mysql_switchover_without_the_plugin_fails_queries(deployment: MySQLBlueGreen) -> None:
    bg = deployment
    workload = SwitchoverWorkload(lambda: _connect(bg, ""), QUERY).start()
    try:
        workload.wait_ok(10)
        bg.switchover(phase_s=1.0, disrupt=True, lead_s=0.5)
        workload.wait_ok(20)
    finally:
        result = workload.stop()
    assert result.failed > 0


def test_mysql_grants_missing_on_green_is_a_clear_error(deployment: MySQLBlueGreen) -> None:
    bg = deployment
    assert bg.green is not None
    for node in bg.green.nodes:
        root = bg.green.superuser_connect(node.instance_id)
        try:
            cur = root.cursor()
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute(f"REVOKE SELECT ON mysql.rds_topology FROM '{APP_USER}'@'%'")
        finally:
            root.close()
    with _connect(bg, "bg") as conn:
        plugin = next(p for p in conn.plugin_service.plugins if isinstance(p, BlueGreenPlugin))
        dep = plugin.deployment
        assert dep is not None
        deadline = time.monotonic() + 30
        while dep.error(Role.TARGET) is None:
            assert time.monotonic() < deadline, "the green side never reported its error"
            dep.wait(0.1)
        assert "GRANT SELECT ON mysql.rds_topology" in (dep.error(Role.TARGET) or "")
        assert dep.error(Role.SOURCE) is None
        assert dep.phase() is Phase.CREATED  # blue still reports
