"""awsdb blue/green switchover support.

The pieces the ``bg`` plugin is built from: the phases of an RDS blue/green deployment
(:class:`Phase`, parsed from the metadata status with :func:`parse_phase`), the phase state
machine with its rollback rules and switchover timer (:class:`PhaseTracker`), and the
per-phase routing of connects and calls (:func:`route_connect`, :func:`route_call`), which
match routings on host and port exactly, and one side's status read from the dialect's
blue/green metadata (:func:`read_side`), paired blue → green into a routing table
(:func:`build_table`).

The ``bg_*`` connection properties are those of the core's catalogue (owner ``bg``) and are
announced through ``awsdb_properties``. Importing this package starts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awsdb import hookimpl
from awsdb.properties import Property
from awsdb_bluegreen._pairing import build_table, pair_by_name
from awsdb_bluegreen._phase import BlueGreenError, Phase, Role, parse_phase, parse_role
from awsdb_bluegreen._props import PROPERTIES
from awsdb_bluegreen._routing import (
    Action,
    Endpoint,
    Route,
    RoutingTable,
    route_call,
    route_connect,
)
from awsdb_bluegreen._status import SideStatus, read_side, require_side, side_from_rows
from awsdb_bluegreen._suspend import SwitchoverTimeoutError, suspend_while_in_progress
from awsdb_bluegreen._tracker import PhaseTracker

__all__ = [
    "Action",
    "BlueGreenError",
    "Endpoint",
    "Phase",
    "PhaseTracker",
    "Role",
    "Route",
    "RoutingTable",
    "SideStatus",
    "SwitchoverTimeoutError",
    "awsdb_properties",
    "build_table",
    "pair_by_name",
    "parse_phase",
    "parse_role",
    "read_side",
    "require_side",
    "route_call",
    "route_connect",
    "side_from_rows",
    "suspend_while_in_progress",
]


@hookimpl
def awsdb_properties() -> Sequence[Property[Any]]:
    """Announce the ``bg_*`` properties."""
    return list(PROPERTIES)
