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
as ``notify_host_list_changed``. With ``monitoring_connection_priority`` naming
``strict-reader`` first, the monitor then moves its connection to a reader (opened on a
thread of its own) and reads the topology there; failover still verifies the writer itself.

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

from awsdb._topology_search import SearchSettings, WriterSearch
from awsdb._topology_upgrade import MonitorUpgrade, prefers_reader
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
_PROBE_AGAIN_S = 0.002  # between two probes of one instance while a connection waits
_RETRY_S = 0.1  # reconnect after a network error
_RETRY_WAITING_S = 0.01  # the same while a connection waits
_PANIC_SLICE_S = 0.05
_JOIN_PROBES_S = 3.0
_SPARE_KEEP_S = 1.0  # after a verified writer, how long a waiter's spares wait for it
_UPGRADE_AGAIN_S = 5.0  # between two attempts at a preferred monitoring connection


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
        # hosts connections saw fail since the last search began (None: unknown host)
        self._suspects: set[str | None] = set()
        self._search: WriterSearch | None = None
        self._ended: list[WriterSearch] = []  # stopped, threads perhaps still ending
        self._claimed: tuple[Any, HostInfo] | None = None  # a search's winner, to adopt
        # spares: connections a waiting connection opened (through its own pipeline) to the
        # instances being probed, so that it need not connect once the writer is known
        self._spare_owner: Callable[[HostInfo], Any] | None = None
        self._spares: dict[str, Any] = {}
        self._spare_tried: set[str] = set()
        self._names_lock = threading.Lock()  # one name check at a time (DNS, off _cond)
        self._names_checked: tuple[int, ProgrammingError | None] | None = None  # (version, error)
        # monitoring_connection_priority: strict-reader first watches from a reader
        self._prefer_reader = prefers_reader(props.get("monitoring_connection_priority"))
        self._on_reader = False  # the monitoring connection is on a reader on purpose
        self._upgrade = MonitorUpgrade(
            f"awsdb-topology-upgrade-{cluster_id}", self._open, self._is_reader, _close_quietly
        )
        self._upgrade_at = 0.0
        self._upgrades = 0

    # --- read by connections -------------------------------------------------------------

    @property
    def hosts(self) -> list[HostInfo]:
        """The last topology read (readers first, writer last); ``[]`` before the first."""
        return list(self._hosts)

    @property
    def dialect(self) -> DatabaseDialect:
        """The database dialect whose topology query the monitor runs."""
        return self._dialect

    @property
    def version(self) -> int:
        """Incremented on every topology change."""
        return self._version

    @property
    def monitoring_host(self) -> HostInfo | None:
        """The host of the monitor's own connection (``None`` while it has none)."""
        return self._conn_host

    @property
    def in_panic(self) -> bool:
        """True while the monitor looks for a (new) writer."""
        return self._panic

    @property
    def last_error(self) -> BaseException | None:
        """The last error a topology query or probe raised (``None`` if none yet)."""
        return self._last_error

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

    def request_panic(self, failed: str | None = None) -> None:
        """Look for the writer now (a connection saw its host fail).

        ``failed`` is that host (``host:port``), if known. The monitoring connection is
        aborted when it points at that host (or the host is unknown, or is an endpoint
        rather than a known instance, which may be the monitored one): a topology query
        blocked on it (a black-holed network answers nothing, not even a reset) must not
        hold up the search for the new writer. A monitoring connection to another host is
        asked first instead: if it is still on the writer, one round trip settles it.
        """
        with self._cond:
            already = self._panic
            self._panic = True
            self._suspects.add(failed)
            conn, host = self._conn, self._conn_host
            # a failed cluster endpoint (not an instance) may be the monitored instance
            is_instance = any(h.url == failed for h in self._hosts)
        on_failed = failed is None or host is None or host.url == failed or not is_instance
        if not already and conn is not None and on_failed:
            _abort_quietly(self._driver, conn)
        self.wake()

    def wait_for_writer(
        self,
        exclude: str | None,
        timeout: float,
        prepare: Callable[[HostInfo], Any] | None = None,
    ) -> HostInfo | None:
        """Block until the monitor verified a writer other than ``exclude`` (a ``host:port``),
        at most ``timeout`` seconds; ``None`` on timeout. Enters panic mode.

        ``exclude`` itself is returned once the monitor verified it again after this call
        (the connection was lost, not the writer: a reset, a terminated session).

        ``prepare(host)`` opens a connection for the caller (through its own pipeline, with
        its own properties). One waiter at a time has the monitor's probes call it once per
        probed instance other than ``exclude`` while they look for the writer; the caller
        then picks the one to the writer up with :meth:`take_prepared` instead of connecting
        after the writer is known. The others are closed.
        """
        asked = time.monotonic()
        deadline = asked + timeout
        with self._cond:
            self._waiters += 1
            stale = prepare is not None and self._spare_owner == prepare
        if stale:
            self._drop_spares()  # left over from this caller's previous failover
        with self._cond:
            if prepare is not None and self._spare_owner is None:
                self._spare_owner = prepare
                self._spare_tried = {exclude} if exclude is not None else set()
        self.request_panic(exclude)
        found: HostInfo | None = None
        try:
            with self._cond:
                while True:
                    writer = self._verified_writer
                    if (
                        writer is not None
                        and not self._panic
                        and (writer.url != exclude or self._verified_at > asked)
                    ):
                        found = writer
                        return found
                    left = deadline - time.monotonic()
                    if left <= 0 or self.stopping:
                        return None
                    self._cond.wait(min(left, 0.05))
        finally:
            with self._cond:
                self._waiters -= 1
                abandoned = found is None and prepare is not None and self._spare_owner == prepare
            if abandoned:
                self._drop_spares()

    def take_prepared(self, host: HostInfo, prepare: Callable[[HostInfo], Any]) -> Any:
        """The open connection ``prepare`` made to ``host`` during the writer search, or
        ``None``. Ends ``prepare``'s turn: its other spare connections are closed."""
        with self._cond:
            if self._spare_owner is None or self._spare_owner != prepare:
                return None
            spares, self._spares = self._spares, {}
            self._spare_owner = None
        conn = spares.pop(host.url, None)
        for other in spares.values():
            _close_quietly(other)
        if conn is not None and self._driver.is_closed(conn):
            _close_quietly(conn)
            return None
        return conn

    def _spare(self, host: HostInfo) -> None:
        """On a probe's thread: open the waiting owner's spare to ``host`` (once each)."""
        with self._cond:
            owner = self._spare_owner
            if owner is None or host.url in self._spare_tried or self._instance(host) is None:
                return
            self._spare_tried.add(host.url)
        try:
            conn = owner(host)
        except Exception as exc:
            _log.debug("a spare connection to %s failed: %s", host.url, type(exc).__name__)
            return
        with self._cond:
            if self._spare_owner == owner and host.url not in self._spares:
                self._spares[host.url] = conn
                return
        _close_quietly(conn)  # the owner is gone or done

    def _drop_spares(self) -> None:
        with self._cond:
            spares, self._spares = self._spares, {}
            self._spare_owner = None
        for conn in spares.values():
            _close_quietly(conn)

    def name_error(self) -> ProgrammingError | None:
        """An error when no instance host name of the topology resolves, else ``None``.

        Such a topology can never be failed over to (a bare ``?`` pattern on a non-RDS host,
        or a pattern whose domain does not exist). Checked once per topology version: every
        connection that fails over gets the same, first error at once instead of waiting
        for ``failover_timeout_sec``.
        """
        from awsdb import rds
        from awsdb.resolver import get_resolver

        with self._names_lock:
            version, hosts, checked = self._version, list(self._hosts), self._names_checked
            if checked is not None and checked[0] == version:
                return checked[1]
            names = [h.host for h in hosts if rds.classify(h.host) is not rds.RdsUrlType.IP_ADDRESS]
            error: ProgrammingError | None = None
            resolver = get_resolver()
            if names and all(resolver.resolve(name) is None for name in names):
                error = ProgrammingError(
                    f"no instance host name of {self.cluster_id} resolves ({', '.join(names)}; "
                    f"cluster_instance_host_pattern {self._pattern!r}): set "
                    "cluster_instance_host_pattern to the instances' domain, e.g. "
                    "'?.abc123.us-east-1.rds.amazonaws.com'"
                )
            self._names_checked = (version, error)
            return error

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
            self._panic_step()
            if self._panic:
                return 0.0  # the search paces its probes itself
        else:
            self._refresh()
            if self._panic:
                return 0.0
            if self._prefer_reader:
                self._move_to_reader()
        unclaimed = self._spare_owner is not None and not self._waiters
        if unclaimed and time.monotonic() - self._verified_at > _SPARE_KEEP_S:
            self._drop_spares()  # a waiter that never came for its spare
        if time.monotonic() < self._high_rate_until:
            return self._high_rate_s()
        return float(self._props.get("topology_refresh_ms")) / 1000

    def _high_rate_s(self) -> float:
        return float(self._props.get("cluster_topology_high_refresh_rate_ms")) / 1000

    def _query(self, conn: Any) -> AuxQuery:
        timeout = self._aux_timeout_s()
        driver = self._driver

        def run(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
            return driver.run_aux_query(conn, sql, params, timeout)

        return run

    def _connect_timeout_s(self) -> float:
        try:
            return float(self._props.get("connect_timeout") or 0)
        except (TypeError, ValueError):
            return 0.0

    def _aux_timeout_s(self) -> float:
        return float(self._props.get("auxiliary_query_timeout_sec") or 5)

    def _open(self, host: HostInfo) -> Any:
        return self._driver.connect(self._target, host, self._props)

    def _drop(self) -> None:
        conn, self._conn, self._conn_host = self._conn, None, None
        self._on_reader = False
        if conn is not None:
            _close_quietly(conn)

    def _refresh(self) -> None:
        if self._conn is None:
            self._panic = True
            return
        try:
            hosts = self._dialect.query_topology(
                self._query(self._conn), host_pattern=self._pattern, default_port=self._default_port
            )
        except Exception as exc:
            if self.stopping:
                return
            self._last_error = exc
            _log.info("topology query on %s failed: %s", self._conn_host, type(exc).__name__)
            self._drop()
            self._panic = True
            return
        writer = next((h for h in hosts if h.role is HostRole.WRITER), None)
        if writer is not None and self._on_reader and self._conn_host is not None:
            if writer.url != self._conn_host.url:  # a reader's view: the writer is not verified
                self._publish(hosts, verified=None, keep_verified=writer)
                return
            self._on_reader = False  # the reader watched was promoted
        if writer is None or (self._conn_host is not None and writer.url != self._conn_host.url):
            # no writer, or the host we watch is no longer the writer: verify from scratch
            self._publish(hosts, verified=None)
            self._drop()
            self._panic = True
            return
        self._publish(hosts, verified=writer)

    def _is_reader(self, conn: Any) -> bool:
        return not self._dialect.writer_check(self._query(conn))

    def _move_to_reader(self) -> None:
        """Adopt a reader connection the upgrade opened, or start opening one."""
        got = self._upgrade.take()
        if got is not None:
            conn, host = got
            with self._cond:
                adopt = not self._panic and self._conn is not None and not self._on_reader
                adopt = adopt and any(
                    h.url == host.url and h.role is HostRole.READER for h in self._hosts
                )
                if adopt:
                    old = self._conn
                    self._conn, self._conn_host, self._on_reader = conn, host, True
            if not adopt:
                _close_quietly(conn)
                return
            _close_quietly(old)
            _log.debug("topology of %s is monitored from reader %s", self.cluster_id, host.url)
            return
        now = time.monotonic()
        if self._on_reader or self._waiters or now < self._upgrade_at or self._upgrade.busy:
            return
        readers = [h for h in self._hosts if h.role is HostRole.READER]
        if not readers:
            return  # a single instance: the writer it is (the connection accepted first)
        self._upgrade_at = now + _UPGRADE_AGAIN_S
        self._upgrades += 1
        self._upgrade.start(readers[self._upgrades % len(readers)])

    def _candidates(self) -> list[HostInfo]:
        known = self._hosts or self._seed
        seen: dict[str, HostInfo] = {}
        # the last known writer last: after a failure it is the least likely writer
        for h in sorted(known, key=lambda h: h.role is HostRole.WRITER):
            seen.setdefault(h.url, h)
        for h in self._seed:
            seen.setdefault(h.url, h)
        return list(seen.values())

    def _settings(self) -> SearchSettings:
        def pause_s() -> float:
            return _PROBE_AGAIN_S if self._waiters else self._high_rate_s()

        def retry_s() -> float:
            return _RETRY_WAITING_S if self._waiters else _RETRY_S

        return SearchSettings(
            driver=self._driver,
            dialect=self._dialect,
            pattern=self._pattern,
            default_port=self._default_port,
            aux_timeout_s=self._aux_timeout_s(),
            open=self._open,
            pause_s=pause_s,
            retry_s=retry_s,
            topology_known=lambda: bool(self._hosts),
            instance=self._instance,
            announce=self._announce,
            claim=self._claim,
            spare=self._spare,
        )

    def _panic_step(self) -> None:
        search = self._search
        if search is None:
            with self._cond:
                suspects, self._suspects = self._suspects, set()
            warm: tuple[HostInfo, Any] | None = None
            host = self._conn_host
            # only when every failed host is another known instance (an endpoint may be
            # the monitored instance itself)
            others = {h.url for h in self._hosts} - {host.url if host is not None else ""}
            if self._conn is not None and host is not None and suspects <= others:
                warm = (host, self._conn)  # handed to the search: it asks it first
                self._conn, self._conn_host = None, None
            self._drop()
            search = self._search = WriterSearch(self._settings(), self.cluster_id)
            search.start(self._candidates(), warm)
        if not search.wait(_PANIC_SLICE_S):
            error = search.last_error
            if error is not None:
                self._last_error = error
            return
        self._search = None
        self._end(search)
        with self._cond:
            claimed, self._claimed = self._claimed, None
        if claimed is not None:
            self._drop()
            self._conn, self._conn_host = claimed

    def _instance(self, host: HostInfo) -> HostInfo | None:
        return next((h for h in self._hosts if h.url == host.url), None)

    def _announce(self, writer: HostInfo) -> None:
        """A probe verified ``writer`` (an instance of the topology): waiters may use it
        now; its topology follows a round trip later (runs on the probe's thread)."""
        with self._cond:
            if self.stopping:
                return
            self._verified_writer = writer
            self._verified_at = time.monotonic()
            self._high_rate_until = self._verified_at + _HIGH_RATE_AFTER_PANIC_S
            self._panic = False
            self._cond.notify_all()
        _log.debug("verified writer of %s: %s", self.cluster_id, writer.url)

    def _claim(self, conn: Any, writer: HostInfo, hosts: list[HostInfo]) -> bool:
        """A probe verified ``writer`` (runs on the probe's thread): publish at once, and
        leave its connection for the monitor thread to adopt."""
        with self._cond:
            if self.stopping:
                return False
            self._claimed = (conn, writer)
        self._high_rate_until = time.monotonic() + _HIGH_RATE_AFTER_PANIC_S
        announced = self._verified_writer is not None and self._verified_writer.url == writer.url
        self._publish(hosts, verified=writer, end_panic=True)
        if not announced:
            _log.debug("verified writer of %s: %s", self.cluster_id, writer.url)
        return True

    def _end(self, search: WriterSearch) -> None:
        search.stop()
        self._ended = [s for s in self._ended if s.alive()]
        if search.alive():
            self._ended.append(search)

    def _publish(
        self,
        hosts: list[HostInfo],
        *,
        verified: HostInfo | None,
        end_panic: bool = False,
        keep_verified: HostInfo | None = None,
    ) -> None:
        """Store ``hosts``; ``verified`` is the writer proven on a connection to it.

        ``keep_verified``: the writer a reader reports; the last verified writer stays
        verified (its time unchanged) while it is that writer.
        """
        with self._cond:
            old = self._hosts
            changed = [(h.url, h.role) for h in old] != [(h.url, h.role) for h in hosts]
            self._hosts = list(hosts)
            last = self._verified_writer
            kept = keep_verified is not None and last is not None and last.url == keep_verified.url
            if not kept:  # (kept: a reader reports the writer the monitor verified)
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
        """Abort the monitoring and probe connections so that a stuck query returns."""
        conn = self._conn
        if conn is not None:
            _abort_quietly(self._driver, conn)
        search = self._search
        if search is not None:
            search.interrupt()
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Close the monitoring connection; end the probes and join their threads."""
        # a probe or an upgrade still inside its connect cannot be aborted: wait it out
        wait_s = max(_JOIN_PROBES_S, self._connect_timeout_s() + 1.0)
        self._upgrade.close(wait_s)
        self._drop()
        search, self._search = self._search, None
        if search is not None:
            search.interrupt()
            self._ended.append(search)
        deadline = time.monotonic() + wait_s
        for ended in self._ended:
            ended.interrupt()
        for ended in self._ended:
            ended.join(max(0.0, deadline - time.monotonic()))
        self._ended = []
        with self._cond:
            claimed, self._claimed = self._claimed, None
        if claimed is not None:
            _close_quietly(claimed[0])
        self._drop_spares()


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception as exc:
        _log.debug("closing a topology connection failed: %s", type(exc).__name__)


def _abort_quietly(driver: DriverDialect, conn: Any) -> None:
    try:
        driver.abort(conn)
    except Exception as exc:
        _log.debug("aborting the topology connection failed: %s", type(exc).__name__)


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
