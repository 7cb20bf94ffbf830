"""The ``efm`` plugin: each network-bound call is watched by its host's shared monitor."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from awsdb import hookimpl
from awsdb.errors import InterfaceError
from awsdb.monitors import MonitorLease
from awsdb.plugin import NETWORK_BOUND_METHODS, Plugin
from awsdb_efm._monitor import EfmSettings, HostMonitor

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.plugin import PluginService
    from awsdb.properties import Properties

__all__ = ["EfmPlugin", "monitor_key"]

_log = logging.getLogger("awsdb.efm")


def monitor_key(host: HostInfo, settings: EfmSettings) -> tuple[str, str, EfmSettings]:
    """The key of the monitor shared by every connection to ``host`` with ``settings``."""
    return ("efm", host.url, settings)


class EfmPlugin(Plugin):
    """Enhanced failure monitoring for one connection.

    Around every network-bound DB-API call the plugin registers the call with the monitor of
    the connection's *current* host (read per call, so a replaced connection is followed at
    once) and removes it when the call returns. When the monitor declares the host dead it
    aborts the call's connection; the call then raises the driver's own network error,
    unchanged, and the host is marked unavailable.
    """

    subscribed_methods: ClassVar[frozenset[str]] = NETWORK_BOUND_METHODS

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

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        """Run the call under its host's monitor."""
        host = self.service.current_host
        if host is not None and host is self._lease_host:
            monitor: HostMonitor | None = self._lease_monitor
        elif host is not None and self._enabled:
            monitor = self._monitor(host)
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

    def _monitor(self, host: HostInfo) -> HostMonitor | None:
        lease, current = self._lease, self._lease_host
        same = current is not None and (current is host or current.url == host.url)
        if lease is not None and same:
            return lease.monitor
        if lease is not None:
            lease.release()
            self._lease = self._lease_host = self._lease_monitor = None
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
        availability = service.services.availability

        def connect() -> Any:
            return driver.connect(target, host, mprops)

        def make() -> HostMonitor:
            return HostMonitor(host, settings, driver, connect, availability)

        return make

    def release(self) -> None:
        """Give the monitor lease back (the monitor outlives it by the disposal time)."""
        lease, self._lease = self._lease, None
        self._lease_host = self._lease_monitor = None
        if lease is not None:
            lease.release()
