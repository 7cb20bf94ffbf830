"""The ``stale_dns`` plugin: a writer endpoint whose DNS answer is still the old writer.

After a failover the cluster (writer) endpoint's DNS record follows the new writer only
after a while, so a new connection to it can land on the demoted writer, now a reader. For
writer cluster and global endpoints the plugin checks every new connection:

1. connect as written;
2. resolve the endpoint name (IPv4; the process resolver's override, else DNS);
3. ask the server its role (the dialect's is-reader query, as the AWS wrapper does; on
   Aurora PostgreSQL ``pg_is_in_recovery()``). A reader means the topology the connection
   knows may be behind too: the topology is read on this connection (the server's view,
   one more query) and the cluster's topology monitor is asked to verify the writer it
   names when it still names another one. A writer means the monitor's topology, kept
   current on its own thread, is read as it is (no I/O);
4. resolve the topology writer's instance name;
5. when the two addresses differ, or the connection landed on a reader, connect to the
   writer instance instead through the rest of the plugin pipeline (authentication still
   applies), check its role, and close the first connection. The writer must be one of the
   connection's hosts (the host list of its host-list provider: the topology, or the subset
   a restricting plugin such as a custom endpoint serves), otherwise
   :class:`~awsdb.errors.OperationalError` is raised.

A writer instance that is not the writer after all (the topology is behind) is given up for
the writer the topology monitor verifies next, within ``open_connection_retry_timeout_ms``
(the budget ``initial_connection`` uses to place a connection too); when
none is verified in time the first connection is kept as written (a reader: ``failover``,
when in the chain, takes over on the first refused write). Reader endpoints, instance names
and other hosts are left alone, and so is a topology writer in another region than the
endpoint (a Global Database secondary's writer endpoint).

The plugin also serves the connection's host list from the topology monitor and, before
every server call, compares the topology's version with the one it saw last (an integer
read: no lock, no I/O); only on a change is the host list re-read from the monitor's copy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

from awsdb.errors import OperationalError
from awsdb.hosts import HostInfo, HostRole
from awsdb.plugin import ConnectionChange, Plugin
from awsdb.topology import TopologyHostListProvider, TopologyMonitor, instance_pattern
from awsdb_failover._calls import SERVER_CALLS
from awsdb_failover._endpoints import adopt_landed, close_quietly, is_writer_url, same_region
from awsdb_failover._topology import (
    ClusterLink,
    cluster_id_of,
    existing_monitor,
    join_topology,
    seed_hosts,
)

__all__ = ["StaleDnsPlugin"]

_log = logging.getLogger("awsdb.failover")

# A writer the monitor verified this recently (on its own connection to it) is not checked
# again on the new connection: the check would cost a round trip.
_VERIFIED_FRESH_S = 1.0


class StaleDnsPlugin(Plugin):
    """Moves a connection that a stale writer-endpoint DNS answer put on the wrong instance
    to the topology's writer."""

    subscribed_methods: ClassVar[frozenset[str]] = SERVER_CALLS | {"connect"}

    def __init__(self, service: Any, props: Any) -> None:
        super().__init__(service, props)
        self._timeout = int(props.get("open_connection_retry_timeout_ms")) / 1000
        self._seed = seed_hosts(service, props)  # parsed once: the properties are immutable
        self._enabled = bool(self._seed) and is_writer_url(self._seed[0].host)
        self._provider: TopologyHostListProvider | None = None
        self._link: ClusterLink | None = None
        self._monitor: TopologyMonitor | None = None  # the link's, read on every call
        self._landed: HostInfo | None = None
        self._version = -1  # the topology version the host list was last read at

    # --- set-up --------------------------------------------------------------------------

    def init_host_provider(self, props: Any, service: Any) -> Any:
        """For a writer endpoint: the topology provider (the monitor's hosts once joined)."""
        cluster_id = cluster_id_of(service, props, self._seed) if self._enabled else None
        if cluster_id is None:
            return None
        self._provider = TopologyHostListProvider(cluster_id, self._seed)
        return self._provider

    def release(self) -> None:
        """Give the topology monitor back."""
        self._monitor = None
        if self._link is not None:
            self._link.release()
            self._link = None

    # --- connecting ----------------------------------------------------------------------

    def connect(
        self, host: HostInfo, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Open the connection; for a writer endpoint, make sure it is on the writer."""
        conn = call_next(host, props, is_initial)
        if not is_writer_url(host.host):
            provider = self._provider
            if provider is not None and provider.monitor is None:
                # an outer plugin (initial_connection) replaced the endpoint by an instance:
                # the host list still comes from the cluster's monitor (no I/O, no lease)
                provider.monitor = existing_monitor(self.service, props)
            return conn
        try:
            return self._on_writer(conn, host, props, is_initial, call_next)
        except BaseException:
            close_quietly(conn)
            raise

    def _join(self, conn: Any, host: HostInfo, props: Any) -> ClusterLink | None:
        if self._link is None:
            self._link = join_topology(self.service, conn, host, props)
            if self._link is not None:
                self._monitor = self._link.monitor
                if self._provider is not None:
                    self._provider.monitor = self._monitor
        return self._link

    def _on_writer(
        self,
        conn: Any,
        host: HostInfo,
        props: Any,
        is_initial: bool,
        call_next: Callable[..., Any],
    ) -> Any:
        """``conn`` (to writer endpoint ``host``), or a new connection to the writer."""
        link = self._join(conn, host, props)
        if link is None:
            return conn  # no topology (a plain server): nothing to compare with
        service = self.service
        resolver = service.services.resolver
        endpoint_ip = resolver.resolve(host.host)
        on_writer = not link.dialect.is_reader(service.aux_query(conn))
        writer = link.monitor.writer() if on_writer else self._read_writer(conn, host, link)
        if writer is None or not same_region(writer, host):
            return conn
        if on_writer:
            writer_ip = resolver.resolve(writer.host)
            if endpoint_ip is None or writer_ip is None or writer_ip == endpoint_ip:
                if is_initial and writer_ip is not None:
                    self._landed = writer  # the endpoint is the writer instance
                return conn
            _log.info(
                "writer endpoint %s resolves to %s, the writer %s to %s: switching",
                host.host,
                endpoint_ip,
                writer.host,
                writer_ip,
            )
        else:
            _log.info(
                "writer endpoint %s (%s) landed on a reader: switching to the writer %s",
                host.host,
                endpoint_ip,
                writer.host,
            )
        switched = self._switch(writer, props, is_initial, call_next, link)
        if switched is None:
            _log.warning(
                "no writer of %s verified within %g s: keeping the connection to %s as written",
                link.monitor.cluster_id,
                self._timeout,
                host.host,
            )
            return conn
        new, landed = switched
        close_quietly(conn)
        if is_initial:
            self._landed = landed
        return new

    def _read_writer(self, conn: Any, host: HostInfo, link: ClusterLink) -> HostInfo | None:
        """The writer of the topology read on ``conn`` (a forced refresh); the monitor is
        asked to verify it when it still names another writer."""
        service = self.service
        seed = self._seed or [host]
        port = host.port if host.port is not None else service.driver.default_port
        hosts = link.dialect.query_topology(
            service.aux_query(conn),
            host_pattern=instance_pattern(self.props, seed[0].host),
            default_port=port,
        )
        writer = next((h for h in hosts if h.role is HostRole.WRITER), None)
        monitor = link.monitor
        known = monitor.writer()
        if writer is not None and (known is None or known.url != writer.url):
            monitor.request_panic(known.url if known is not None else None)
        return writer if writer is not None else known

    def _switch(
        self,
        writer: HostInfo,
        props: Any,
        is_initial: bool,
        call_next: Callable[..., Any],
        link: ClusterLink,
    ) -> tuple[Any, HostInfo] | None:
        """A verified connection to ``writer`` (or the writer the monitor verifies next),
        opened through the rest of the pipeline; ``None`` when the budget is spent."""
        service = self.service
        monitor = link.monitor
        deadline = time.monotonic() + self._timeout
        while True:
            self._check_allowed(writer)
            try:
                new = call_next(writer, props, is_initial)
            except Exception as exc:
                if not service.is_network_error(exc):
                    raise
                _log.debug("connecting to the writer %s failed: %s", writer.host, exc)
                new = None
            if new is not None:
                try:
                    verified = monitor.verified_recently(
                        writer, _VERIFIED_FRESH_S
                    ) or not link.dialect.is_reader(service.aux_query(new))
                except BaseException:
                    close_quietly(new)
                    raise
                if verified:
                    return new, writer
                close_quietly(new)
                _log.info("the topology's writer %s is not the writer: waiting", writer.host)
            left = deadline - time.monotonic()
            found = monitor.wait_for_writer(writer.url, left) if left > 0 else None
            if found is None:
                return None
            writer = found

    def _check_allowed(self, writer: HostInfo) -> None:
        allowed = self.service.hosts()
        if not any(h.url == writer.url for h in allowed):
            names = ", ".join(h.host for h in allowed) or "none"
            raise OperationalError(
                f"the cluster's writer {writer.host} is not one of this connection's allowed "
                f"hosts ({names}): the writer endpoint cannot be moved to it"
            )

    # --- events and the hot path ---------------------------------------------------------

    def notify_connection_changed(self, changes: frozenset[ConnectionChange]) -> None:
        """Record the writer instance the initial connection landed on as its host."""
        landed, self._landed = self._landed, None
        adopt_landed(self.service, landed, changes)

    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        """Pass the call; re-read the host list first when the topology changed."""
        self._check_version()
        return call_next(*args, **kwargs)

    def bind_execute(
        self,
        method: str,
        connection: Any,
        call_next: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any],
    ) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], Any] | None:
        """:meth:`execute` as one layer (no argument repacking per call)."""

        def layer(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            monitor = self._monitor
            if monitor is not None and monitor.version != self._version:
                self._refresh(monitor)
            return call_next(target, args, kwargs)

        return layer

    def _check_version(self) -> None:
        monitor = self._monitor
        if monitor is not None and monitor.version != self._version:
            self._refresh(monitor)

    def _refresh(self, monitor: TopologyMonitor) -> None:
        self._version = monitor.version
        self.service.refresh_host_list()
