"""The ``failover`` plugin: reconnect to the cluster's new writer (or a reader) on failure."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar, NoReturn

from awsdb import rds
from awsdb.errors import (
    FailoverFailedError,
    FailoverSuccessError,
    TransactionResolutionUnknownError,
)
from awsdb.hosts import HostInfo, HostRole
from awsdb.plugin import ConnectionChange, Plugin
from awsdb.topology import TopologyHostListProvider, TopologyMonitor
from awsdb_failover._calls import SERVER_CALLS, SERVER_FETCHES
from awsdb_failover._endpoints import adopt_landed
from awsdb_failover._topology import ClusterLink, existing_monitor, join_topology

__all__ = ["FailoverPlugin", "failover_mode_for"]

_log = logging.getLogger("awsdb.failover")

_COMMITS = frozenset({"Connection.commit", "Connection.tpc_commit"})
_RECONNECT_PAUSE_S = 0.01
# A writer the monitor verified this recently (on its own connection to it) is not checked
# again on the new connection: the check costs a round trip on the failover's critical path.
_VERIFIED_FRESH_S = 1.0


def failover_mode_for(props: Any, host: str) -> str:
    """``failover_mode``, or its default by endpoint type (reader endpoint: reader_or_writer)."""
    mode = props.get("failover_mode")
    if mode:
        return str(mode)
    if rds.classify(host) is rds.RdsUrlType.RDS_READER_CLUSTER:
        return "reader_or_writer"
    return "strict_writer"


class FailoverPlugin(Plugin):
    """Watches server calls; on a network error (or, in ``strict_writer``, a write refused
    by a demoted writer) it fails over within ``failover_timeout_sec``."""

    subscribed_methods: ClassVar[frozenset[str]] = SERVER_CALLS | SERVER_FETCHES | {"connect"}
    server_calls_only: ClassVar[bool] = True

    def __init__(self, service: Any, props: Any) -> None:
        super().__init__(service, props)
        self._enabled = bool(props.get("enable_failover"))
        self._timeout = float(props.get("failover_timeout_sec"))
        self._provider: TopologyHostListProvider | None = None
        self._link: ClusterLink | None = None  # the cluster's monitor lease and dialect
        self._mode = "strict_writer"
        self._strategy = str(props.get("failover_reader_host_selector_strategy"))
        self._connect_failover = bool(props.get("enable_connect_failover"))
        self._landed: HostInfo | None = None  # where a connect failover landed

    # --- set-up ------------------------------------------------------------------------

    def init_host_provider(self, props: Any, service: Any) -> Any:
        """The topology provider seeded with the connection-string hosts."""
        if not self._enabled:
            return None
        pairs = props.hosts()
        if not pairs:
            return None
        default_port = service.driver.default_port
        seed = [HostInfo(h, p if p is not None else default_port) for h, p in pairs]
        configured = props.get("cluster_id")
        first = seed[0]
        cluster_id = str(configured) if configured else rds.cluster_id_for(first.host, first.port)
        self._mode = failover_mode_for(props, first.host)
        self._provider = TopologyHostListProvider(cluster_id, seed)
        return self._provider

    def connect(
        self, host: HostInfo, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Open the connection; on the initial one, join the cluster's topology monitor.

        With ``enable_connect_failover``, an initial connect that fails with a network
        error fails over like a broken connection does (the cluster's topology must be
        known to the process: another connection of the cluster read it).
        """
        try:
            conn = call_next(host, props, is_initial)
        except Exception as exc:
            if not (is_initial and self._connect_failover and self._link is None):
                raise
            if not self._enabled or not self.service.is_network_error(exc):
                raise
            return self._connect_over(host, props, exc)
        if is_initial and self._enabled and self._link is None:
            try:
                self._start_monitor(conn, host, props)
            except BaseException:
                conn.close()
                raise
        return conn

    def _start_monitor(self, conn: Any, host: HostInfo, props: Any) -> None:
        if self._provider is None:
            return
        link = join_topology(self.service, conn, host, props)
        if link is None:
            _log.debug("no topology: failover is off")
            self._enabled = False
            return
        self._link = link
        self._provider.monitor = link.monitor

    def _connect_over(self, host: HostInfo, props: Any, cause: Exception) -> Any:
        """The initial connect to ``host`` failed: fail over to an instance of the mode."""
        service = self.service
        monitor = existing_monitor(service, props)
        if monitor is None:
            cause.add_note(
                "enable_connect_failover: no topology of this cluster is known to the "
                "process yet (no connection of the cluster has read it), so there is "
                "no other instance to connect to"
            )
            raise cause

        def gone() -> TopologyMonitor:
            raise cause  # the monitor ended since it was looked up

        cluster_id = monitor.cluster_id
        lease = service.services.monitors.acquire(("topology", cluster_id), gone)
        self._link = ClusterLink(lease, lease.monitor.dialect)
        monitor = lease.monitor
        monitor.use_props(props)
        if self._provider is not None:
            self._provider.monitor = monitor
        service.join_cluster(cluster_id)
        started = time.monotonic()
        service.set_availability(host, False)
        try:
            conn, landed = self._reconnect(monitor, host, started + self._timeout)
        except FailoverFailedError as failed:
            raise failed from cause
        finally:
            service.set_availability(host, True)
        self._landed = landed
        _log.info(
            "connect failover of %s from %s to %s (%s) took %.3f s",
            cluster_id,
            host.host,
            landed.host,
            self._mode,
            time.monotonic() - started,
        )
        return conn

    def notify_connection_changed(self, changes: frozenset[ConnectionChange]) -> None:
        """Record the instance a connect failover landed on as the connection's host."""
        landed, self._landed = self._landed, None
        adopt_landed(self.service, landed, changes)

    def release(self) -> None:
        """Give the topology monitor back."""
        if self._link is not None:
            self._link.release()
            self._link = None

    # --- the hot path ------------------------------------------------------------------

    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        """Pass the call; turn a host failure into a failover."""
        service = self.service
        conn = service.current_connection
        in_txn = service.driver.in_transaction(conn) if self._enabled else False
        try:
            return call_next(*args, **kwargs)
        except Exception as exc:
            if not self._should_fail_over(exc):
                raise
            self._fail_over(exc, in_txn or method in _COMMITS)

    def bind_execute(
        self,
        method: str,
        connection: Any,
        call_next: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any],
    ) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], Any] | None:
        """:meth:`execute` as one layer, with ``connection``'s transaction probe and the
        commit check prepared once (the core binds the chain again for a replacement)."""
        probe = self.service.driver.transaction_probe(connection)
        commits = method in _COMMITS

        def layer(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            in_txn = probe() if self._enabled else False
            try:
                return call_next(target, args, kwargs)
            except Exception as exc:
                if not self._should_fail_over(exc):
                    raise
                self._fail_over(exc, in_txn or commits)

        return layer

    def _should_fail_over(self, exc: BaseException) -> bool:
        if not self._enabled or self._link is None:
            return False
        service = self.service
        if service.is_network_error(exc):
            return service.claim_error(exc)
        if self._mode == "strict_writer" and service.is_read_only_error(exc):
            return service.claim_error(exc)
        return False

    # --- failover ------------------------------------------------------------------------

    def _fail_over(self, cause: BaseException, ambiguous: bool) -> NoReturn:
        service = self.service
        link = self._link
        assert link is not None
        monitor = link.monitor
        old = service.current_host
        started = time.monotonic()
        deadline = started + self._timeout
        if old is not None:
            service.set_availability(old, False)
        try:
            conn, host = self._reconnect(monitor, old, deadline)
        except FailoverFailedError as failed:
            raise failed from cause
        finally:
            if old is not None:
                service.set_availability(old, True)  # the topology decides from now on
        service.replace_connection(conn, host)
        elapsed = time.monotonic() - started
        _log.info(
            "failover of %s from %s to %s (%s) took %.3f s",
            monitor.cluster_id,
            old.host if old is not None else "?",
            host.host,
            self._mode,
            elapsed,
        )
        if ambiguous:
            raise TransactionResolutionUnknownError(
                f"the connection failed over to {host.host} while a transaction was open "
                "or committing: its outcome is unknown; restart the transaction"
            ) from cause
        raise FailoverSuccessError(
            f"the connection failed over to {host.host}; re-run the statement"
        ) from cause

    def _reconnect(
        self, monitor: TopologyMonitor, old: HostInfo | None, deadline: float
    ) -> tuple[Any, HostInfo]:
        last: BaseException | None = None
        exclude = old.url if old is not None else None
        unusable = monitor.name_error()
        if unusable is not None:  # fail fast: these names will not resolve within the budget
            raise FailoverFailedError(
                f"no instance of {monitor.cluster_id} can take over: {unusable}"
            ) from unusable
        while time.monotonic() < deadline:
            for host in self._targets(monitor, exclude, deadline):
                try:
                    # a connection this plugin opened while the monitor searched, if any
                    conn = monitor.take_prepared(host, self._open_spare)
                    if conn is None:
                        conn = self.service.connect(host, skip=self)
                except Exception as exc:
                    last = exc
                    continue
                if monitor.verified_recently(host, _VERIFIED_FRESH_S) or self._role_ok(conn, host):
                    return conn, host
                conn.close()
            time.sleep(_RECONNECT_PAUSE_S)
        detail = f": {type(last).__name__}: {last}" if last is not None else ""
        raise FailoverFailedError(
            f"no instance of {monitor.cluster_id} could take over within "
            f"{self._timeout:g} s (failover_mode={self._mode}){detail}"
        )

    def _targets(
        self, monitor: TopologyMonitor, exclude: str | None, deadline: float
    ) -> list[HostInfo]:
        if self._mode == "strict_writer":
            writer = monitor.wait_for_writer(
                exclude, max(0.0, deadline - time.monotonic()), prepare=self._open_spare
            )
            return [writer] if writer is not None else []
        hosts = monitor.hosts
        readers = [h for h in hosts if h.role is HostRole.READER and h.url != exclude]
        writers = [h for h in hosts if h.role is HostRole.WRITER and h.url != exclude]
        if self._mode == "strict_reader":
            ordered = readers if readers or len(hosts) > 1 else writers
        else:
            ordered = readers + writers
        if not ordered:
            monitor.request_panic()
            monitor.wait(0.05)
            return []
        if len(readers) > 1:
            first = self.service.get_host_info_by_strategy(HostRole.READER, self._strategy, readers)
            ordered = [first, *[h for h in ordered if h is not first]]
        return ordered

    def _open_spare(self, host: HostInfo) -> Any:
        """A connection to ``host`` through the rest of the pipeline (the monitor's probes
        call it while they look for the new writer)."""
        return self.service.connect(host, skip=self)

    def _role_ok(self, conn: Any, host: HostInfo) -> bool:
        """The new connection has the role the mode asks for (asked of the server)."""
        if self._mode == "reader_or_writer" or self._link is None:
            return True
        try:
            is_writer = not self._link.dialect.is_reader(self.service.aux_query(conn))  # as the
            # AWS wrapper verifies: one cheap round trip
        except Exception:
            return False
        if self._mode == "strict_writer":
            return is_writer
        return not is_writer or host.role is HostRole.WRITER  # strict_reader, 1-node fallback
