"""Endpoint kinds and small connection helpers shared by the plugins that place a new
connection on the right instance (``initial_connection``, ``stale_dns``, ``failover``'s
connect-time failover)."""

from __future__ import annotations

import logging
from typing import Any

from awsdb import rds
from awsdb.hosts import HostInfo
from awsdb.plugin import ConnectionChange

__all__ = ["WRITER_URLS", "adopt_landed", "close_quietly", "is_writer_url", "same_region"]

_log = logging.getLogger("awsdb.failover")

WRITER_URLS = (rds.RdsUrlType.RDS_WRITER_CLUSTER, rds.RdsUrlType.RDS_GLOBAL_WRITER_CLUSTER)
"""Endpoint types that name the cluster's writer: the writer cluster and global endpoints."""


def is_writer_url(host: str) -> bool:
    """True for a writer cluster endpoint or a global writer endpoint."""
    return rds.classify(host) in WRITER_URLS


def same_region(instance: HostInfo, endpoint: HostInfo) -> bool:
    """False when ``instance`` is in another region than ``endpoint``: the endpoint is a
    Global Database secondary's, and the instance must not replace it."""
    region = rds.region_of(endpoint.host)
    return region is None or rds.region_of(instance.host) in (None, region)


def close_quietly(conn: Any) -> None:
    """Close a connection that is being given up; a failure is only logged."""
    try:
        conn.close()
    except Exception as exc:
        _log.debug("closing a rejected connection failed: %s", type(exc).__name__)


def adopt_landed(
    service: Any, landed: HostInfo | None, changes: frozenset[ConnectionChange]
) -> None:
    """Make ``landed`` (the instance a plugin's connect hook put the initial connection on,
    rather than the host it was asked for) the connection's host, once it is installed."""
    if landed is None or ConnectionChange.INITIAL_CONNECTION not in changes:
        return
    current = service.current_host
    if current is None or current.url != landed.url:
        service.replace_connection(service.current_connection, landed)
