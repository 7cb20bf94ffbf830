"""The ``bg`` plugin: routes connects and calls of one connection by switchover phase."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from awsdb import hookimpl, rds
from awsdb.errors import InterfaceError, OperationalError
from awsdb.monitors import MonitorLease
from awsdb.plugin import Plugin
from awsdb_bluegreen._deployment import Deployment, DeploymentView, Settings
from awsdb_bluegreen._monitor import SideMonitor
from awsdb_bluegreen._phase import Role
from awsdb_bluegreen._routing import Action, Endpoint, route_call, route_connect
from awsdb_bluegreen._suspend import SwitchoverTimeoutError

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.plugin import PluginService
    from awsdb.properties import Properties

__all__ = ["BlueGreenPlugin", "GreenHostRejectedError", "deployment_key"]

_LOG = logging.getLogger("awsdb.bluegreen")
_IDLE_EXPIRY_S = 60.0
_MOVABLE = frozenset(
    {"Connection.execute", "Connection.cursor", "Connection.commit", "Connection.rollback"}
)


class GreenHostRejectedError(OperationalError):
    """A connect to a green name after the switchover renamed green: connect to the blue
    (original) name instead."""


def deployment_key(bg_id: str, role: Role, token: str = "") -> tuple[str, ...]:
    """The monitor-service key of ``role``'s status monitor for ``bg_id``."""
    return ("bg", bg_id, role.name, token) if token else ("bg", bg_id, role.name)


class _Opened:
    """When a connection was opened: the cycle and whether traffic had moved to green."""

    __slots__ = ("cycle", "switched")

    def __init__(self, cycle: int, switched: bool) -> None:
        self.cycle = cycle
        self.switched = switched


class BlueGreenPlugin(Plugin):
    """Blue/green switchover routing for one connection.

    The first connect starts (or joins) the two status monitors of the deployment
    (``bg_id``). Outside a switchover a connect or call costs one attribute read. During a
    switchover connects are routed by :func:`~awsdb_bluegreen.route_connect`; calls on
    blue or green hosts wait while IN_PROGRESS (at most ``bg_connect_timeout_ms``). Once
    traffic moved to green, a connection still on blue is replaced by one to the same name
    (now routed to green) at the next ``Connection.execute`` / ``cursor`` / ``commit`` /
    ``rollback``; with a transaction open the move raises the driver-bound
    ``TransactionResolutionUnknownError`` (restart the transaction).
    """

    subscribed_methods: ClassVar[frozenset[str]] = frozenset(
        {
            "connect",
            "Connection.execute",
            "Connection.cursor",
            "Connection.commit",
            "Connection.rollback",
            "Cursor.execute",
            "Cursor.executemany",
            "Cursor.callproc",
        }
    )

    def __init__(self, service: PluginService, props: Properties) -> None:
        super().__init__(service, props)
        self._settings = Settings.from_props(props)
        bg_id = props.get("bg_id")
        self._bg_id: str | None = str(bg_id) if bg_id else None
        self._dep: Deployment | None = None
        self._leases: list[MonitorLease[SideMonitor]] = []
        self._inert = False
        self._seen = -1
        self._opened: weakref.WeakKeyDictionary[Any, _Opened] = weakref.WeakKeyDictionary()
        self._default_port = service.driver.default_port or 0

    # ------------------------------------------------------------------ public state

    @property
    def deployment(self) -> Deployment | None:
        """The deployment this connection follows (``None`` before the first connect or
        when the server has no blue/green metadata source)."""
        return self._dep

    # ------------------------------------------------------------------ connect

    @hookimpl
    def connect(
        self,
        host: HostInfo,
        props: Properties,
        is_initial: bool,
        call_next: Callable[[HostInfo, Properties, bool], Any],
    ) -> Any:
        """Route a new connect by phase (suspend, dial an IP, reject or pass)."""
        dep = self._dep
        if dep is None and not self._inert:
            dep = self._join(host)  # a deployment other connections already follow
        if dep is None or not dep.active:
            conn = call_next(host, props, is_initial)
            if dep is None and not self._inert:
                dep = self._setup(conn, host)
            self._record(conn, dep.view() if dep is not None else None)
            return conn
        ep = self._endpoint(host)
        deadline = time.monotonic() + self._settings.connect_timeout_s
        while True:
            view = dep.view()
            route = route_connect(view.phase, view.table, ep)
            if route.action is Action.PASS:
                conn = call_next(host, props, is_initial)
            elif route.action is Action.DIAL:
                conn = call_next(host.replace(dial_address=route.address), props, is_initial)
            elif route.action is Action.REJECT:
                raise GreenHostRejectedError(
                    f"{host.url} is a green name and the blue/green switchover renamed green; "
                    "connect to the original (blue) name"
                )
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SwitchoverTimeoutError(
                        f"connect to {host.url} suspended by the blue/green switchover for "
                        f"{self._settings.connect_timeout_s:g} s (bg_connect_timeout_ms)"
                    )
                dep.wait(left)
                continue
            self._record(conn, view)
            return conn

    # ------------------------------------------------------------------ calls

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        """Suspend the call while IN_PROGRESS; move a stale blue connection to green."""
        dep = self._dep
        if dep is None or (not dep.active and dep.version == self._seen):
            return call_next(*args, **kwargs)
        return self._routed_call(dep, method, args, kwargs, call_next)

    def _routed_call(
        self,
        dep: Deployment,
        method: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        version = dep.version
        host = self.service.current_host
        if host is None:
            return call_next(*args, **kwargs)
        ep = self._endpoint(host)
        view = dep.view()
        if route_call(view.phase, view.table, ep).action is Action.SUSPEND:
            _LOG.debug("bg: %s on %s suspended (%s)", method, host.url, view.phase.name)
            view = self._suspend(dep, ep)
            _LOG.debug("bg: %s on %s released (%s)", method, host.url, view.phase.name)
        conn = self.service.current_connection
        stale = view.switched and self._is_stale(conn, view, ep)
        if stale and method in _MOVABLE:
            return self._move(host, method, args, kwargs)
        if not stale and not dep.active:
            self._seen = version  # nothing to do on this connection until the next change
        return call_next(*args, **kwargs)

    def _suspend(self, dep: Deployment, ep: Endpoint) -> DeploymentView:
        deadline = time.monotonic() + self._settings.connect_timeout_s
        while True:
            view = dep.view()
            if route_call(view.phase, view.table, ep).action is not Action.SUSPEND:
                return view
            left = deadline - time.monotonic()
            if left <= 0:
                raise SwitchoverTimeoutError(
                    f"call on {ep.host}:{ep.port} suspended by the blue/green switchover for "
                    f"{self._settings.connect_timeout_s:g} s (bg_connect_timeout_ms)"
                )
            dep.wait(left)

    def _is_stale(self, conn: Any, view: DeploymentView, ep: Endpoint) -> bool:
        table = view.table
        on_blue = ep in table.blue or any(
            ip == ep.host and known.port == ep.port
            for known, ip in table.ips.items()
            if known in table.blue
        )
        if not on_blue:
            return False
        try:
            opened = self._opened.get(conn)
        except TypeError:  # a driver connection without weak references
            return False
        return opened is None or opened.cycle != view.cycle or not opened.switched

    def _move(
        self, host: HostInfo, method: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> Any:
        service = self.service
        try:
            in_tx = service.in_transaction()
        except Exception:
            in_tx = False
        new = service.connect(host)  # through the pipeline: this plugin routes it to green
        service.replace_connection(new, host)
        _LOG.info("blue/green: connection to %s moved to green", host.url)
        if in_tx:
            raise service.driver.failover_errors().unknown_transaction(
                "the blue/green switchover moved the connection to green while a transaction "
                "was open; its outcome is unknown: restart the transaction"
            )
        if method == "Connection.execute":
            execute = getattr(new, "execute", None)
            if execute is not None:
                return execute(*args, **kwargs)
            cur = new.cursor()
            cur.execute(*args, **kwargs)
            return cur
        if method == "Connection.cursor":
            return new.cursor(*args, **kwargs)
        return None  # commit / rollback: nothing was open on the new connection

    # ------------------------------------------------------------------ set-up

    def _endpoint(self, host: HostInfo) -> Endpoint:
        return Endpoint(host.host, host.port or self._default_port)

    def _record(self, conn: Any, view: DeploymentView | None) -> None:
        opened = _Opened(view.cycle, view.switched) if view is not None else _Opened(-1, False)
        with contextlib.suppress(TypeError):  # no weak references: never seen as stale
            self._opened[conn] = opened

    def _bg_id_of(self, ep: Endpoint) -> str:
        return self._bg_id or f"{rds.blue_green_base_name(ep.host)}:{ep.port}"

    def _join(self, host: HostInfo) -> Deployment | None:
        monitors = self.service.services.monitors
        key = deployment_key(self._bg_id_of(self._endpoint(host)), Role.SOURCE)
        running = monitors.get(key)
        if not isinstance(running, SideMonitor) or running.stopping:
            return None
        try:
            source = monitors.acquire(key, lambda: running, idle_expiry_s=_IDLE_EXPIRY_S)
        except InterfaceError:
            return None
        if source.monitor is not running or running.stopping:
            source.release()  # it was retired in between: set up after the connect
            return None
        return self._lease_pair(source)

    def _lease_pair(self, source: MonitorLease[SideMonitor]) -> Deployment | None:
        if source.monitor.stopping:  # retired while we leased it: no routing this time
            source.release()
            return None
        dep = source.monitor.deployment
        try:
            green = self.service.services.monitors.acquire(
                deployment_key(dep.bg_id, Role.TARGET, dep.token),
                lambda: source.monitor.twin(Role.TARGET),
                idle_expiry_s=_IDLE_EXPIRY_S,
            )
        except InterfaceError as exc:  # the process services were released under us
            source.release()
            _LOG.warning("bg: blue/green routing is off for this connection: %s", exc)
            return None
        self._leases = [source, green]
        self._dep = dep
        if dep.settings != self._settings:
            _LOG.warning(
                "bg: bg_id %r is already followed with other bg_* settings; the first "
                "connection's settings apply",
                dep.bg_id,
            )
        return dep

    def _setup(self, conn: Any, host: HostInfo) -> Deployment | None:
        service = self.service
        try:
            dialect = service.detect_dialect(conn, host)
        except Exception as exc:
            _LOG.warning("bg: dialect detection failed, blue/green routing is off: %s", exc)
            return None
        if getattr(dialect, "BLUE_GREEN_STATUS_SQL", None) is None:
            self._inert = True
            _LOG.info(
                "bg: the %r dialect has no blue/green metadata; blue/green routing is off",
                dialect.code,
            )
            return None
        ep = self._endpoint(host)
        bg_id = self._bg_id_of(ep)
        driver, target = service.driver, service.target
        mprops = service.props.for_internal("blue-green-monitoring-")
        timeout = float(mprops.get("socket_timeout") or 10.0)
        settings = self._settings
        resolver = service.services.resolver

        def connect(h: HostInfo) -> Any:
            return driver.connect(target, h, mprops)

        def blue() -> SideMonitor:
            return SideMonitor(
                Role.SOURCE,
                Deployment(bg_id, settings, token=secrets.token_hex(8)),
                seed=ep,
                connect=connect,
                driver=driver,
                dialect=dialect,
                resolver=resolver,
                query_timeout_s=timeout,
            )

        try:
            source = service.services.monitors.acquire(
                deployment_key(bg_id, Role.SOURCE), blue, idle_expiry_s=_IDLE_EXPIRY_S
            )
        except InterfaceError as exc:  # the process services were released under us
            _LOG.warning("bg: blue/green routing is off for this connection: %s", exc)
            return None
        return self._lease_pair(source)

    def release(self) -> None:
        """Give the monitor leases back (the monitors outlive them by 60 s)."""
        leases, self._leases = self._leases, []
        for lease in leases:
            lease.release()
