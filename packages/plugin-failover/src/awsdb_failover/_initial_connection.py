"""The ``initial_connection`` plugin: open the initial connection on an instance of the
right role, verified by the server, instead of wherever the cluster endpoint's DNS points.

- Writer cluster (and global) endpoint: connect to the topology's writer instance and check
  on the new connection that it is the writer; reader endpoint (``cluster-ro-``): a reader
  chosen by ``initial_connection_host_selector_strategy`` (the writer only when the
  cluster has no reader), checked to be a reader. Other hosts are left as written.
- The first connection of a cluster has no topology yet: it connects as written, reads the
  topology on that connection (it becomes the cluster monitor's first topology) and, when
  the role is wrong (a stale DNS answer), retries on the right instance.
- A failed check or a lost instance asks the monitor for a new writer and retries every
  ``open_connection_retry_interval_ms`` within ``open_connection_retry_timeout_ms``; when
  the budget is spent the connection is opened as written (the AWS wrapper does the same).

The connection's host becomes the instance it landed on, so later plugins (the tracker,
failover) know the instance without a query.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

from awsdb import rds
from awsdb.errors import ProgrammingError
from awsdb.hosts import HostInfo, HostRole
from awsdb.plugin import ConnectionChange, Plugin
from awsdb.topology import TopologyMonitor
from awsdb_failover._endpoints import WRITER_URLS, adopt_landed, close_quietly, same_region
from awsdb_failover._topology import (
    ClusterLink,
    existing_monitor,
    host_of,
    identify,
    join_topology,
)

__all__ = ["InitialConnectionPlugin", "roles_for"]

_log = logging.getLogger("awsdb.failover")


def roles_for(props: Any, host: str) -> tuple[str, str]:
    """``(substitution role, verified role)`` for a connection to ``host``.

    Defaults by endpoint type: writer cluster and global endpoints → ``writer``/``writer``;
    reader endpoints → ``reader``/``reader``; every other host → ``none``/``none``. An
    explicit ``endpoint_substitution_role`` that contradicts the endpoint type (a writer for
    a reader or custom endpoint, a reader for a writer endpoint, any substitution of an
    instance name) is a :class:`ProgrammingError`.
    """
    kind = rds.classify(host)
    if kind in WRITER_URLS:
        default = "writer"
    elif kind is rds.RdsUrlType.RDS_READER_CLUSTER:
        default = "reader"
    else:
        default = "none"
    substitute = str(props.get("endpoint_substitution_role") or default).replace("-", "_")
    verify = str(props.get("verify_opened_connection_type") or default).replace("-", "_")
    if verify == "any":
        verify = "none"
    invalid = (
        (
            substitute == "writer"
            and kind in (rds.RdsUrlType.RDS_READER_CLUSTER, rds.RdsUrlType.RDS_CUSTOM_CLUSTER)
        )
        or (substitute == "reader" and kind in WRITER_URLS)
        or (substitute == "any" and kind is rds.RdsUrlType.RDS_CUSTOM_CLUSTER)
        or (substitute != "none" and kind is rds.RdsUrlType.RDS_INSTANCE)
    )
    if invalid:
        raise ProgrammingError(
            f"invalid value for property 'endpoint_substitution_role': {substitute!r} for "
            f"{host!r} (a {kind.value} endpoint); allowed here: "
            + ", ".join(_allowed_substitutions(kind))
        )
    return substitute, verify


def _allowed_substitutions(kind: rds.RdsUrlType) -> list[str]:
    if kind is rds.RdsUrlType.RDS_INSTANCE:
        return ["none"]
    if kind is rds.RdsUrlType.RDS_CUSTOM_CLUSTER:
        return ["reader", "none"]
    if kind is rds.RdsUrlType.RDS_READER_CLUSTER:
        return ["reader", "any", "none"]
    if kind in WRITER_URLS:
        return ["writer", "any", "none"]
    return ["writer", "reader", "any", "none"]


class InitialConnectionPlugin(Plugin):
    """Lands the initial connection on a verified writer (or reader) instance."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"connect"})

    def __init__(self, service: Any, props: Any) -> None:
        super().__init__(service, props)
        self._timeout = int(props.get("open_connection_retry_timeout_ms")) / 1000
        self._interval = int(props.get("open_connection_retry_interval_ms")) / 1000
        self._wait_topology = int(props.get("wait_for_initial_topology_ms")) / 1000
        self._strategy = str(props.get("initial_connection_host_selector_strategy"))
        pairs = props.hosts()
        first = str(pairs[0][0]) if pairs else ""
        self._substitute, self._verify = roles_for(props, first)
        if self._substitute == "reader" and not service.accepts_strategy(
            HostRole.READER, self._strategy
        ):
            raise ProgrammingError(
                "invalid value for property 'initial_connection_host_selector_strategy': "
                f"{self._strategy!r}; allowed: " + ", ".join(sorted(service.services.selectors))
            )
        self._link: ClusterLink | None = None
        self._landed: HostInfo | None = None

    # --- connecting ------------------------------------------------------------------------

    def connect(
        self, host: HostInfo, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Open the initial connection on an instance of the verified role."""
        if not is_initial or (self._substitute == "none" and self._verify == "none"):
            return call_next(host, props, is_initial)
        deadline = time.monotonic() + self._timeout
        tried: set[str] = set()
        while True:
            target = self._target(host, props, tried)
            try:
                conn = call_next(target, props, is_initial)
            except Exception as exc:
                if target is host or not self.service.is_network_error(exc):
                    raise
                # a topology instance is gone (the topology is stale): look again
                _log.debug("initial connection to %s failed: %s", target.host, exc)
                tried.add(target.url)
                if not self._pause(deadline, tried):
                    return call_next(host, props, is_initial)
                continue
            try:
                landed = self._check(conn, target, props)
            except BaseException:
                close_quietly(conn)
                raise
            if landed is not None:
                self._landed = landed if landed is not host else None
                return conn
            close_quietly(conn)
            tried.add(target.url)
            _log.info(
                "initial connection to %s is not on a %s: retrying", target.host, self._verify
            )
            if not self._pause(deadline, tried):
                _log.warning(
                    "no %s instance verified within %g s: connecting to %s as written",
                    self._verify,
                    self._timeout,
                    host.host,
                )
                return call_next(host, props, is_initial)

    def _monitor(self, props: Any) -> TopologyMonitor | None:
        if self._link is not None:
            return self._link.monitor
        return existing_monitor(self.service, props)

    def _target(self, host: HostInfo, props: Any, tried: set[str]) -> HostInfo:
        """The instance that replaces ``host`` (``host`` itself without a topology)."""
        monitor = self._monitor(props)
        if monitor is None or self._substitute in ("none", "any"):
            return host
        hosts = monitor.hosts
        if not hosts and self._wait_topology > 0:
            until = time.monotonic() + self._wait_topology
            while not hosts and time.monotonic() < until:
                time.sleep(0.01)
                hosts = monitor.hosts
        hosts = self.service.services.availability.apply(hosts)
        writer = next((h for h in hosts if h.role is HostRole.WRITER), None)
        if self._substitute == "writer":
            if writer is None or writer.url in tried or not same_region(writer, host):
                return host
            return writer
        readers = [
            h for h in hosts if h.role is HostRole.READER and h.is_available and h.url not in tried
        ]
        if readers:
            return self.service.get_host_info_by_strategy(HostRole.READER, self._strategy, readers)
        if writer is not None and not any(h.role is HostRole.READER for h in hosts):
            return writer  # a cluster without readers: the reader endpoint means the writer
        return host

    def _check(self, conn: Any, target: HostInfo, props: Any) -> HostInfo | None:
        """The host ``conn`` landed on when its role is right, else ``None``."""
        if self._link is None:
            self._link = join_topology(self.service, conn, target, props)
        link = self._link
        if link is None:
            return target  # no topology (a plain server): nothing to verify against
        monitor = link.monitor
        known = host_of(monitor, target.url)
        if known is None and rds.classify(target.host).is_cluster:
            known = identify(link, self.service.aux_query(conn))  # which instance answered
        if self._verify == "none":
            return known or target
        # the is-reader query, as the AWS wrapper verifies (one cheap round trip; the
        # monitor's writer check is for the panic search, which may meet a stale node)
        is_writer = not link.dialect.is_reader(self.service.aux_query(conn))
        if self._verify == "writer":
            if not is_writer:
                return None
            return known or monitor.writer() or target
        # reader
        if not is_writer:
            return known or target
        hosts = monitor.hosts
        if hosts and not any(h.role is HostRole.READER for h in hosts):
            return known or monitor.writer() or target  # no reader in the cluster
        return None

    def _pause(self, deadline: float, tried: set[str]) -> bool:
        """Wait before the next attempt; ``False`` when the budget is spent."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        monitor = self._link.monitor if self._link is not None else None
        if monitor is not None and self._substitute == "writer":
            writer = monitor.writer()
            if writer is not None and writer.url not in tried:
                return True  # the endpoint answered wrong (stale DNS): try the topology's writer
            # the topology's writer is not one, or is gone: the monitor verifies the new one
            excluded = next(iter(tried)) if len(tried) == 1 else None
            writer = monitor.wait_for_writer(excluded, left)
            if writer is not None:
                tried.discard(writer.url)
            return writer is not None or time.monotonic() < deadline
        time.sleep(min(self._interval, left))
        if monitor is not None and not any(
            h.role is HostRole.READER and h.url not in tried for h in monitor.hosts
        ):
            tried.clear()  # every reader was tried: start the round again
        return time.monotonic() < deadline

    # --- events ------------------------------------------------------------------------

    def notify_connection_changed(self, changes: frozenset[ConnectionChange]) -> None:
        """Record the instance the initial connection landed on as the connection's host."""
        landed, self._landed = self._landed, None
        adopt_landed(self.service, landed, changes)

    def release(self) -> None:
        """Give the topology monitor back."""
        if self._link is not None:
            self._link.release()
            self._link = None
