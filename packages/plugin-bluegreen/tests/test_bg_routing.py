"""Per-phase routing decisions (pure logic), matched on host and port exactly."""

from __future__ import annotations

import dataclasses

from awsdb_bluegreen import Action, Endpoint, Phase, Route, RoutingTable, route_call, route_connect

BLUE = Endpoint("db.cluster-abc.us-east-1.rds.amazonaws.com", 5432)
GREEN = Endpoint("db-green-a1b2c3.cluster-abc.us-east-1.rds.amazonaws.com", 5432)
OTHER = Endpoint("other.example", 5432)

TABLE = RoutingTable(
    blue=frozenset({BLUE}),
    green=frozenset({GREEN}),
    ips={BLUE: "127.0.0.11", GREEN: "127.0.0.12"},
    blue_to_green={BLUE: GREEN},
)


def test_created_is_unchanged() -> None:
    assert route_connect(Phase.CREATED, TABLE, BLUE).action is Action.PASS


def test_preparation_substitutes_blue_ip_and_keeps_the_name() -> None:
    route = route_connect(Phase.PREPARATION, TABLE, BLUE)
    assert route == Route(Action.DIAL, BLUE.host, "127.0.0.11")
    assert route_connect(Phase.PREPARATION, TABLE, GREEN).action is Action.PASS


def test_port_must_match_exactly() -> None:
    other_port = Endpoint(BLUE.host, 5433)
    assert route_connect(Phase.PREPARATION, TABLE, other_port).action is Action.PASS
    assert route_call(Phase.IN_PROGRESS, TABLE, other_port).action is Action.PASS


def test_names_match_case_insensitively() -> None:
    upper = Endpoint(BLUE.host.upper(), 5432)
    assert route_connect(Phase.PREPARATION, TABLE, upper).address == "127.0.0.11"


def test_in_progress_suspends_green_ips_and_calls() -> None:
    assert route_connect(Phase.IN_PROGRESS, TABLE, GREEN).action is Action.SUSPEND
    assert route_connect(Phase.IN_PROGRESS, TABLE, Endpoint("127.0.0.12", 5432)).action is (
        Action.SUSPEND
    )
    assert route_connect(Phase.IN_PROGRESS, TABLE, OTHER).action is Action.PASS
    assert route_call(Phase.IN_PROGRESS, TABLE, BLUE).action is Action.SUSPEND
    assert route_call(Phase.IN_PROGRESS, TABLE, GREEN).action is Action.SUSPEND
    assert route_call(Phase.POST, TABLE, BLUE).action is Action.PASS


def test_in_progress_suspends_new_blue_connects() -> None:
    assert route_connect(Phase.IN_PROGRESS, TABLE, BLUE).action is Action.SUSPEND
    assert route_connect(Phase.IN_PROGRESS, TABLE, Endpoint("127.0.0.11", 5432)).action is (
        Action.SUSPEND
    )


def test_post_routes_blue_to_green_and_rejects_green_after_rename() -> None:
    assert route_connect(Phase.POST, TABLE, BLUE) == Route(Action.DIAL, BLUE.host, "127.0.0.12")
    assert route_connect(Phase.POST, TABLE, GREEN).address == "127.0.0.12"
    renamed = dataclasses.replace(TABLE, green_topology_changed=True)
    assert route_connect(Phase.POST, renamed, GREEN).action is Action.REJECT
    no_pair = dataclasses.replace(TABLE, blue_to_green={})
    assert route_connect(Phase.POST, no_pair, BLUE).action is Action.SUSPEND


def test_completed_ends_routing_once_dns_is_updated() -> None:
    assert route_connect(Phase.COMPLETED, TABLE, BLUE).address == "127.0.0.12"
    blue_done = dataclasses.replace(TABLE, blue_dns_updated=True)
    assert route_connect(Phase.COMPLETED, blue_done, BLUE).action is Action.PASS
    done = dataclasses.replace(blue_done, green_dns_removed=True)
    assert route_connect(Phase.COMPLETED, done, GREEN).action is Action.PASS
