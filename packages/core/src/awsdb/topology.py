"""Cluster topology: a host-list provider and one supervised monitor per cluster.

:class:`TopologyMonitor` runs on the core's monitor service, one per ``cluster_id``, shared
by every connection of the cluster. It keeps its own monitoring connection and reads the
dialect's topology query every ``topology_refresh_ms``. In *panic* mode (requested by
failover, or entered when the monitoring connection breaks or the topology has no writer)
it probes the known instances every ``cluster_topology_high_refresh_rate_ms`` until one
proves to be the writer (the dialect's writer check on a connection to it), reads the
topology from that writer, keeps that connection as its monitoring connection, and stays at
the high rate for 30 s. Waiters (:meth:`TopologyMonitor.wait_for_writer`) get the verified
writer the moment it is known. Each change is broadcast to every connection of the cluster
as ``notify_host_list_changed``.

:class:`TopologyHostListProvider` is what a topology plugin returns from
``init_host_provider``: the connection-string host until the monitor has read the
topology, the monitor's hosts afterwards.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from awsdb.errors import ProgrammingError
from awsdb.hosts import HostInfo, HostRole
from awsdb.monitors import Monitor
from awsdb.plugin import HostChange

if TYPE_CHECKING:
    from awsdb._service import Services
    from awsdb.dialects import AuxQuery, DatabaseDialect
    from awsdb.drivers import DriverDialect
    from awsdb.properties import Properties

__all__ = ["TopologyHostListProvider", "TopologyMonitor", "host_changes", "instance_pattern"]

_log = logging.getLogger("awsdb.topology")

_HIGH_RATE_AFTER_PANIC_S = 30.0
_PROBE_AGAIN_S = 0.005


def instance_pattern(props: Properties, host: str) -> str:
    """The instance host pattern: ``cluster_instance_host_pattern``, else derived from an RDS
    host name. A host that is an IP address or a custom domain without the property is a
    :class:`ProgrammingError` (never a silent fallback)."""
    from awsdb import rds

    configured = props.get("cluster_instance_host_pattern")
    if configured:
        rds.validate_host_pattern(str(configured))
        return str(configured)
    derived = rds.instance_host_pattern(host)
    if derived is None:
        raise ProgrammingError(
            f"cannot derive the instance host pattern from {host!r} (an IP address, a custom "
            "domain or a CNAME): set cluster_instance_host_pattern, e.g. "
            "'?.abc123.us-east-1.rds.amazonaws.com'"
        )
    return derived


def host_changes(old: list[HostInfo], new: list[HostInfo]) -> dict[str, frozenset[HostChange]]:
    """What changed between two topologies, by ``host:port``."""
    before = {h.url: h for h in old}
    after = {h.url: h for h in new}
    changes: dict[str, frozenset[HostChange]] = {}
    for url, host in after.items():
        prev = before.get(url)
        if prev is None:
            changes[url] = frozenset({HostChange.ADDED})
        elif prev.role is not host.role:
            promoted = (
                HostChange.PROMOTED_TO_WRITER
                if host.role is HostRole.WRITER
                else HostChange.PROMOTED_TO_READER
            )
            changes[url] = frozenset({promoted})
    for url in before.keys() - after.keys():
        changes[url] = frozenset({HostChange.DELETED})
    return changes


class TopologyMonitor(Monitor):
    """The topology of one cluster, kept current on its own connection. Thread-safe."""

    def __init__(
        self,
        services: Services,
        cluster_id: str,
        *,
        driver: DriverDialect,
        target: Callable[..., Any],
        props: Properties,
        dialect: DatabaseDialect,
        pattern: str,
        default_port: int | None,
        seed: list[HostInfo],
    ) -> None:
        super().__init__()
        self._services = services
        self.cluster_id = cluster_id
        self._driver = driver
        self._target = target
        self._props = props.for_internal("topology-monitoring-")
        self._dialect = dialect
        self._pattern = pattern
        self._default_port = default_port
        self._cond = threading.Condition()
        self._hosts: list[HostInfo] = []
        self._seed = list(seed)
        self._version = 0
        self._verified_writer: HostInfo | None = None
        self._verified_at = 0.0
        self._panic = True  # until the first topology is read
        self._high_rate_until = 0.0
        self._conn: Any = None
        self._conn_host: HostInfo | None = None
        self._last_error: BaseException | None = None
        self._waiters = 0
        self._probes: dict[str, Any] = {}  # url → connection, kept while in panic

    # --- read by connections -------------------------------------------------------------

    @property
    def hosts(self) -> list[HostInfo]:
        """The last topology read (readers first, writer last); ``[]`` before the first."""
        return list(self._hosts)

    @property
    def version(self) -> int:
        """Incremented on every topology change."""
        return self._version

    @property
    def in_panic(self) -> bool:
        """True while the monitor looks for a (new) writer."""
        return self._panic

    def writer(self) -> HostInfo | None:
        """The writer of the last topology read."""
        for h in self._hosts:
            if h.role is HostRole.WRITER:
                return h
        return None

    def use_props(self, props: Properties) -> None:
        """Connect with ``props`` from now on (a later connection's fresh credentials: an
        IAM token, a rotated secret)."""
        internal = props.for_internal("topology-monitoring-")
        with self._cond:
            self._props = internal

    def offer(self, hosts: list[HostInfo]) -> None:
        """A topology a connection read itself (at connect); used until the monitor reads
        its own. Ignored once the monitor has one."""
        if not hosts or self._hosts:
            return
        with self._cond:
            if not self._hosts:
                self._hosts = list(hosts)
                self._version += 1
                self._cond.notify_all()
        self.wake()

    def request_panic(self) -> None:
        """Look for the writer now (a connection saw its host fail).

        The monitoring connection is aborted: it points at the host that just failed for
        someone, and a topology query blocked on it (a black-holed network answers
        nothing, not even a reset) must not hold up the search for the new writer.
        """
        with self._cond:
            already = self._panic
            self._panic = True
            conn = self._conn
        if not already and conn is not None:
            self._driver.abort(conn)
        self.wake()

    def wait_for_writer(self, exclude: str | None, timeout: float) -> HostInfo | None:
        """Block until the monitor verified a writer other than ``exclude`` (a ``host:port``),
        at most ``timeout`` seconds; ``None`` on timeout. Enters panic mode."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._waiters += 1
        self.request_panic()
        try:
            with self._cond:
                while True:
                    writer = self._verified_writer
                    if writer is not None and writer.url != exclude and not self._panic:
                        return writer
                    left = deadline - time.monotonic()
                    if left <= 0 or self.stopping:
                        return None
                    self._cond.wait(min(left, 0.05))
        finally:
            with self._cond:
                self._waiters -= 1

    def verified_recently(self, host: HostInfo, within_s: float) -> bool:
        """True if the monitor verified ``host`` as the writer in the last ``within_s``."""
        writer = self._verified_writer
        return (
            writer is not None
            and writer.url == host.url
            and time.monotonic() - self._verified_at <= within_s
        )

    # --- the monitor thread ------------------------------------------------------------

    def step(self) -> float:
        """One round: read the topology (normal) or find the writer (panic)."""
        if self._panic:
            self._find_writer()
        else:
            self._refresh()
        if self._panic and self._waiters:
            return _PROBE_AGAIN_S  # a connection is waiting for the new writer: no pause
        if self._panic or time.monotonic() < self._high_rate_until:
            return float(self._props.get("cluster_topology_high_refresh_rate_ms")) / 1000
        return float(self._props.get("topology_refresh_ms")) / 1000

    def _query(self, conn: Any) -> AuxQuery:
        timeout = float(self._props.get("auxiliary_query_timeout_sec") or 5)
        driver = self._driver

        def run(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
            return driver.run_aux_query(conn, sql, params, timeout)

        return run

    def _open(self, host: HostInfo) -> Any:
        return self._driver.connect(self._target, host, self._props)

    def _drop(self) -> None:
        conn, self._conn, self._conn_host = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception as exc:
                _log.debug("closing the topology connection failed: %s", type(exc).__name__)

    def _refresh(self) -> None:
        if self._conn is None:
            self._panic = True
            self._find_writer()
            return
        try:
            hosts = self._dialect.query_topology(
                self._query(self._conn), host_pattern=self._pattern, default_port=self._default_port
            )
        except Exception as exc:
            if self.stopping:
                return
            _log.info("topology query on %s failed: %s", self._conn_host, type(exc).__name__)
            self._drop()
            self._panic = True
            self._find_writer()
            return
        writer = next((h for h in hosts if h.role is HostRole.WRITER), None)
        if writer is None or (self._conn_host is not None and writer.url != self._conn_host.url):
            # no writer, or the host we watch is no longer the writer: verify from scratch
            self._publish(hosts, verified=None)
            self._drop()
            self._panic = True
            self._find_writer()
            return
        self._publish(hosts, verified=writer)

    def _candidates(self) -> list[HostInfo]:
        known = self._hosts or self._seed
        seen: dict[str, HostInfo] = {}
        # the last known writer last: after a failure it is the least likely writer
        for h in sorted(known, key=lambda h: h.role is HostRole.WRITER):
            seen.setdefault(h.url, h)
        for h in self._seed:
            seen.setdefault(h.url, h)
        return list(seen.values())

    def _probe(self, host: HostInfo) -> Any:
        """A connection to ``host`` for panic probes, kept open between rounds."""
        conn = self._probes.get(host.url)
        if conn is None or self._driver.is_closed(conn):
            conn = self._probes[host.url] = self._open(host)
        return conn

    def _close_probes(self, keep: Any = None) -> None:
        probes, self._probes = self._probes, {}
        for conn in probes.values():
            if conn is not keep:
                _close_quietly(conn)

    def _find_writer(self) -> None:
        queue = self._candidates()
        seen = {h.url for h in queue}
        while queue:
            host = queue.pop(0)
            if self.stopping:
                return
            try:
                conn = self._probe(host)
                query = self._query(conn)
                is_writer = self._dialect.writer_check(query)
                hosts: list[HostInfo] = []
                if is_writer or not self._hosts:
                    # a reader's topology is read only to discover instances we do not know
                    hosts = self._dialect.query_topology(
                        query, host_pattern=self._pattern, default_port=self._default_port
                    )
            except Exception as exc:
                self._last_error = exc
                dead = self._probes.pop(host.url, None)
                if dead is not None:
                    _close_quietly(dead)
                continue
            writer = next((h for h in hosts if h.role is HostRole.WRITER), None)
            if not is_writer or writer is None:
                # a reader (or an endpoint pointing at one) still tells us who else exists
                for h in hosts:
                    if h.url in seen:
                        continue
                    seen.add(h.url)
                    if h.role is HostRole.WRITER:
                        queue.insert(0, h)  # the writer it reports is probed next
                    else:
                        queue.append(h)
                continue
            self._drop()
            self._close_probes(keep=conn)
            self._conn, self._conn_host = conn, writer
            self._high_rate_until = time.monotonic() + _HIGH_RATE_AFTER_PANIC_S
            self._publish(hosts, verified=writer, end_panic=True)
            return

    def _publish(
        self, hosts: list[HostInfo], *, verified: HostInfo | None, end_panic: bool = False
    ) -> None:
        with self._cond:
            old = self._hosts
            changed = [(h.url, h.role) for h in old] != [(h.url, h.role) for h in hosts]
            self._hosts = list(hosts)
            self._verified_writer = verified
            if verified is not None:
                self._verified_at = time.monotonic()
            if end_panic:
                self._panic = False
            if changed:
                self._version += 1
            self._cond.notify_all()
        if changed and old:
            changes = host_changes(old, hosts)
            _log.debug("topology of %s changed: %s", self.cluster_id, changes)
            self._services.notify_host_list_changed(self.cluster_id, changes)

    def interrupt(self) -> None:
        """Abort the monitoring connection so that a stuck query returns."""
        for conn in [self._conn, *list(self._probes.values())]:
            if conn is not None:
                self._driver.abort(conn)
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Close the monitoring and probe connections."""
        self._drop()
        self._close_probes()


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception as exc:
        _log.debug("closing a probe connection failed: %s", type(exc).__name__)


class TopologyHostListProvider:
    """Hosts of a cluster from its :class:`TopologyMonitor` (the connection-string host until
    the first topology is read)."""

    def __init__(self, cluster_id: str, seed: list[HostInfo]) -> None:
        self._cluster_id = cluster_id
        self._seed = list(seed)
        self.monitor: TopologyMonitor | None = None

    def refresh(self, force: bool = False) -> list[HostInfo]:
        """The monitor's topology; ``force`` also asks the monitor to look for the writer."""
        monitor = self.monitor
        if monitor is None:
            return list(self._seed)
        if force:
            monitor.request_panic()
        return monitor.hosts or list(self._seed)

    def current(self) -> list[HostInfo]:
        """The last topology read, without I/O."""
        monitor = self.monitor
        hosts = monitor.hosts if monitor is not None else []
        return hosts or list(self._seed)

    def identify(self, query: AuxQuery) -> HostInfo | None:
        """Not used by the topology provider: the monitor verifies writers itself."""
        return None

    def cluster_id(self) -> str:
        """The cluster id (the ``cluster_id`` property or derived from the endpoint)."""
        return self._cluster_id
