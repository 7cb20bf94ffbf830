"""Joining a cluster's topology monitor from any plugin of this package.

Every plugin of the package that needs the cluster's topology (``initial_connection``,
``aurora_connection_tracker``, ``stale_dns``) shares the one :class:`TopologyMonitor` per
``cluster_id`` that the core's monitor service runs (the same key and the same settings as
the ``failover`` plugin's), so a chain of several of them still starts one monitor.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from awsdb import rds
from awsdb.hosts import HostInfo
from awsdb.topology import TopologyMonitor, instance_pattern

if TYPE_CHECKING:
    from awsdb.dialects import DatabaseDialect
    from awsdb.monitors import MonitorLease

__all__ = [
    "ClusterLink",
    "cluster_id_of",
    "existing_monitor",
    "host_of",
    "identify",
    "join_topology",
    "seed_hosts",
]

_log = logging.getLogger("awsdb.failover")


def seed_hosts(service: Any, props: Any) -> list[HostInfo]:
    """The connection-string hosts, with the driver's default port where none is given."""
    default_port = service.driver.default_port
    return [HostInfo(h, p if p is not None else default_port) for h, p in props.hosts()]


def cluster_id_of(service: Any, props: Any, seed: list[HostInfo] | None = None) -> str | None:
    """The cluster id: the ``cluster_id`` property, else derived from the first host
    (``seed``: the connection-string hosts when already parsed)."""
    configured = props.get("cluster_id")
    if configured:
        return str(configured)
    if seed is None:
        seed = seed_hosts(service, props)
    if not seed:
        return None
    return rds.cluster_id_for(seed[0].host, seed[0].port)


def existing_monitor(service: Any, props: Any) -> TopologyMonitor | None:
    """The running topology monitor of this connection's cluster, if any (no lease taken)."""
    cluster_id = cluster_id_of(service, props)
    if cluster_id is None:
        return None
    monitor = service.services.monitors.get(("topology", cluster_id))
    return monitor if isinstance(monitor, TopologyMonitor) else None


class ClusterLink:
    """A plugin's hold on its cluster's topology monitor (a lease) and database dialect."""

    def __init__(self, lease: MonitorLease[TopologyMonitor], dialect: DatabaseDialect) -> None:
        self.lease = lease
        self.dialect = dialect

    @property
    def monitor(self) -> TopologyMonitor:
        """The shared topology monitor."""
        return self.lease.monitor

    def release(self) -> None:
        """Give the lease back."""
        self.lease.release()


def join_topology(service: Any, conn: Any, host: HostInfo, props: Any) -> ClusterLink | None:
    """Lease the cluster's topology monitor for a new connection ``conn`` to ``host``.

    ``None`` when the database has no topology (a plain PostgreSQL or MySQL server). The
    first connection of a cluster reads the topology on ``conn`` and offers it to the
    monitor; the connection joins the cluster's host events (``notify_host_list_changed``).
    Raises :class:`~awsdb.errors.ProgrammingError` when the instance host pattern cannot be
    derived (an IP address or a custom domain without ``cluster_instance_host_pattern``).
    """
    cluster_id = cluster_id_of(service, props)
    if cluster_id is None:
        return None
    dialect = service.detect_dialect(conn, host)
    if not dialect.supports_topology:
        _log.debug("dialect %s has no topology", dialect.code)
        return None
    seed = seed_hosts(service, props) or [host]
    pattern = instance_pattern(props, seed[0].host)
    port = host.port if host.port is not None else service.driver.default_port
    services = service.services

    def make() -> TopologyMonitor:
        return TopologyMonitor(
            services,
            cluster_id,
            driver=service.driver,
            target=service.target,
            props=props,
            dialect=dialect,
            pattern=pattern,
            default_port=port,
            seed=seed,
        )

    lease = services.monitors.acquire(("topology", cluster_id), make)
    try:
        monitor = lease.monitor
        monitor.use_props(props)
        if not monitor.hosts:
            monitor.offer(
                dialect.query_topology(
                    service.aux_query(conn), host_pattern=pattern, default_port=port
                )
            )
    except BaseException:
        lease.release()
        raise
    service.join_cluster(cluster_id)
    return ClusterLink(lease, dialect)


def host_of(monitor: TopologyMonitor, url: str) -> HostInfo | None:
    """The topology host whose ``host:port`` is ``url``."""
    return next((h for h in monitor.hosts if h.url == url), None)


def identify(link: ClusterLink, query: Any) -> HostInfo | None:
    """The topology host a connection is on, asked of the server (the dialect's instance-id
    query, one round trip); ``None`` when the server's id is not in the topology."""
    try:
        ident = link.dialect.instance_id(query)
    except Exception as exc:
        _log.debug("instance id query failed: %s", type(exc).__name__)
        return None
    if ident is None:
        return None
    return next(
        (h for h in link.monitor.hosts if h.host_id in ident or h.matches(ident[1])),
        None,
    )
