"""The shared deployment state fed by the two monitors (pure logic, fake clock)."""

from __future__ import annotations

from awsdb_bluegreen import (
    Action,
    Deployment,
    Endpoint,
    Phase,
    Role,
    Settings,
    SideStatus,
    route_call,
    route_connect,
)

PORT = 5432
BLUE = Endpoint("db.cluster-abc.us-east-1.rds.amazonaws.com", PORT)
BLUE_I = Endpoint("db-1.abc.us-east-1.rds.amazonaws.com", PORT)
GREEN = Endpoint("db-green-a1b2c3.cluster-abc.us-east-1.rds.amazonaws.com", PORT)
GREEN_I = Endpoint("db-1-green-a1b2c3.abc.us-east-1.rds.amazonaws.com", PORT)
GREEN2 = Endpoint("db-green-zzzzzz.cluster-abc.us-east-1.rds.amazonaws.com", PORT)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _deployment(timeout_s: float = 180.0) -> tuple[Deployment, _Clock, list[str]]:
    clock = _Clock()
    dep = Deployment("d", Settings(switchover_timeout_s=timeout_s), token="t", clock=clock)
    resets: list[str] = []
    dep.add_monitor(lambda: None, lambda: resets.append("reset"))
    return dep, clock, resets


def _blue(phase: Phase, *eps: Endpoint) -> SideStatus:
    endpoints = eps or (BLUE, BLUE_I)
    return SideStatus(Role.SOURCE, phase, frozenset(endpoints), endpoints[0])


def _green(phase: Phase, *eps: Endpoint) -> SideStatus:
    endpoints = eps or (GREEN, GREEN_I)
    return SideStatus(Role.TARGET, phase, frozenset(endpoints), endpoints[0])


def _gone(role: Role) -> SideStatus:
    return SideStatus(role, Phase.NOT_CREATED, frozenset(), None)


IPs = dict[Endpoint, str | None]
BEFORE: IPs = {BLUE: "10.0.0.1", BLUE_I: "10.0.0.1", GREEN: "10.0.0.2", GREEN_I: "10.0.0.2"}
AFTER_POST: IPs = {BLUE: "10.0.0.2", BLUE_I: "10.0.0.2", GREEN: "10.0.0.2", GREEN_I: "10.0.0.2"}
AFTER_DONE: IPs = {BLUE: "10.0.0.2", BLUE_I: "10.0.0.2", GREEN: None, GREEN_I: None}


def _both(dep: Deployment, phase: Phase, ips: IPs) -> None:
    dep.update(Role.SOURCE, _blue(phase), _green(phase), ips)
    dep.update(Role.TARGET, _green(phase), _blue(phase), ips)


def test_a_full_switchover() -> None:
    dep, _, resets = _deployment()
    _both(dep, Phase.CREATED, BEFORE)
    assert not dep.active and dep.hint(Role.TARGET) == GREEN
    _both(dep, Phase.PREPARATION, BEFORE)
    view = dep.view()
    assert route_connect(view.phase, view.table, BLUE).address == "10.0.0.1"
    _both(dep, Phase.IN_PROGRESS, BEFORE)
    view = dep.view()
    assert route_connect(view.phase, view.table, BLUE).action is Action.SUSPEND
    assert route_call(view.phase, view.table, GREEN).action is Action.SUSPEND
    dep.update(Role.TARGET, _green(Phase.POST, BLUE, BLUE_I), None, AFTER_POST)
    view = dep.view()
    assert view.switched
    assert route_connect(view.phase, view.table, BLUE).address == "10.0.0.2"  # the green IP
    assert route_connect(view.phase, view.table, GREEN).action is Action.REJECT  # renamed
    dep.update(Role.TARGET, _green(Phase.COMPLETED, BLUE, BLUE_I), None, AFTER_DONE)
    view = dep.view()
    assert not dep.active and view.settled and resets == ["reset"]
    assert route_connect(view.phase, view.table, BLUE).action is Action.PASS
    assert BLUE in view.table.blue  # still known: stale blue connections are recognised


def test_release_on_blue_dns_update_without_post() -> None:
    dep, _, _ = _deployment()
    _both(dep, Phase.CREATED, BEFORE)
    _both(dep, Phase.IN_PROGRESS, BEFORE)
    assert dep.view().phase is Phase.IN_PROGRESS
    dep.update(Role.SOURCE, None, None, AFTER_POST)  # status unreadable, DNS moved
    view = dep.view()
    assert view.phase is Phase.POST and view.switched
    assert dep.phase() is Phase.IN_PROGRESS  # the metadata never said POST


def test_timer_on_the_no_change_path_ends_routing() -> None:
    dep, clock, resets = _deployment(timeout_s=10.0)
    _both(dep, Phase.CREATED, BEFORE)
    _both(dep, Phase.IN_PROGRESS, BEFORE)
    clock.now = 11.0  # no monitor reports anything any more
    view = dep.view()
    assert view.phase is Phase.COMPLETED and not dep.active and not view.switched
    assert route_call(view.phase, view.table, BLUE).action is Action.PASS
    assert resets == ["reset"]


def test_a_recreated_deployment_is_followed() -> None:
    dep, _, _ = _deployment()
    _both(dep, Phase.CREATED, BEFORE)
    dep.update(Role.SOURCE, _gone(Role.SOURCE), None, {})  # deleted...
    dep.update(Role.SOURCE, _blue(Phase.CREATED), _green(Phase.CREATED, GREEN2), {})  # ...new
    dep.update(Role.TARGET, _green(Phase.CREATED, GREEN2), None, {GREEN2: "10.0.0.3"})
    assert dep.hint(Role.TARGET) == GREEN2
    dep.update(Role.TARGET, _green(Phase.PREPARATION, GREEN2), None, {GREEN2: "10.0.0.3"})
    assert dep.view().table.green == frozenset({GREEN2})


def test_second_cycle_after_completion() -> None:
    dep, _, resets = _deployment()
    _both(dep, Phase.CREATED, BEFORE)
    _both(dep, Phase.IN_PROGRESS, BEFORE)
    dep.update(Role.TARGET, _green(Phase.COMPLETED, BLUE), None, AFTER_DONE)
    assert dep.view().settled and dep.cycle == 0
    dep.update(Role.SOURCE, _gone(Role.SOURCE), None, {})  # the -old1 side: no change
    assert dep.phase() is Phase.COMPLETED
    _both(dep, Phase.CREATED, BEFORE)  # a new deployment
    assert dep.cycle == 1 and dep.phase() is Phase.CREATED and not dep.view().switched
    _both(dep, Phase.IN_PROGRESS, BEFORE)
    assert dep.active and resets == ["reset"]
