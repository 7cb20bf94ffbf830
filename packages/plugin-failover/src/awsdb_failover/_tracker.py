"""The ``aurora_connection_tracker`` plugin: retire connections to a demoted writer.

Each connection records the instance it is on (the topology host, found without a query
when the connection's host is an instance name, else by the dialect's instance-id query).
When the cluster's topology monitor reports a writer change (``notify_host_list_changed``:
the instance was demoted to reader or removed, or another instance was promoted while this
one was the writer), the connection is retired:

- idle: its socket is shut down at once with the core's safe abort (never a close from
  another thread), so the next call fails with a network error on the owning thread —
  where ``failover`` (when in the chain) reconnects to the new writer;
- busy (a call in flight): the owning thread aborts it itself at its next call.

Tracked connections are held weakly in a per-process registry in the services' stash (no
module globals); the plugin starts no thread of its own.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from awsdb import rds
from awsdb.hosts import HostInfo, HostRole
from awsdb.plugin import ConnectionChange, HostChange, Plugin
from awsdb.stash import StashKey
from awsdb_failover._calls import SERVER_CALLS
from awsdb_failover._topology import ClusterLink, host_of, identify, join_topology

__all__ = ["AuroraConnectionTrackerPlugin", "TrackedConnections", "tracked_connections"]

_log = logging.getLogger("awsdb.failover")


class TrackedConnections:
    """Open connections per instance (``host:port``), held weakly. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_url: dict[str, weakref.WeakSet[AuroraConnectionTrackerPlugin]] = {}

    def add(self, url: str, plugin: AuroraConnectionTrackerPlugin) -> None:
        """Track ``plugin``'s connection under ``url``."""
        with self._lock:
            self._by_url.setdefault(url, weakref.WeakSet()).add(plugin)

    def discard(self, url: str, plugin: AuroraConnectionTrackerPlugin) -> None:
        """Stop tracking ``plugin``'s connection under ``url`` (absent: no error)."""
        with self._lock:
            members = self._by_url.get(url)
            if members is not None:
                members.discard(plugin)
                if not members:
                    del self._by_url[url]

    def counts(self) -> dict[str, int]:
        """How many open connections each instance has (instances with none are left out)."""
        with self._lock:
            return {url: len(m) for url, m in self._by_url.items() if len(m)}


_TRACKED: StashKey[TrackedConnections] = StashKey("failover.tracked-connections")


def tracked_connections(services: Any) -> dict[str, int]:
    """Open tracked connections per instance ``host:port`` in the process ``services``."""
    tracked = services.stash.get(_TRACKED)
    return tracked.counts() if tracked is not None else {}


class AuroraConnectionTrackerPlugin(Plugin):
    """Tracks the connection's instance; retires the connection when that writer is demoted."""

    # Not the fetches: they read the result of the statement in flight, which a demoted
    # writer that is still up delivers whole; the connection goes at the next statement.
    subscribed_methods: ClassVar[frozenset[str]] = SERVER_CALLS | {"connect"}
    server_calls_only: ClassVar[bool] = True

    def __init__(self, service: Any, props: Any) -> None:
        super().__init__(service, props)
        self._link: ClusterLink | None = None
        self._url: str | None = None
        self._was_writer = False
        self._stale = False  # read on every call: the owning thread aborts at its next call
        self._busy = 0
        self._registry = service.services.stash.setdefault(_TRACKED, TrackedConnections)

    # --- set-up --------------------------------------------------------------------------

    def connect(
        self, host: HostInfo, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Open the connection; the initial one joins the cluster's topology monitor."""
        conn = call_next(host, props, is_initial)
        if is_initial and self._link is None:
            try:
                self._link = join_topology(self.service, conn, host, props)
            except BaseException:
                conn.close()
                raise
        return conn

    def notify_connection_changed(self, changes: frozenset[ConnectionChange]) -> None:
        """Track the (new) connection under its instance."""
        self._stale = False
        self._track(self._identify())

    def _track(self, host: HostInfo | None) -> None:
        url = host.url if host is not None else None
        if url != self._url:
            if self._url is not None:
                self._registry.discard(self._url, self)
            if url is not None:
                self._registry.add(url, self)
        self._url = url
        self._was_writer = host is not None and host.role is HostRole.WRITER

    def _identify(self) -> HostInfo | None:
        """The topology host this connection is on (``None`` when unknown)."""
        link = self._link
        host = self.service.current_host
        if link is None or host is None:
            return None
        monitor = link.monitor
        known = host_of(monitor, host.url)
        if known is not None:
            return known
        if not rds.classify(host.host).is_cluster:
            return host  # an instance the topology does not list (yet)
        # a cluster endpoint: ask the server which instance answered
        return identify(link, self.service.aux_query())

    def release(self) -> None:
        """Stop tracking; give the topology monitor back."""
        if self._url is not None:
            self._registry.discard(self._url, self)
            self._url = None
        if self._link is not None:
            self._link.release()
            self._link = None

    # --- events and the hot path ---------------------------------------------------------

    def notify_host_list_changed(self, changes: Mapping[str, frozenset[HostChange]]) -> None:
        """A writer change: retire this connection if it is on the demoted writer."""
        url = self._url
        if url is None:
            return
        mine = changes.get(url, frozenset())
        if HostChange.PROMOTED_TO_WRITER in mine:
            self._was_writer = True
            return
        demoted = HostChange.PROMOTED_TO_READER in mine or HostChange.DELETED in mine
        if not demoted and self._was_writer:
            demoted = any(
                HostChange.PROMOTED_TO_WRITER in c for u, c in changes.items() if u != url
            )
        if not demoted or not self._was_writer:
            return
        self._was_writer = False
        self._registry.discard(url, self)
        self._stale = True
        if self._busy == 0:
            # idle: a socket shutdown is safe from this (the monitor's) thread; the owner's
            # next call fails with a network error and is failed over on its own thread
            _log.debug("aborting an idle connection to the demoted writer %s", url)
            self.service.abort_current()

    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        """Pass the call; a connection to a demoted writer is aborted first."""
        if self._stale:
            self._abort_stale()
        self._busy += 1
        try:
            return call_next(*args, **kwargs)
        finally:
            self._busy -= 1

    def bind_execute(
        self,
        method: str,
        connection: Any,
        call_next: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any],
    ) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], Any] | None:
        """:meth:`execute` as one layer (no argument repacking per call)."""

        def layer(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if self._stale:
                self._abort_stale()
            self._busy += 1
            try:
                return call_next(target, args, kwargs)
            finally:
                self._busy -= 1

        return layer

    def _abort_stale(self) -> None:
        # not replaced since the demotion (a replacement resets the flag): abort here, on
        # the owning thread, so that the call fails over (or fails) like a lost host
        self._stale = False
        _log.debug("aborting a connection to the demoted writer %s", self._url)
        self.service.abort_current()
