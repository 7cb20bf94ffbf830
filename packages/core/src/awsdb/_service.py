"""Process services and the per-connection plugin service.

:class:`Services` owns the process-wide, lockable state: plugin, property, driver, dialect and
selector registries, host availability, and the resources plugins start (monitors, caches),
which :func:`release_resources` tears down. It is created on the first connection, never at
import.

:class:`PluginService` is what a plugin instance sees of its connection: the current raw
connection and host, the host list, dialects, error classification, and ``connect`` through
the pipeline so that authentication and routing plugins apply to every connection opened.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

from awsdb import hookspecs
from awsdb._pipeline import Binder, ConnectFn, compile_connect_chain, compile_method_chains
from awsdb._registry import PluginRegistry
from awsdb.drivers import DriverRegistry
from awsdb.drivers._base import DriverDialect, ErrorKind
from awsdb.plugin import ConnectionChange, HostChange, OldConnectionAction, Plugin

if TYPE_CHECKING:
    from awsdb.dialects import DatabaseDialect
    from awsdb.host_provider import HostListProvider
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties

__all__ = ["PluginService", "Services", "get_services", "release_resources"]

_log = logging.getLogger("awsdb")


class Services:
    """Process-wide registries and resources. Thread-safe."""

    def __init__(self) -> None:
        from awsdb._redact import SecretsFilter
        from awsdb.dialects import DialectCache, DialectRegistry
        from awsdb.hosts import HostAvailabilityRegistry
        from awsdb.properties import default_registry
        from awsdb.selectors import default_selectors

        self.lock = threading.RLock()
        self.plugins = PluginRegistry()
        self.properties = default_registry()
        self.drivers = DriverRegistry(autoload=self.plugins.autoload)
        self.dialects = DialectRegistry()
        self.dialect_cache = DialectCache()
        self.selectors = default_selectors()
        self.availability = HostAvailabilityRegistry()
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

    def release(self) -> None:
        """Release every registered resource, newest first; errors are logged, not raised."""
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


def get_services() -> Services:
    """The process services, created on first use (and released at exit)."""
    global _services
    svc = _services
    if svc is not None:
        return svc
    with _services_lock:
        if _services is None:
            _services = Services()
            atexit.register(release_resources)
        return _services


def release_resources() -> None:
    """Stop every background resource awsdb started and forget the process services.

    Safe to call several times; a later connection creates fresh services.
    """
    global _services
    with _services_lock:
        svc, _services = _services, None
    if svc is not None:
        svc.release()


class PluginService:
    """The per-connection view plugins use. One per wrapper connection."""

    def __init__(
        self,
        services: Services,
        target: Callable[..., Any],
        driver: DriverDialect,
        props: Properties,
    ) -> None:
        self.services = services
        self.target = target
        self.driver = driver
        self.props = props
        self.current_connection: Any = None
        self.current_host: HostInfo | None = None
        self.plugins: list[Plugin] = []
        self.host_provider: HostListProvider | None = None
        self._database_dialect: DatabaseDialect | None = None
        self._pm: pluggy.PluginManager | None = None
        self._connect: ConnectFn = self._driver_connect
        self._force_connect: ConnectFn = self._driver_connect
        self.chains: dict[str, Binder] = {}
        self.generation = 0
        self._on_switch: list[Callable[[], None]] = []
        self._handled_errors: set[int] = set()

    # --- set-up ------------------------------------------------------------------------

    def install(self, plugins: Sequence[Plugin], driver_call: Callable[[str], Binder]) -> None:
        """Register the plugin instances and compile the chains (called once)."""
        self.plugins = list(plugins)
        if self.plugins:
            pm = pluggy.PluginManager(hookspecs.PROJECT)
            pm.add_hookspecs(hookspecs)
            # pluggy calls the last registered first: register innermost first so that the
            # outermost plugin answers first-result hooks first.
            for plugin in reversed(self.plugins):
                pm.register(plugin)
            pm.check_pending()
            self._pm = pm
        self._connect = compile_connect_chain(self.plugins, "connect", self._driver_connect)
        self._force_connect = compile_connect_chain(
            self.plugins, "force_connect", self._driver_connect
        )
        self.chains = compile_method_chains(self.plugins, driver_call)

    def _driver_connect(self, host: HostInfo, props: Properties, is_initial: bool) -> Any:
        return self.driver.connect(self.target, host, props)

    def init_host_provider(self) -> HostListProvider:
        """Ask plugins for a host-list provider; fall back to the static one."""
        provider = None
        if self._pm is not None:
            provider = self._pm.hook.init_host_provider(props=self.props, service=self)
        if provider is None:
            from awsdb.host_provider import StaticHostListProvider

            provider = StaticHostListProvider(self.props, default_port=self.driver.default_port)
        self.host_provider = provider
        return provider

    # --- connecting --------------------------------------------------------------------

    def connect(
        self, host: HostInfo, props: Properties | None = None, *, is_initial: bool = False
    ) -> Any:
        """Open a raw connection to ``host`` through the plugin pipeline."""
        return self._connect(host, props if props is not None else self.props, is_initial)

    def force_connect(
        self, host: HostInfo, props: Properties | None = None, *, is_initial: bool = False
    ) -> Any:
        """Open a raw connection through the ``force_connect`` pipeline (no pooling)."""
        return self._force_connect(host, props if props is not None else self.props, is_initial)

    def set_current_connection(self, conn: Any, host: HostInfo) -> None:
        """Make ``conn`` the connection the wrapper uses; notify plugins; retire the old one.

        Cursors created on the previous connection raise a clear error afterwards. The old
        connection is closed on this thread unless a plugin answers ``PRESERVE``.
        """
        old, old_host = self.current_connection, self.current_host
        self.current_connection, self.current_host = conn, host
        if old is None:
            self._notify_connection({ConnectionChange.INITIAL_CONNECTION})
            return
        if old is conn:
            return
        self.generation += 1
        changes = {ConnectionChange.CONNECTION_OBJECT_CHANGED}
        if old_host is None or old_host.url != host.url:
            changes.add(ConnectionChange.HOST_CHANGED)
        action = self._notify_connection(changes)
        for callback in list(self._on_switch):
            callback()
        if action is not OldConnectionAction.PRESERVE:
            try:
                old.close()
            except Exception as exc:
                _log.debug("closing the replaced connection failed: %s", type(exc).__name__)

    def on_switch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever the current connection is replaced."""
        self._on_switch.append(callback)

    def _notify_connection(self, changes: set[ConnectionChange]) -> OldConnectionAction:
        if self._pm is None:
            return OldConnectionAction.NO_OPINION
        results = self._pm.hook.notify_connection_changed(changes=frozenset(changes))
        if OldConnectionAction.PRESERVE in results:
            return OldConnectionAction.PRESERVE
        return OldConnectionAction.DISPOSE

    def notify_host_list_changed(self, changes: Mapping[str, frozenset[HostChange]]) -> None:
        """Broadcast host changes to this connection's plugins."""
        if self._pm is not None and changes:
            self._pm.hook.notify_host_list_changed(changes=changes)

    # --- hosts and dialects ------------------------------------------------------------

    def hosts(self) -> list[HostInfo]:
        """The current host list with availability applied."""
        provider = self.host_provider or self.init_host_provider()
        return self.services.availability.apply(provider.current())

    def refresh_host_list(self, force: bool = False) -> list[HostInfo]:
        """Refresh the host list from the provider."""
        provider = self.host_provider or self.init_host_provider()
        return self.services.availability.apply(provider.refresh(force))

    def set_availability(self, host: HostInfo | str, available: bool) -> None:
        """Mark a host (object or ``host:port``) available or unavailable, process-wide."""
        from awsdb.hosts import HostAvailability

        url = host if isinstance(host, str) else host.url
        state = HostAvailability.AVAILABLE if available else HostAvailability.UNAVAILABLE
        self.services.availability.mark(url, state)

    def aux_query(
        self, conn: Any = None
    ) -> Callable[[str, Sequence[object] | None], list[tuple[Any, ...]]]:
        """An auxiliary-query function bound to ``conn`` (default: the current connection)."""
        target = conn if conn is not None else self.current_connection
        timeout = float(self.props.get("auxiliary_query_timeout_sec") or 5)

        def run(sql: str, params: Sequence[object] | None = None) -> list[tuple[Any, ...]]:
            return self.driver.run_aux_query(target, sql, params, timeout)

        return run

    @property
    def database_dialect(self) -> DatabaseDialect:
        """The database dialect, detected on first use (no probe for plain connections)."""
        if self._database_dialect is None:
            from awsdb.dialects import detect_dialect

            current = self.current_host
            override = self.props.get("wrapper_dialect")
            self._database_dialect = detect_dialect(
                self.driver.family,
                current.host if current is not None else "",
                self.aux_query(),
                port=current.port if current is not None else None,
                override=str(override) if override else None,
                cache=self.services.dialect_cache,
                registry=self.services.dialects,
            )
        return self._database_dialect

    # --- errors and state --------------------------------------------------------------

    def classify(self, exc: BaseException) -> ErrorKind:
        """Classify ``exc`` with the driver dialect."""
        return self.driver.classify(exc)

    def is_network_error(self, exc: BaseException) -> bool:
        """True if ``exc`` means the connection is lost (not a cancel or local close)."""
        return self.driver.classify(exc) is ErrorKind.NETWORK

    def is_login_error(self, exc: BaseException) -> bool:
        """True for an authentication failure."""
        return self.driver.classify(exc) is ErrorKind.LOGIN

    def is_read_only_error(self, exc: BaseException) -> bool:
        """True for a write refused by a read-only server."""
        return self.driver.classify(exc) is ErrorKind.READ_ONLY

    def claim_error(self, exc: BaseException) -> bool:
        """True the first time ``exc`` is claimed: the same error triggers failover once."""
        key = id(exc)
        if key in self._handled_errors:
            return False
        self._handled_errors.add(key)
        if len(self._handled_errors) > 64:
            self._handled_errors = {key}
        return True

    def in_transaction(self) -> bool:
        """True while the current connection has an open transaction."""
        return self.driver.in_transaction(self.current_connection)

    def release(self) -> None:
        """Release every plugin's per-connection resources (once, on close)."""
        for plugin in self.plugins:
            try:
                plugin.release()
            except Exception:
                _log.exception("plugin %s failed to release", type(plugin).__name__)
