"""awsdb failover: ``plugins="failover"`` (alias ``failover_v2``).

::

    import awsdb, psycopg

    conn = awsdb.connect(
        psycopg.Connection.connect,
        "host=db.cluster-xyz.us-east-1.rds.amazonaws.com dbname=app user=app",
        plugins="failover",
    )

One topology monitor per cluster (the core's :mod:`awsdb.topology`, on the core's monitor
service) watches the instances. When a server call fails with a network error (or, in
``strict_writer`` mode, a write is refused by a demoted writer), the plugin waits for the
monitor's verified new writer (or picks a reader, by ``failover_mode``), connects to it
through the plugin pipeline, checks its role, carries the session state over and raises
:class:`awsdb.FailoverSuccessError` — or :class:`awsdb.TransactionResolutionUnknownError`
when a transaction was open or committing, or :class:`awsdb.FailoverFailedError` when no
instance could take over within ``failover_timeout_sec``.
"""

from __future__ import annotations

from collections.abc import Sequence

from awsdb import PluginSpec, hookimpl
from awsdb_failover._initial_connection import InitialConnectionPlugin
from awsdb_failover._plugin import FailoverPlugin, failover_mode_for
from awsdb_failover._stale_dns import StaleDnsPlugin
from awsdb_failover._tracker import AuroraConnectionTrackerPlugin, tracked_connections

__all__ = [
    "AuroraConnectionTrackerPlugin",
    "FailoverPlugin",
    "InitialConnectionPlugin",
    "StaleDnsPlugin",
    "awsdb_plugin_specs",
    "failover_mode_for",
    "tracked_connections",
]


@hookimpl
def awsdb_plugin_specs() -> Sequence[PluginSpec]:
    """Announce ``initial_connection``, ``stale_dns``, ``aurora_connection_tracker`` and
    ``failover`` (the AWS wrapper's ``failover_v2`` is an alias of it).

    The weights order them as the AWS wrapper does, except that ``stale_dns`` sits between
    ``initial_connection`` (whose instance substitution it then leaves alone) and the
    tracker (which then tracks the instance ``stale_dns`` landed on, without a query)."""
    return [
        PluginSpec(
            code="initial_connection",
            factory=InitialConnectionPlugin,
            weight=50,
            description="Opens the initial connection on a verified writer (or reader) instance.",
        ),
        PluginSpec(
            code="stale_dns",
            factory=StaleDnsPlugin,
            weight=90,
            description="Moves a writer-endpoint connection that stale DNS put on the wrong "
            "instance to the topology's writer.",
        ),
        PluginSpec(
            code="aurora_connection_tracker",
            factory=AuroraConnectionTrackerPlugin,
            weight=100,
            description="Retires connections to a writer the topology shows demoted.",
        ),
        PluginSpec(
            code="failover",
            factory=FailoverPlugin,
            weight=500,
            description="Fails over to the cluster's new writer (or a reader) on host failure.",
        ),
    ]
