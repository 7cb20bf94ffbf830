"""Blue → green pairing by name and the routing table built from both sides (pure logic)."""

from __future__ import annotations

from awsdb_bluegreen import (
    Action,
    Endpoint,
    Phase,
    Role,
    SideStatus,
    build_table,
    pair_by_name,
    route_connect,
)

D = "c9abc.us-east-1.rds.amazonaws.com"
G = "-green-a1b2c3"
BLUE = [Endpoint(f"db.cluster-{D}", 5432), Endpoint(f"db.cluster-ro-{D}", 5432)]
BLUE += [Endpoint(f"instance-1.{D}", 5432), Endpoint(f"instance-2.{D}", 5432)]
GREEN = [Endpoint(f"db{G}.cluster-{D}", 5432), Endpoint(f"db{G}.cluster-ro-{D}", 5432)]
GREEN += [Endpoint(f"instance-1{G}.{D}", 5432)]


def test_pairs_cluster_reader_and_instance_names() -> None:
    pairs = pair_by_name(BLUE, GREEN)
    assert pairs == {BLUE[0]: GREEN[0], BLUE[1]: GREEN[1], BLUE[2]: GREEN[2]}


def test_port_must_match() -> None:
    assert pair_by_name(BLUE[:1], [Endpoint(GREEN[0].host, 3306)]) == {}


def test_table_routes_blue_writer_to_green_ip_in_post() -> None:
    blue = SideStatus(Role.SOURCE, Phase.POST, frozenset(BLUE), BLUE[0])
    green = SideStatus(Role.TARGET, Phase.POST, frozenset(GREEN), GREEN[0])
    table = build_table(blue, green, {GREEN[0]: "127.0.0.21", BLUE[0]: "127.0.0.11"})
    route = route_connect(Phase.POST, table, BLUE[0])
    assert (route.action, route.host, route.address) == (Action.DIAL, BLUE[0].host, "127.0.0.21")
    # instance-2 has no green counterpart yet: suspended until one is known
    assert route_connect(Phase.POST, table, BLUE[3]).action is Action.SUSPEND
