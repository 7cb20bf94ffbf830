"""Simulated blue/green switchovers on the emulated PostgreSQL deployments (Aurora and RDS
metadata), with a workload of one query every 20 ms through awsdb: with ``bg`` no query
fails; without it the dropped blue sessions fail queries. Edge cases: stuck IN_PROGRESS,
metadata disappearing, rollback, missing grants, an open transaction, two switchovers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import psycopg
import pytest

import awsdb
from awsdb import PluginSpec
from awsdb._service import get_services
from awsdb.errors import TransactionResolutionUnknownError
from awsdb.plugin import Plugin
from awsdb_bluegreen import (
    BlueGreenPlugin,
    Deployment,
    GreenHostRejectedError,
    Phase,
    Role,
    SideMonitor,
    deployment_key,
)
from awsdb_testing.pg.bluegreen import PgBlueGreen, SwitchoverWorkload

QUERY = "SELECT host(inet_server_addr())"
FAST = {
    "bg_interval_baseline_ms": 200,
    "bg_interval_increased_ms": 100,
    "bg_interval_high_ms": 50,
}

pytestmark = pytest.mark.pg


@pytest.fixture(params=["aurora-pg"])
def deployment(
    request: pytest.FixtureRequest, awsdb_leak_check: None, pg_binaries: Any
) -> Iterator[PgBlueGreen]:
    with PgBlueGreen(
        nodes=1, flavor=request.param, blue_first_octet=151, green_first_octet=161
    ) as bg:
        bg.install_names()
        try:
            yield bg
        finally:
            awsdb.release_resources()


both_sources = pytest.mark.parametrize("deployment", ["aurora-pg", "rds-pg"], indirect=True)
rds_pg = pytest.mark.parametrize("deployment", ["rds-pg"], indirect=True)


def _connect(bg: PgBlueGreen, plugins: str = "bg", *, host: str | None = None, **props: Any) -> Any:
    settings: dict[str, Any] = {**FAST, **props} if "bg" in plugins else props
    if bg.blue.config.flavor == "rds-pg":  # the rds_tools metadata source, not Aurora's
        settings.setdefault("wrapper_dialect", "rds-pg")
    return awsdb.connect(
        psycopg.Connection.connect,
        host=host or bg.blue_names.writer_endpoint,
        port=bg.blue.nodes[0].port,
        user="app",
        dbname="app",
        plugins=plugins,
        connect_timeout=5,
        **{"autocommit": True, **settings},
    )


def _blue_ip(bg: PgBlueGreen) -> str:
    return bg.blue.nodes[0].host


def _green_ip(bg: PgBlueGreen) -> str:
    assert bg.green is not None
    return bg.green.nodes[0].host


def _deployment_of(conn: Any) -> Deployment:
    plugin = next(p for p in conn.plugin_service.plugins if isinstance(p, BlueGreenPlugin))
    assert plugin.deployment is not None
    return plugin.deployment


def _wait_for(
    dep: Deployment, check: Callable[[], bool], what: str, timeout_s: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        dep.wait(0.1)


def _polls(dep: Deployment, role: Role) -> int:
    services = get_services()
    key = deployment_key(dep.bg_id, role, dep.token if role is Role.TARGET else "")
    health = services.monitors.health(key)
    return health.steps if health is not None else 0


def _run(bg: PgBlueGreen, plugins: str, drive: Callable[[], object], **props: Any) -> Any:
    workload = SwitchoverWorkload(lambda: _connect(bg, plugins, **props), QUERY).start()
    try:
        workload.wait_ok(10)
        drive()
        workload.wait_ok(20)
    finally:
        result = workload.stop()
    return result


# ---------------------------------------------------------------------- switchover


@both_sources
def test_switchover_without_failed_queries(deployment: PgBlueGreen) -> None:
    bg = deployment
    result = _run(bg, "bg", lambda: bg.switchover(phase_s=1.0, disrupt=True, lead_s=0.5))
    assert result.failed == 0, result.errors
    assert result.values[0] == _blue_ip(bg)
    assert result.last_values[0] == _green_ip(bg)  # the workload now runs on green

    # the same workload without the plugin, on the deployment switched back
    bg.rollback()
    plain = _run(bg, "", lambda: bg.switchover(phase_s=1.0, disrupt=True, lead_s=0.5))
    assert plain.failed > 0  # the switchover ended the blue sessions under it
    assert plain.last_values[0] == _green_ip(bg)


def test_eight_threads_without_failed_queries(deployment: PgBlueGreen) -> None:
    bg = deployment
    workload = SwitchoverWorkload(lambda: _connect(bg), QUERY, threads=8).start()
    try:
        workload.wait_ok(40)
        bg.switchover(phase_s=1.0, disrupt=True, lead_s=0.5)
        workload.wait_ok(80)
    finally:
        result = workload.stop()
    assert result.failed == 0, result.errors
    assert set(result.last_values) == {_green_ip(bg)}


# ---------------------------------------------------------------------- routing


class _Recorder(Plugin):
    """Records the host every inner connect receives."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"connect"})

    def __init__(self, service: Any, props: Any, seen: list[tuple[str, str | None]]) -> None:
        super().__init__(service, props)
        self._seen = seen

    def connect(self, host: Any, props: Any, is_initial: bool, call_next: Any) -> Any:
        self._seen.append((host.host, host.dial_address))
        return call_next(host, props, is_initial)


def test_ips_are_dialled_with_the_host_name_kept(deployment: PgBlueGreen) -> None:
    bg = deployment
    seen: list[tuple[str, str | None]] = []
    awsdb.register_plugin(
        PluginSpec(code="rec", factory=lambda s, p: _Recorder(s, p, seen), weight=650)
    )
    blue = bg.blue_names.writer_endpoint
    with _connect(bg) as first:
        dep = _deployment_of(first)
        _wait_for(dep, lambda: dep.phase() is Phase.CREATED, "CREATED")
        bg.switchover(stop_at="SWITCHOVER_INITIATED")
        _wait_for(dep, lambda: dep.phase() is Phase.PREPARATION, "PREPARATION")
        with _connect(bg, "bg,rec") as conn:
            assert seen[-1] == (blue, _blue_ip(bg))  # IP substituted, name kept (IAM, TLS)
            assert conn.target_connection.info.host == blue
            assert conn.execute(QUERY).fetchone() == (_blue_ip(bg),)
        bg.switchover(stop_at="SWITCHOVER_IN_POST_PROCESSING")
        _wait_for(dep, lambda: dep.phase() is Phase.POST, "POST")
        with _connect(bg, "bg,rec") as conn:
            assert seen[-1] == (blue, _green_ip(bg))  # blue name routed to green by IP
            assert conn.execute(QUERY).fetchone() == (_green_ip(bg),)
        # green renamed (topology changed): a green name is rejected until its DNS goes
        _wait_for(dep, lambda: dep.view().table.green_topology_changed, "green renamed")
        with pytest.raises(GreenHostRejectedError):
            _connect(bg, host=bg.green_names.writer_endpoint)
        assert first.execute(QUERY).fetchone() == (_green_ip(bg),)  # moved at its next call


# ---------------------------------------------------------------------- edge cases


def test_stuck_in_progress_is_released_by_the_switchover_timer(deployment: PgBlueGreen) -> None:
    bg = deployment
    props: dict[str, Any] = {"bg_switchover_timeout_ms": 3000}
    with _connect(bg, **props) as conn:
        dep = _deployment_of(conn)
        result = _run(bg, "bg", lambda: bg.switchover(stop_at="SWITCHOVER_IN_PROGRESS"), **props)
        assert result.failed == 0, result.errors
        assert bg.phase == "SWITCHOVER_IN_PROGRESS"  # the metadata is still stuck
        assert dep.phase() is Phase.COMPLETED  # forced by the timer
        assert not dep.active
        assert conn.execute(QUERY).fetchone() == (_blue_ip(bg),)


def test_metadata_disappearing_then_release_on_blue_dns_update(deployment: PgBlueGreen) -> None:
    bg = deployment

    def drive() -> None:
        bg.switchover(stop_at="SWITCHOVER_IN_PROGRESS", disrupt=True, lead_s=0.5)
        bg.drop_metadata()  # both sides: no rows mid switchover
        polls = _polls(dep, Role.TARGET)
        _wait_for(dep, lambda: _polls(dep, Role.TARGET) >= polls + 3, "green polls")
        assert dep.phase() is Phase.IN_PROGRESS  # not a rollback, not NOT_CREATED
        bg.install_names("SWITCHOVER_IN_POST_PROCESSING")  # DNS moves, metadata never says

    with _connect(bg) as conn:
        dep = _deployment_of(conn)
        result = _run(bg, "bg", drive)
    assert result.failed == 0, result.errors
    assert result.last_values[0] == _green_ip(bg)


def test_rollback_from_preparation(deployment: PgBlueGreen) -> None:
    bg = deployment

    def drive() -> None:
        bg.switchover(stop_at="SWITCHOVER_INITIATED")
        _wait_for(dep, lambda: dep.phase() is Phase.PREPARATION, "PREPARATION")
        bg.set_status("AVAILABLE", side="green")  # green rolls back first
        _wait_for(dep, lambda: dep.phase() is Phase.CREATED, "the rollback")
        bg.rollback()

    with _connect(bg) as conn:
        dep = _deployment_of(conn)
        result = _run(bg, "bg", drive)
        assert dep.rolled_back
        assert not dep.active
    assert result.failed == 0, result.errors
    assert result.values == [_blue_ip(bg)]  # traffic never left blue


@rds_pg
def test_grants_missing_on_green_is_a_clear_error(
    deployment: PgBlueGreen, caplog: pytest.LogCaptureFixture
) -> None:
    bg = deployment
    assert bg.green is not None
    with bg.green.superuser_connect(bg.green.writer()) as su:
        su.execute("REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA rds_tools FROM PUBLIC")
    with caplog.at_level("WARNING", logger="awsdb.bluegreen"), _connect(bg) as conn:
        dep = _deployment_of(conn)
        _wait_for(dep, lambda: dep.error(Role.TARGET) is not None, "the green error")
        message = dep.error(Role.TARGET) or ""
        assert "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA rds_tools" in message
        assert "permission denied" in message
        assert dep.error(Role.SOURCE) is None
        assert dep.phase() is Phase.CREATED  # blue still reports
        assert conn.execute(QUERY).fetchone() == (_blue_ip(bg),)
    assert any("GRANT USAGE ON SCHEMA rds_tools" in r.getMessage() for r in caplog.records)


def test_switchover_with_an_open_transaction(deployment: PgBlueGreen) -> None:
    bg = deployment
    with _connect(bg, autocommit=False) as conn:
        dep = _deployment_of(conn)
        _wait_for(dep, lambda: dep.phase() is Phase.CREATED, "CREATED")
        assert conn.execute(QUERY).fetchone() == (_blue_ip(bg),)  # a transaction is open
        controller = threading.Thread(
            target=bg.switchover, kwargs={"phase_s": 1.0, "disrupt": True, "lead_s": 0.5}
        )
        controller.start()
        try:
            _wait_for(dep, lambda: dep.phase() is Phase.IN_PROGRESS, "IN_PROGRESS")
            with pytest.raises(TransactionResolutionUnknownError) as info:
                conn.execute(QUERY)  # held while IN_PROGRESS, then moved to green
            assert isinstance(info.value, psycopg.OperationalError)
            conn.rollback()
            assert conn.execute(QUERY).fetchone() == (_green_ip(bg),)  # retry on green
            conn.commit()
        finally:
            controller.join(60)


def test_two_switchovers_in_a_row_and_a_recreated_deployment(deployment: PgBlueGreen) -> None:
    bg = deployment

    def drive() -> None:
        bg.switchover(phase_s=1.0, disrupt=True, lead_s=0.5)
        _wait_for(dep, lambda: not dep.active and dep.phase() is Phase.COMPLETED, "settled")
        bg.drop_metadata()  # the deployment is deleted...
        polls = _polls(dep, Role.SOURCE)
        _wait_for(dep, lambda: _polls(dep, Role.SOURCE) >= polls + 3, "blue polls")
        assert dep.phase() is Phase.COMPLETED
        bg.rollback()  # ...and a new one created
        _wait_for(dep, lambda: dep.phase() is Phase.CREATED, "the new deployment")
        bg.switchover(phase_s=1.0, disrupt=True, lead_s=0.5)

    with _connect(bg) as conn:
        dep = _deployment_of(conn)
        result = _run(bg, "bg", drive)
        assert dep.cycle == 1
        services = get_services()
        source = services.monitors.get(deployment_key(dep.bg_id, Role.SOURCE))
        assert isinstance(source, SideMonitor) and source.resets >= 1
    assert result.failed == 0, result.errors
    assert result.last_values[0] == _green_ip(bg)
