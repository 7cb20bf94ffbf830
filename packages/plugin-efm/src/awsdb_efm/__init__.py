"""awsdb enhanced failure monitoring (plugin code ``efm``; aliases ``host_monitoring``,
``host_monitoring_v2``).

A network-bound call that runs longer than ``failure_detection_time_ms`` is watched by a
monitor shared by every connection to the same host (one per host and settings). The monitor
probes the host with ``SELECT 1`` on its own connection every
``failure_detection_interval_ms``; after ``failure_detection_count`` failed probes in a row
it marks the host unavailable and aborts the connection of every call still waiting on it,
so the call raises the driver's own network error instead of hanging::

    import awsdb, psycopg

    conn = awsdb.connect(
        psycopg.Connection.connect,
        "host=db.cluster-xyz.us-east-1.rds.amazonaws.com dbname=app user=app",
        plugins="failover,efm",
        failure_detection_time_ms=6000,
        failure_detection_interval_ms=1000,
        failure_detection_count=1,
    )

Importing this package starts nothing; monitors run in the core's monitor service and are
stopped by ``awsdb.release_resources()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awsdb import PluginSpec, hookimpl
from awsdb.properties import Property
from awsdb_efm._monitor import EfmSettings, HostMonitor, MonitoringContext
from awsdb_efm._plugin import EfmPlugin, monitor_key

__all__ = [
    "EfmPlugin",
    "EfmSettings",
    "HostMonitor",
    "MonitoringContext",
    "awsdb_plugin_specs",
    "awsdb_properties",
    "monitor_key",
]


@hookimpl
def awsdb_plugin_specs() -> Sequence[PluginSpec]:
    """Announce ``efm`` (inside ``failover``, outside the authentication plugins)."""
    return [
        PluginSpec(
            code="efm",
            factory=EfmPlugin,
            weight=600,
            description="Enhanced failure monitoring: aborts calls stuck on a dead host.",
        )
    ]


@hookimpl
def awsdb_properties() -> Sequence[Property[Any]]:
    """None of its own: the ``failure_detection_*`` properties are in the core catalogue."""
    return []
