"""Per-phase routing decisions for connects and calls, matched on host and port exactly."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from awsdb_bluegreen._phase import Phase

__all__ = ["Action", "Endpoint", "Route", "RoutingTable", "route_call", "route_connect"]


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A host name and port; routings match both exactly (names case-insensitively)."""

    host: str
    port: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", self.host.lower())


class Action(enum.Enum):
    """What to do with a connect or a call."""

    PASS = "pass"
    DIAL = "dial"
    SUSPEND = "suspend"
    REJECT = "reject"


@dataclasses.dataclass(frozen=True)
class Route:
    """A routing decision: for DIAL, ``host`` is the name to keep (TLS, IAM) and
    ``address`` the IP to dial."""

    action: Action
    host: str | None = None
    address: str | None = None


@dataclasses.dataclass(frozen=True)
class RoutingTable:
    """What the status monitors know about a deployment at one moment."""

    blue: frozenset[Endpoint] = frozenset()
    green: frozenset[Endpoint] = frozenset()
    ips: Mapping[Endpoint, str] = dataclasses.field(default_factory=dict)
    blue_to_green: Mapping[Endpoint, Endpoint] = dataclasses.field(default_factory=dict)
    blue_dns_updated: bool = False
    green_dns_removed: bool = False
    green_topology_changed: bool = False

    def involves(self, ep: Endpoint) -> bool:
        """True when ``ep`` is a blue or green endpoint, by name or known IP."""
        if ep in self.blue or ep in self.green:
            return True
        return any(ep.host == ip and known.port == ep.port for known, ip in self.ips.items())


_PASS = Route(Action.PASS)
_SUSPEND = Route(Action.SUSPEND)


def route_connect(phase: Phase, table: RoutingTable, ep: Endpoint) -> Route:
    """The routing of a new connect to ``ep`` in ``phase``."""
    if phase == Phase.COMPLETED and table.blue_dns_updated and table.green_dns_removed:
        return _PASS
    if phase == Phase.PREPARATION:
        ip = table.ips.get(ep) if ep in table.blue else None
        return Route(Action.DIAL, ep.host, ip) if ip else _PASS
    if phase == Phase.IN_PROGRESS:
        # blue and green names and every known address of either side wait for the phase
        # to change: a blue connect would land on an instance being switched over
        return _SUSPEND if table.involves(ep) else _PASS
    if phase in (Phase.POST, Phase.COMPLETED):
        if ep in table.blue:
            if phase == Phase.COMPLETED and table.blue_dns_updated:
                return _PASS
            green = table.blue_to_green.get(ep)
            ip = table.ips.get(green) if green is not None else None
            return Route(Action.DIAL, ep.host, ip) if ip else _SUSPEND
        if ep in table.green:
            if table.green_dns_removed:
                return _PASS
            if table.green_topology_changed:
                return Route(Action.REJECT)
            ip = table.ips.get(ep)
            return Route(Action.DIAL, ep.host, ip) if ip else _PASS
    return _PASS


def route_call(phase: Phase, table: RoutingTable, ep: Endpoint) -> Route:
    """The routing of a call on an open connection to ``ep``: suspended in IN_PROGRESS
    when ``ep`` is a blue or green endpoint, otherwise passed."""
    if phase == Phase.IN_PROGRESS and table.involves(ep):
        return _SUSPEND
    return _PASS
