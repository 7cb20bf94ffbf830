"""The ``efm`` plugin: each network-bound call is watched by its host's shared monitor.

The monitored host is the *instance* behind the connection, not the address it was opened
with: a connection through a cluster or reader endpoint (or an IP address, given
``cluster_instance_host_pattern``) asks the server for its instance id once, when it is
opened, and is watched by that instance's monitor, whose probe connection dials the instance
itself. Connections through the cluster endpoint and through the instance endpoint thus share
one monitor, and an endpoint that moves to another instance never misleads a probe.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from awsdb import hookimpl
from awsdb.errors import InterfaceError
from awsdb.hosts import HostInfo
from awsdb.monitors import MonitorLease
from awsdb.plugin import NETWORK_BOUND_METHODS, Plugin
from awsdb.rds import RdsUrlType, classify, instance_host_pattern, parse_host_pattern
from awsdb_efm._monitor import EfmSettings, HostMonitor

if TYPE_CHECKING:
    from awsdb.plugin import PluginService
    from awsdb.properties import Properties

__all__ = ["EfmPlugin", "monitor_key"]

_CONNECT_METHODS = frozenset({"connect", "force_connect"})

_log = logging.getLogger("awsdb.efm")


def monitor_key(host: HostInfo, settings: EfmSettings) -> tuple[str, str, EfmSettings]:
    """The key of the monitor shared by every connection to ``host`` with ``settings``."""
    return ("efm", host.url, settings)


class EfmPlugin(Plugin):
    """Enhanced failure monitoring for one connection.

    Around every DB-API call that waits on the server (statements, commits and rollbacks,
    fetches of cursors that stream their rows; not psycopg's local ``cursor()`` nor fetches
    of cursors that hold their rows) the plugin registers the call with the monitor of the
    instance behind the call's connection (a replaced connection is followed at once: the
    core binds its calls anew) and removes it when the call returns. When the monitor
    declares the host dead it aborts the call's connection; the call then raises the
    driver's own network error, unchanged, and the host is marked unavailable.
    """

    subscribed_methods: ClassVar[frozenset[str]] = NETWORK_BOUND_METHODS | _CONNECT_METHODS
    # Only the calls that wait on the server: not the fetches of cursors that hold their
    # rows (psycopg's client-side cursors, mysql-connector's buffered ones), which never
    # block on the network.
    server_calls_only: ClassVar[bool] = True

    def __init__(self, service: PluginService, props: Properties) -> None:
        super().__init__(service, props)
        self._enabled = bool(props.get("failure_detection_enabled"))
        self._settings = EfmSettings.from_props(props)
        self._idle_expiry_s = int(props.get("monitor_disposal_time_ms")) / 1000
        self._service_ref = weakref.ref(service)
        self._lease: MonitorLease[HostMonitor] | None = None
        self._lease_host: HostInfo | None = None
        self._lease_monitor: HostMonitor | None = None
        self._unmonitored_logged = False
        self._lease_conn: Any = None  # the connection the lease was taken for
        self._instances: MutableMapping[Any, HostInfo] = weakref.WeakKeyDictionary()
        """Raw connection → the instance behind it (found when the connection opened)."""

    # --- opening connections: which instance is behind the address ---------------------

    @hookimpl
    def connect(
        self, host: HostInfo, props: Properties, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Open the connection, then find the instance behind it (see :meth:`instance_of`)."""
        conn = call_next(host, props, is_initial)
        if self._enabled:
            self._remember(conn, host, props)
        return conn

    @hookimpl
    def force_connect(
        self, host: HostInfo, props: Properties, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Same as :meth:`connect`."""
        conn = call_next(host, props, is_initial)
        if self._enabled:
            self._remember(conn, host, props)
        return conn

    def _remember(self, conn: Any, host: HostInfo, props: Properties) -> None:
        instance = self.instance_of(conn, host, props)
        if instance is host:
            return
        try:
            self._instances[conn] = instance
        except TypeError:  # a driver connection without weak references: watch the address
            _log.debug("efm: %s cannot be weakly referenced", type(conn).__name__)

    def instance_of(self, conn: Any, host: HostInfo, props: Properties) -> HostInfo:
        """The instance that ``conn`` (just opened to ``host``, idle) is on.

        ``host`` itself when it already names an instance (an RDS instance endpoint, or a
        topology host carrying its instance id). Otherwise the dialect's instance-id query
        runs once on ``conn`` and the id is turned into the instance's host: the topology's
        host with that id when the connection's cluster is known, else the instance host
        pattern (``cluster_instance_host_pattern``, or derived from an RDS endpoint name)
        with ``host``'s port. ``host`` when no pattern is known (an IP address or a custom
        domain without the property: the address is then the monitored host), when the
        dialect has no instance id, or when the query fails.
        """
        if host.host_id is not None or classify(host.host) is RdsUrlType.RDS_INSTANCE:
            return host
        configured = props.get("cluster_instance_host_pattern")
        text = str(configured) if configured else instance_host_pattern(host.host)
        if not text:
            return host
        service = self.service
        try:
            pattern = parse_host_pattern(text)
            dialect = service.detect_dialect(conn, host)
            if not dialect.supports_topology:
                return host
            found = dialect.instance_id(service.aux_query(conn))
        except Exception as exc:
            _log.debug("efm: instance id of %s unknown: %s", host.url, type(exc).__name__)
            return host
        if found is None:
            return host
        ident = found[0]
        provider = service.host_provider
        for known in provider.current() if provider is not None else ():
            if known.host_id == ident:
                return known
        port = pattern.port if pattern.port is not None else host.port
        return HostInfo(pattern.host_for(ident), port, host_id=ident)

    # --- the calls -----------------------------------------------------------------------

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        """Run the call under the monitor of the instance its connection is on."""
        service = self.service
        conn = service.current_connection
        if conn is not None and conn is self._lease_conn:
            monitor: HostMonitor | None = self._lease_monitor
            host = self._lease_host
        elif conn is not None and self._enabled:
            host = self._instances.get(conn) or service.current_host
            monitor = self._monitor(host) if host is not None else None
            self._lease_conn = conn if monitor is not None else None
        else:
            monitor = None
        if monitor is None:
            return call_next(*args, **kwargs)
        ctx = monitor.start_monitoring(self._service_ref)
        try:
            return call_next(*args, **kwargs)
        except BaseException:
            if ctx.aborted:
                self.service.set_availability(host, False)  # type: ignore[arg-type]
            raise
        finally:
            monitor.stop_monitoring(ctx)

    def bind_execute(
        self,
        method: str,
        connection: Any,
        call_next: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any],
    ) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], Any] | None:
        """:meth:`execute` as one layer for the calls on ``connection``.

        Disabled, the plugin adds no layer at all. Enabled, the monitor of ``connection``'s
        instance is looked up once, at the first call (again when the lease moved to another
        connection), and every call is registered with it directly.
        """
        if not self._enabled:
            return call_next
        service = self.service
        service_ref = self._service_ref

        def layer(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if connection is self._lease_conn:
                monitor: HostMonitor | None = self._lease_monitor
            else:
                host = self._instances.get(connection) or service.current_host
                monitor = self._monitor(host) if host is not None else None
                self._lease_conn = connection if monitor is not None else None
            if monitor is None:
                return call_next(target, args, kwargs)
            ctx = monitor.start_monitoring(service_ref)
            try:
                return call_next(target, args, kwargs)
            except BaseException:
                if ctx.aborted:
                    service.set_availability(monitor.host, False)
                raise
            finally:
                monitor.stop_monitoring(ctx)

        return layer

    def _monitor(self, host: HostInfo) -> HostMonitor | None:
        lease, current = self._lease, self._lease_host
        same = current is not None and (current is host or current.url == host.url)
        if lease is not None and same:
            return lease.monitor
        if lease is not None:
            lease.release()
            self._lease = self._lease_host = self._lease_monitor = self._lease_conn = None
        try:
            lease = self.service.services.monitors.acquire(
                monitor_key(host, self._settings),
                self._factory(host),
                idle_expiry_s=self._idle_expiry_s,
            )
        except InterfaceError as exc:  # the process services were released under us
            if not self._unmonitored_logged:
                self._unmonitored_logged = True
                _log.warning("efm: calls on this connection are not monitored: %s", exc)
            return None
        self._lease, self._lease_host, self._lease_monitor = lease, host, lease.monitor
        return lease.monitor

    def _factory(self, host: HostInfo) -> Callable[[], HostMonitor]:
        service = self.service
        settings = self._settings
        driver, target = service.driver, service.target
        connect_timeout = settings.connect_timeout_s
        mprops = service.props.for_internal("monitoring-")
        given = mprops.get("connect_timeout")
        if given is None or int(given) <= 0 or int(given) > connect_timeout:
            mprops = mprops.with_overrides(connect_timeout=connect_timeout)
        if driver.family == "mysql" and "monitoring-use_pure" not in service.props.raw():
            # the probe must be abortable by its watchdog: mysql-connector's C extension
            # cannot be interrupted from another thread, pure-Python mode can
            mprops = mprops.with_overrides(use_pure=True)
        availability = service.services.availability

        def connect() -> Any:
            return driver.connect(target, host, mprops)

        def make() -> HostMonitor:
            return HostMonitor(host, settings, driver, connect, availability)

        return make

    def release(self) -> None:
        """Give the monitor lease back (the monitor outlives it by the disposal time)."""
        lease, self._lease = self._lease, None
        self._lease_host = self._lease_monitor = self._lease_conn = None
        if lease is not None:
            lease.release()
