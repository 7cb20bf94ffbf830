"""The per-connection plugin service: what a plugin instance sees of its connection.

Plugins read the connection through read-only properties (:attr:`PluginService.info` is a
consistent snapshot, like psycopg's ``conn.info``) and change it only through methods that
take the service lock: :meth:`PluginService.replace_connection` (failover, switching) and
:meth:`PluginService.abort_current` (safe from any thread). :meth:`PluginService.connect`
opens connections through the pipeline, optionally skipping the calling plugin
(re-entrancy: a failover plugin reconnecting must not fail over inside itself).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from awsdb._events import PluginShape
from awsdb._pipeline import Binder, ConnectFn, compile_connect_chain, compile_method_chains
from awsdb._session import SessionState
from awsdb.drivers._base import DriverDialect, ErrorKind
from awsdb.plugin import ConnectionChange, HostChange, OldConnectionAction, Plugin

if TYPE_CHECKING:
    from awsdb._service import Services
    from awsdb.dialects import DatabaseDialect
    from awsdb.host_provider import HostListProvider
    from awsdb.hosts import HostInfo, HostRole
    from awsdb.properties import Properties

__all__ = ["ConnectionInfo", "PluginService"]

_log = logging.getLogger("awsdb")


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """A consistent snapshot of one wrapper connection, for plugins and tools."""

    connection: Any
    """The current driver connection (``None`` before the first connect)."""
    host: HostInfo | None
    """The host of :attr:`connection`."""
    generation: int
    """How many times the connection was replaced (0 for the initial one)."""
    cluster_id: str | None
    """The cluster this connection belongs to, once a topology plugin joined it."""
    driver: str
    """The driver dialect code."""
    session_state: Mapping[str, Any]
    """Session settings the application changed (carried over a switch)."""


class PluginService:
    """The per-connection view plugins use. One per wrapper connection.

    Built by :func:`awsdb.connect`; plugins receive it in their factory. Its attributes are
    read-only; the current connection changes only through :meth:`replace_connection`.
    """

    def __init__(
        self,
        services: Services,
        target: Callable[..., Any],
        driver: DriverDialect,
        props: Properties,
    ) -> None:
        self._services = services
        self._target = target
        self._driver = driver
        self._props = props
        self._lock = threading.RLock()
        self._conn: Any = None
        self._host: HostInfo | None = None
        self._generation = 0
        self._cluster_id: str | None = None
        self._plugins: tuple[Plugin, ...] = ()
        self._pairs: tuple[tuple[Plugin, frozenset[str]], ...] = ()
        self._events: dict[str, list[tuple[Callable[..., Any], tuple[str, ...]]]] = {}
        self._host_provider: HostListProvider | None = None
        self._database_dialect: DatabaseDialect | None = None
        self._connect: ConnectFn = self._driver_connect
        self._force_connect: ConnectFn = self._driver_connect
        self._skip_chains: dict[tuple[str, int], ConnectFn] = {}
        self._chains: dict[str, Binder] = {}
        self._on_switch: list[Callable[[], None]] = []
        self._claimed: weakref.WeakSet[BaseException] = weakref.WeakSet()
        self._session = SessionState()
        self._released = False

    # --- read-only view ----------------------------------------------------------------

    @property
    def services(self) -> Services:
        """The process services (registries, monitors, stash, resolver)."""
        return self._services

    @property
    def target(self) -> Callable[..., Any]:
        """The driver's connect function the application passed."""
        return self._target

    @property
    def driver(self) -> DriverDialect:
        """The driver dialect of this connection."""
        return self._driver

    @property
    def props(self) -> Properties:
        """The connection's properties (immutable)."""
        return self._props

    @property
    def plugins(self) -> tuple[Plugin, ...]:
        """The plugin instances of this connection, outermost first."""
        return self._plugins

    @property
    def chains(self) -> Mapping[str, Binder]:
        """The compiled chains by DB-API method (only subscribed methods have one); fetch
        methods may have a second chain for cursors that fetch from the server, under
        ``awsdb._pipeline.server_fetch_key(method)``."""
        return self._chains

    @property
    def current_connection(self) -> Any:
        """The current driver connection."""
        return self._conn

    @property
    def current_host(self) -> HostInfo | None:
        """The host of the current driver connection."""
        return self._host

    @property
    def generation(self) -> int:
        """How many times the current connection was replaced."""
        return self._generation

    @property
    def cluster_id(self) -> str | None:
        """The cluster id joined with :meth:`join_cluster`, if any."""
        return self._cluster_id

    @property
    def host_provider(self) -> HostListProvider | None:
        """The host-list provider chosen by :meth:`init_host_provider`."""
        return self._host_provider

    @property
    def lock(self) -> threading.RLock:
        """Held while the current connection is replaced; take it to read a consistent
        (connection, host) pair or to serialise a plugin's own switching."""
        return self._lock

    @property
    def session_state(self) -> SessionState:
        """The session settings the application changed through the wrapper."""
        return self._session

    @property
    def info(self) -> ConnectionInfo:
        """A consistent snapshot of the connection (taken under :attr:`lock`)."""
        with self._lock:
            return ConnectionInfo(
                self._conn,
                self._host,
                self._generation,
                self._cluster_id,
                self._driver.code,
                self._session.values,
            )

    # --- set-up (core only) ------------------------------------------------------------

    def _install(
        self,
        pairs: Sequence[tuple[Plugin, PluginShape]],
        driver_call: Callable[[str], Binder],
    ) -> None:
        """Take the validated plugin instances and compile the chains (called once)."""
        self._plugins = tuple(p for p, _ in pairs)
        self._pairs = tuple((p, shape.subscriptions) for p, shape in pairs)
        events: dict[str, list[tuple[Callable[..., Any], tuple[str, ...]]]] = {}
        for plugin, shape in pairs:
            for name, argnames in shape.events.items():
                events.setdefault(name, []).append((getattr(plugin, name), argnames))
        self._events = events
        self._connect = compile_connect_chain(self._pairs, "connect", self._driver_connect)
        self._force_connect = compile_connect_chain(
            self._pairs, "force_connect", self._driver_connect
        )
        self._chains = compile_method_chains(self._pairs, driver_call, self._driver.local_methods)

    def _driver_connect(self, host: HostInfo, props: Properties, is_initial: bool) -> Any:
        return self._driver.connect(self._target, host, props)

    def _emit(self, hook: str, first: bool, **kwargs: Any) -> Any:
        results = []
        for impl, names in self._events.get(hook, ()):
            result = impl(**{n: kwargs[n] for n in names})
            if first and result is not None:
                return result
            results.append(result)
        return None if first else results

    def init_host_provider(self) -> HostListProvider:
        """Ask plugins for a host-list provider (first answer wins); else the static one."""
        provider = self._emit("init_host_provider", True, props=self._props, service=self)
        if provider is None:
            from awsdb.host_provider import StaticHostListProvider

            provider = StaticHostListProvider(self._props, default_port=self._driver.default_port)
        self._host_provider = provider
        return provider  # type: ignore[no-any-return]

    # --- connecting --------------------------------------------------------------------

    def connect(
        self,
        host: HostInfo,
        props: Properties | None = None,
        *,
        is_initial: bool = False,
        skip: Plugin | None = None,
    ) -> Any:
        """Open a raw connection to ``host`` through the plugin pipeline.

        ``skip``: leave this plugin out (a plugin reconnecting from inside its own hook
        passes ``self``); every other plugin (authentication, routing) still applies.
        """
        fn = self._connect if skip is None else self._skipping("connect", skip)
        return fn(host, props if props is not None else self._props, is_initial)

    def force_connect(
        self,
        host: HostInfo,
        props: Properties | None = None,
        *,
        is_initial: bool = False,
        skip: Plugin | None = None,
    ) -> Any:
        """Open a raw connection through the ``force_connect`` pipeline (no pooling)."""
        fn = self._force_connect if skip is None else self._skipping("force_connect", skip)
        return fn(host, props if props is not None else self._props, is_initial)

    def _skipping(self, hook: str, skip: Plugin) -> ConnectFn:
        key = (hook, id(skip))
        fn = self._skip_chains.get(key)
        if fn is None:
            pairs = [(p, s) for p, s in self._pairs if p is not skip]
            fn = self._skip_chains[key] = compile_connect_chain(pairs, hook, self._driver_connect)
        return fn

    def replace_connection(self, conn: Any, host: HostInfo) -> None:
        """Make ``conn`` (open, idle) the connection the wrapper uses; retire the old one.

        Under :attr:`lock`: the application's session state is applied to ``conn`` first
        (``transfer_session_state_on_switch``; a failure leaves the old connection in place
        and propagates), plugins are notified, cursors of the old connection are poisoned,
        an open transaction on the old connection is rolled back (``rollback_on_switch``)
        and it is closed unless a plugin answers ``PRESERVE``.
        """
        with self._lock:
            old, old_host = self._conn, self._host
            if old is conn:
                self._host = host
                return
            if old is None:
                self._conn, self._host = conn, host
                self._notify_connection({ConnectionChange.INITIAL_CONNECTION})
                return
            if self._session and self._props.get("transfer_session_state_on_switch"):
                self._session.apply(self._driver, conn)
            self._conn, self._host = conn, host
            self._generation += 1
            changes = {ConnectionChange.CONNECTION_OBJECT_CHANGED}
            if old_host is None or old_host.url != host.url:
                changes.add(ConnectionChange.HOST_CHANGED)
            action = self._notify_connection(changes)
            for callback in list(self._on_switch):
                callback()
        if action is OldConnectionAction.PRESERVE:
            return
        self._retire(old)

    def _retire(self, old: Any) -> None:
        try:
            if (
                self._props.get("rollback_on_switch")
                and not self._driver.is_closed(old)
                and self._driver.in_transaction(old)
            ):
                old.rollback()
        except Exception as exc:
            _log.debug("rolling back the replaced connection failed: %s", type(exc).__name__)
        try:
            old.close()
        except Exception as exc:
            _log.debug("closing the replaced connection failed: %s", type(exc).__name__)

    def abort_current(self) -> None:
        """Abort the current connection's socket; safe from any thread.

        The owning thread's blocked call fails with a network error (which a failover
        plugin handles on that thread); the connection object is not closed here.
        """
        conn = self._conn
        if conn is not None:
            self._driver.abort(conn)

    def on_switch(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (under :attr:`lock`) whenever the connection is replaced."""
        self._on_switch.append(callback)

    def _notify_connection(self, changes: set[ConnectionChange]) -> OldConnectionAction:
        results = self._emit("notify_connection_changed", False, changes=frozenset(changes))
        if OldConnectionAction.PRESERVE in results:
            return OldConnectionAction.PRESERVE
        return OldConnectionAction.DISPOSE

    # --- clusters and host events ------------------------------------------------------

    def join_cluster(self, cluster_id: str) -> None:
        """Receive the host-list events of ``cluster_id`` (topology plugins call this)."""
        with self._lock:
            if self._cluster_id == cluster_id:
                return
            if self._cluster_id is not None:
                self._services.clusters.leave(self._cluster_id, self)
            self._cluster_id = cluster_id
        self._services.clusters.join(cluster_id, self)

    def notify_host_list_changed(self, changes: Mapping[str, frozenset[HostChange]]) -> None:
        """Deliver host changes to this connection's plugins.

        Topology monitors broadcast with ``services.notify_host_list_changed(cluster_id,
        changes)``, which calls this on every connection of the cluster.
        """
        if changes:
            self._emit("notify_host_list_changed", False, changes=changes)

    # --- hosts and dialects ------------------------------------------------------------

    def hosts(self) -> list[HostInfo]:
        """The current host list with availability applied."""
        provider = self._host_provider or self.init_host_provider()
        return self._services.availability.apply(provider.current())

    def refresh_host_list(self, force: bool = False) -> list[HostInfo]:
        """Refresh the host list from the provider."""
        provider = self._host_provider or self.init_host_provider()
        return self._services.availability.apply(provider.refresh(force))

    def set_availability(self, host: HostInfo | str, available: bool) -> None:
        """Mark a host (object or ``host:port``) available or unavailable, process-wide."""
        from awsdb.hosts import HostAvailability

        url = host if isinstance(host, str) else host.url
        state = HostAvailability.AVAILABLE if available else HostAvailability.UNAVAILABLE
        self._services.availability.mark(url, state)

    def accepts_strategy(self, role: HostRole, strategy: str) -> bool:
        """True if a plugin or the selector registry can pick a ``role`` host by ``strategy``."""
        answer = self._emit("accepts_strategy", True, role=role, strategy=strategy)
        if answer is not None:
            return bool(answer)
        return strategy in self._services.selectors

    def get_host_info_by_strategy(
        self, role: HostRole, strategy: str, hosts: Sequence[HostInfo] | None = None
    ) -> HostInfo:
        """Pick a host of ``role`` among ``hosts`` (default: :meth:`hosts`) by ``strategy``.

        Plugins answer first (``get_host_info_by_strategy`` hook); otherwise the selector
        registry decides. Raises :class:`~awsdb.errors.OperationalError` when none fits.
        """
        candidates = list(hosts) if hosts is not None else self.hosts()
        chosen = self._emit(
            "get_host_info_by_strategy", True, role=role, strategy=strategy, hosts=candidates
        )
        if chosen is not None:
            return chosen  # type: ignore[no-any-return]
        return self._services.selectors.get(strategy).select(candidates, role, self._props)

    def aux_query(
        self, conn: Any = None
    ) -> Callable[[str, Sequence[object] | None], list[tuple[Any, ...]]]:
        """An auxiliary-query function bound to ``conn`` (default: the current connection)."""
        target = conn if conn is not None else self._conn
        timeout = float(self._props.get("auxiliary_query_timeout_sec") or 5)

        def run(sql: str, params: Sequence[object] | None = None) -> list[tuple[Any, ...]]:
            return self._driver.run_aux_query(target, sql, params, timeout)

        return run

    @property
    def database_dialect(self) -> DatabaseDialect:
        """The database dialect, detected on first use (no probe for plain connections)."""
        if self._database_dialect is None:
            self._database_dialect = self.detect_dialect(self._conn, self._host)
        return self._database_dialect

    def detect_dialect(self, conn: Any, host: HostInfo | None) -> DatabaseDialect:
        """The database dialect of ``conn`` to ``host`` (``wrapper_dialect`` wins; results are
        cached per host by the process dialect cache). For a connection that is not current
        yet, e.g. inside a ``connect`` hook."""
        from awsdb.dialects import detect_dialect

        override = self._props.get("wrapper_dialect")
        return detect_dialect(
            self._driver.family,
            host.host if host is not None else "",
            self.aux_query(conn),
            port=host.port if host is not None else None,
            override=str(override) if override else None,
            cache=self._services.dialect_cache,
            registry=self._services.dialects,
        )

    # --- errors and state --------------------------------------------------------------

    def classify(self, exc: BaseException) -> ErrorKind:
        """Classify ``exc`` with the driver dialect."""
        return self._driver.classify(exc)

    def is_network_error(self, exc: BaseException) -> bool:
        """True if ``exc`` means the connection is lost (not a cancel or local close)."""
        return self._driver.classify(exc) is ErrorKind.NETWORK

    def is_login_error(self, exc: BaseException) -> bool:
        """True for an authentication failure."""
        return self._driver.classify(exc) is ErrorKind.LOGIN

    def is_read_only_error(self, exc: BaseException) -> bool:
        """True for a write refused by a read-only server."""
        return self._driver.classify(exc) is ErrorKind.READ_ONLY

    def claim_error(self, exc: BaseException) -> bool:
        """True the first time ``exc`` (this very object) is claimed on this connection.

        Plugins stacked in one chain see the same driver error; the first to claim it acts
        (fails over), the others let it pass. Distinct errors are always claimable.
        """
        with self._lock:
            if exc in self._claimed:
                return False
            self._claimed.add(exc)
            return True

    def in_transaction(self) -> bool:
        """True while the current connection has an open transaction."""
        return self._driver.in_transaction(self._conn)

    def _record_setting(self, name: str, value: Any) -> None:
        """Core: the application sets session setting ``name`` through the wrapper."""
        if self._conn is not None:
            self._session.record(self._driver, self._conn, name, value)

    def _before_close(self) -> None:
        """Core: restore the original session state before the application's close."""
        conn = self._conn
        if (
            conn is not None
            and self._session
            and self._props.get("reset_session_state_on_close")
            and not self._driver.is_closed(conn)
        ):
            self._session.restore(self._driver, conn)

    def release(self) -> None:
        """Release every plugin's per-connection resources (once, on close)."""
        if self._released:
            return
        self._released = True
        if self._cluster_id is not None:
            self._services.clusters.leave(self._cluster_id, self)
        for plugin in self._plugins:
            try:
                plugin.release()
            except Exception:
                _log.exception("plugin %s failed to release", type(plugin).__name__)
