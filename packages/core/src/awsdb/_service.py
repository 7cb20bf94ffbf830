"""The process services.

:class:`Services` owns the process-wide, lockable state: plugin, property, driver, dialect and
selector registries, host availability, the name resolver, the monitor service, the typed
stash of per-plugin state, cluster membership, and the resources plugins start, which
:func:`release_resources` tears down. It is created on the first connection, never at import.

The per-connection :class:`~awsdb._plugin_service.PluginService` is re-exported here.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from awsdb._clusters import ClusterMembers
from awsdb._plugin_service import ConnectionInfo, PluginService
from awsdb._registry import PluginRegistry
from awsdb.drivers import DriverRegistry
from awsdb.monitors import MonitorService
from awsdb.stash import Stash

if TYPE_CHECKING:
    from awsdb.plugin import HostChange
    from awsdb.resolver import HostResolver

__all__ = ["ConnectionInfo", "PluginService", "Services", "get_services", "release_resources"]

_log = logging.getLogger("awsdb")


class Services:
    """Process-wide registries and resources. Thread-safe."""

    def __init__(self, resolver: HostResolver | None = None) -> None:
        from awsdb._redact import SecretsFilter
        from awsdb.dialects import DialectCache, DialectRegistry
        from awsdb.hosts import HostAvailabilityRegistry
        from awsdb.properties import default_registry
        from awsdb.resolver import HostResolver
        from awsdb.selectors import default_selectors

        self.lock = threading.RLock()
        self.plugins = PluginRegistry()
        self.properties = default_registry()
        self.drivers = DriverRegistry(autoload=self.plugins.autoload)
        self.dialects = DialectRegistry()
        self.dialect_cache = DialectCache()
        self.selectors = default_selectors()
        self.availability = HostAvailabilityRegistry()
        self.resolver = resolver if resolver is not None else HostResolver()
        self.monitors = MonitorService()
        self.stash = Stash()
        self.clusters = ClusterMembers()
        self._resources: list[Callable[[], None]] = []
        self.plugins.add_listener(self._on_registration)
        self.secrets = SecretsFilter(self.properties)
        self.attach_secrets_filter()

    def attach_secrets_filter(self) -> None:
        """Attach the secrets filter to every awsdb logger (core and ``awsdb_*`` packages).

        A logger's filter does not see its children's records, so each logger gets it; this
        runs again whenever a plugin module is loaded (it may create loggers).
        """
        names = [n for n in logging.Logger.manager.loggerDict if n.startswith("awsdb")]
        for name in ["awsdb", *names]:
            self.secrets.attach(logging.getLogger(name))

    def _on_registration(self, hook: str, results: Sequence[Any]) -> None:
        self.attach_secrets_filter()
        for item in results:
            if hook == "awsdb_properties":
                self.properties.register(item)
            elif hook == "awsdb_database_dialects":
                self.dialects.register(item)
            elif hook == "awsdb_driver_dialects":
                self.drivers.register(item)

    def add_resource(self, release: Callable[[], None]) -> None:
        """Have :func:`release_resources` call ``release`` (stop a monitor, close a pool)."""
        with self.lock:
            self._resources.append(release)

    def notify_host_list_changed(
        self, cluster_id: str, changes: Mapping[str, frozenset[HostChange]]
    ) -> int:
        """Deliver host changes to every open connection of ``cluster_id``; returns how many
        connections received them."""
        return self.clusters.notify(cluster_id, changes)

    def release(self) -> None:
        """Stop the monitors, release the stash and every registered resource (newest
        first); errors are logged, not raised."""
        self.monitors.release()
        self.stash.release()
        with self.lock:
            resources, self._resources = self._resources, []
        for release in reversed(resources):
            try:
                release()
            except Exception:
                _log.exception("releasing %r failed", release)
        for name in list(logging.Logger.manager.loggerDict):
            if name.startswith("awsdb"):
                logging.getLogger(name).removeFilter(self.secrets)
        logging.getLogger("awsdb").removeFilter(self.secrets)


_services_lock = threading.Lock()
_services: Services | None = None
# The resolver outlives a release: name overrides are configuration, not a resource.
_resolver: HostResolver | None = None


def get_services() -> Services:
    """The process services, created on first use (and released at exit)."""
    global _services
    svc = _services
    if svc is not None:
        return svc
    with _services_lock:
        if _services is None:
            _services = Services(_resolver)
            atexit.register(release_resources)
        return _services


def release_resources() -> None:
    """Stop every background resource awsdb started and forget the process services.

    Safe to call several times; a later connection creates fresh services.
    """
    global _services, _resolver
    with _services_lock:
        svc, _services = _services, None
        if svc is not None:
            _resolver = svc.resolver
    if svc is not None:
        svc.release()
