"""awsdb blue/green switchover support (plugin code ``bg``).

During an RDS blue/green switchover the ``bg`` plugin keeps an application's queries
running: two status monitors per deployment (``bg_id``) read the blue/green metadata of
each side, and connects and calls are routed by phase (blue IPs in PREPARATION, held in
IN_PROGRESS, blue names to green in POST)::

    import awsdb, psycopg

    conn = awsdb.connect(
        psycopg.Connection.connect,
        "host=db.cluster-xyz.us-east-1.rds.amazonaws.com dbname=app user=app",
        plugins="bg",
        autocommit=True,
    )

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

from awsdb import PluginSpec, hookimpl
from awsdb.properties import Property
from awsdb_bluegreen._deployment import Deployment, DeploymentView, Settings
from awsdb_bluegreen._monitor import SideMonitor
from awsdb_bluegreen._pairing import build_table, pair_by_name
from awsdb_bluegreen._phase import BlueGreenError, Phase, Role, parse_phase, parse_role
from awsdb_bluegreen._plugin import BlueGreenPlugin, GreenHostRejectedError, deployment_key
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
    "BlueGreenPlugin",
    "Deployment",
    "DeploymentView",
    "Endpoint",
    "GreenHostRejectedError",
    "Phase",
    "PhaseTracker",
    "Role",
    "Route",
    "RoutingTable",
    "Settings",
    "SideMonitor",
    "SideStatus",
    "SwitchoverTimeoutError",
    "awsdb_plugin_specs",
    "awsdb_properties",
    "build_table",
    "deployment_key",
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
def awsdb_plugin_specs() -> Sequence[PluginSpec]:
    """Announce ``bg`` (between ``failover`` and ``efm``, as in the anchor's weights)."""
    return [
        PluginSpec(
            code="bg",
            factory=BlueGreenPlugin,
            weight=550,
            description="Blue/green switchover: routes connects and calls by phase.",
        )
    ]


@hookimpl
def awsdb_properties() -> Sequence[Property[Any]]:
    """Announce the ``bg_*`` properties."""
    return list(PROPERTIES)
