"""Simulated blue/green switchovers on the emulated Aurora PostgreSQL deployment, with a
workload of one query every 20 ms through awsdb: with ``bg`` no query fails; without it
the dropped blue sessions fail queries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb_bluegreen import BlueGreenPlugin, Phase
from awsdb_testing.pg.bluegreen import PgBlueGreen, SwitchoverWorkload

QUERY = "SELECT pg_catalog.aurora_db_instance_identifier()"
FAST = {
    "bg_interval_baseline_ms": 200,
    "bg_interval_increased_ms": 100,
    "bg_interval_high_ms": 50,
}

pytestmark = pytest.mark.pg


@pytest.fixture
def deployment(awsdb_leak_check: None, pg_binaries: Any) -> Iterator[PgBlueGreen]:
    with PgBlueGreen(nodes=1, blue_first_octet=151, green_first_octet=161) as bg:
        bg.install_names()
        try:
            yield bg
        finally:
            awsdb.release_resources()


def _connect(bg: PgBlueGreen, plugins: str, **props: Any) -> Any:
    return awsdb.connect(
        psycopg.Connection.connect,
        host=bg.blue_names.writer_endpoint,
        port=bg.blue.nodes[0].port,
        user="app",
        dbname="app",
        plugins=plugins,
        autocommit=True,
        connect_timeout=5,
        **props,
    )


def _green_ids(bg: PgBlueGreen) -> set[str]:
    assert bg.green is not None
    return {n.instance_id for n in bg.green.nodes}


def _blue_ids(bg: PgBlueGreen) -> set[str]:
    return {n.instance_id for n in bg.blue.nodes}


def test_switchover_without_failed_queries(deployment: PgBlueGreen) -> None:
    bg = deployment
    workload = SwitchoverWorkload(lambda: _connect(bg, "bg", **FAST), QUERY).start()
    try:
        workload.wait_ok(10)
        bg.switchover(phase_s=1.0, disrupt=True, lead_s=0.5)
        workload.wait_ok(20)
    finally:
        result = workload.stop()
    assert result.failed == 0, result.errors
    assert set(result.values) & _blue_ids(bg)
    assert result.last_values[0] in _green_ids(bg)  # the workload now runs on green

    # the same workload without the plugin, on the same deployment switched back
    bg.rollback()
    workload = SwitchoverWorkload(lambda: _connect(bg, ""), QUERY).start()
    try:
        workload.wait_ok(10)
        bg.switchover(phase_s=1.0, disrupt=True, lead_s=0.5)
        workload.wait_ok(20)
    finally:
        plain = workload.stop()
    assert plain.failed > 0  # the switchover ended the blue sessions under it
    assert plain.last_values[0] in _green_ids(bg)


def test_plugin_is_registered_and_follows_the_deployment(deployment: PgBlueGreen) -> None:
    bg = deployment
    with _connect(bg, "bg", **FAST) as conn:
        plugin = next(p for p in conn.plugin_service.plugins if isinstance(p, BlueGreenPlugin))
        dep = plugin.deployment
        assert dep is not None
        conn.execute("SELECT 1")
        deadline_reached = False
        for _ in range(200):
            if dep.phase() is Phase.CREATED:
                break
            dep.wait(0.1)
        else:
            deadline_reached = True
        assert not deadline_reached, "the monitors never read the AVAILABLE status"
