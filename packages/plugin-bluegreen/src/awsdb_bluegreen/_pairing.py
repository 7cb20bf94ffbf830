"""Blue → green host pairing and the routing table built from both sides' statuses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from awsdb import rds
from awsdb_bluegreen._routing import Endpoint, RoutingTable
from awsdb_bluegreen._status import SideStatus

__all__ = ["build_table", "pair_by_name"]


def pair_by_name(blue: Iterable[Endpoint], green: Iterable[Endpoint]) -> dict[Endpoint, Endpoint]:
    """Pair each blue endpoint with the green one whose name minus the ``-green-xxxxxx``
    infix is the blue name, on the same port (cluster, ``-ro-``, custom and instance
    names alike). Unpaired blue endpoints are left out."""
    by_base = {
        (rds.blue_green_base_name(g.host), g.port): g for g in green if rds.is_green_host(g.host)
    }
    pairs: dict[Endpoint, Endpoint] = {}
    for b in blue:
        g = by_base.get((b.host, b.port))
        if g is not None:
            pairs[b] = g
    return pairs


def build_table(
    blue: SideStatus,
    green: SideStatus,
    ips: Mapping[Endpoint, str],
    *,
    blue_dns_updated: bool = False,
    green_dns_removed: bool = False,
    green_topology_changed: bool = False,
) -> RoutingTable:
    """The routing table for both sides' last statuses and the resolved IPs."""
    return RoutingTable(
        blue=blue.endpoints,
        green=green.endpoints,
        ips=dict(ips),
        blue_to_green=pair_by_name(blue.endpoints, green.endpoints),
        blue_dns_updated=blue_dns_updated,
        green_dns_removed=green_dns_removed,
        green_topology_changed=green_topology_changed,
    )
