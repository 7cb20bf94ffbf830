"""The panic-mode writer search of the topology monitor: parallel probes, first verified
writer wins.

One :class:`WriterSearch` per panic episode. It runs one probe thread per known instance
(plus the connection-string hosts), each with its own connection, kept open between rounds.
A probe passes when the dialect's writer check returns a row **and** the is-reader query says
the instance is not read-only (the first connection after a failover can reach a stale
node). The first probe to pass claims the search with a compare-and-set, reads the topology
through its connection and hands that connection to the monitor; every other probe closes
its own connection and ends. A reader probe reads the topology only while the monitor knows
none, to discover instances it was not told about (each gets its own probe).

Probe connections are the monitor's own (autocommit, one round trip per query). Every probe
query runs under ``auxiliary_query_timeout_sec``: the thread that waits for the search
aborts a connection whose query has run longer. Retry rules: a network error reconnects
after ``retry_s``; a login error ends that probe (its error is kept for the waiters); any
other error backs off 0.1 s × 2^min(n, 6), capped at 10 s, times a jitter of 0.5–1.0.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from awsdb.hosts import HostInfo, HostRole

if TYPE_CHECKING:
    from awsdb.dialects import AuxQuery, DatabaseDialect
    from awsdb.drivers import DriverDialect

__all__ = ["SearchSettings", "WriterSearch"]

_log = logging.getLogger("awsdb.topology")

_MAX_BACKOFF_S = 10.0
_HEAD_START_S = 0.02  # an already-open connection is asked first, alone, for this long


@dataclass(frozen=True)
class SearchSettings:
    """What the probes need from their monitor (read-only)."""

    driver: DriverDialect
    dialect: DatabaseDialect
    pattern: str
    default_port: int | None
    aux_timeout_s: float
    open: Callable[[HostInfo], Any]  # a new monitoring connection to a host
    pause_s: Callable[[], float]  # pause between two probes of one instance
    retry_s: Callable[[], float]  # pause after a network error
    topology_known: Callable[[], bool]
    # the instance of the topology a probe host is (None for an endpoint or a seed host)
    instance: Callable[[HostInfo], HostInfo | None]
    # a verified writer instance, announced before its topology is read (waiters go at once)
    announce: Callable[[HostInfo], None]
    # the winner: (connection, writer, topology) → True if the monitor took the connection
    claim: Callable[[Any, HostInfo, list[HostInfo]], bool]
    # after a round that did not win: a waiting connection's spare to this host, if wanted
    spare: Callable[[HostInfo], None]


class _Probe:
    __slots__ = ("busy_since", "conn", "host", "read_topology", "thread")

    def __init__(self, host: HostInfo, conn: Any) -> None:
        self.host = host
        self.conn = conn
        self.busy_since: float | None = None
        self.thread: threading.Thread | None = None
        self.read_topology = False  # an endpoint probe on a reader reads the topology once


class WriterSearch:
    """One panic episode's parallel writer search. Thread-safe."""

    def __init__(self, settings: SearchSettings, name: str) -> None:
        self._s = settings
        self._name = name
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._probes: dict[str, _Probe] = {}
        self._pending: list[HostInfo] = []  # waiting for the head start to end
        self._winner: HostInfo | None = None
        self._last_error: BaseException | None = None
        self._fatal: dict[str, BaseException] = {}
        self.started_at = time.monotonic()

    # --- control (monitor thread) --------------------------------------------------------

    def start(self, hosts: Sequence[HostInfo], warm: tuple[HostInfo, Any] | None = None) -> None:
        """Probe ``hosts``. ``warm`` is an open connection to one of them: it is asked first,
        alone, for a moment (a monitoring connection that is still fine answers in one round
        trip, without opening a connection to every instance)."""
        if warm is not None:
            host, conn = warm
            self._spawn(host, conn)
            with self._lock:
                self._pending = [h for h in hosts if h.url != host.url]
            return
        for host in hosts:
            self._spawn(host, None)

    def add(self, host: HostInfo) -> None:
        """Probe one more instance (discovered in a reader's topology)."""
        with self._lock:
            if self._pending:
                if all(h.url != host.url for h in self._pending):
                    self._pending.append(host)
                return
        self._spawn(host, None)

    @property
    def done(self) -> bool:
        """True once a writer was claimed or the search was stopped."""
        return self._done.is_set()

    @property
    def winner(self) -> HostInfo | None:
        """The verified writer, once claimed."""
        return self._winner

    @property
    def last_error(self) -> BaseException | None:
        """The last error any probe saw."""
        return self._last_error

    def all_failed(self) -> BaseException | None:
        """The first fatal error when every probe ended on one (a login error): waiting
        longer cannot help."""
        with self._lock:
            if self._pending or not self._probes:
                return None
            if all(url in self._fatal for url in self._probes):
                return next(iter(self._fatal.values()))
        return None

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the search to end; enforces the query timeout and the
        head start meanwhile. True when done."""
        deadline = time.monotonic() + timeout
        while True:
            self._release_pending()
            self._watchdog()
            left = deadline - time.monotonic()
            if left <= 0:
                return self._done.is_set()
            slice_s = min(left, _HEAD_START_S if self._pending else 0.05)
            if self._done.wait(slice_s):
                return True

    def stop(self) -> None:
        """End the search: every probe closes its own connection and ends."""
        self._done.set()
        with self._lock:
            self._pending = []

    def interrupt(self) -> None:
        """Stop, and abort every probe connection so that a blocked query returns."""
        self.stop()
        with self._lock:
            conns = [p.conn for p in self._probes.values() if p.conn is not None]
        for conn in conns:
            _abort_quietly(self._s.driver, conn)

    def join(self, timeout: float) -> bool:
        """Wait for the probe threads to end; True if all did."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = [p.thread for p in self._probes.values() if p.thread is not None]
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def alive(self) -> bool:
        """True while a probe thread still runs."""
        with self._lock:
            return any(p.thread is not None and p.thread.is_alive() for p in self._probes.values())

    # --- internals -----------------------------------------------------------------------

    def _spawn(self, host: HostInfo, conn: Any) -> None:
        with self._lock:
            if self._done.is_set() or host.url in self._probes:
                if conn is not None:
                    _close_quietly(conn)
                return
            probe = _Probe(host, conn)
            self._probes[host.url] = probe
            probe.thread = threading.Thread(
                target=self._run,
                args=(probe,),
                name=f"awsdb-topology-probe {self._name} {host.url}",
                daemon=True,
            )
            probe.thread.start()

    def _release_pending(self) -> None:
        with self._lock:
            if not self._pending:
                return
            if time.monotonic() - self.started_at < _HEAD_START_S and not self._fatal:
                return
            pending, self._pending = self._pending, []
        for host in pending:
            self._spawn(host, None)

    def _head_start_over(self) -> None:
        """The warm connection did not settle it: probe every other instance now."""
        with self._lock:
            pending, self._pending = self._pending, []
        for host in pending:
            self._spawn(host, None)

    def _watchdog(self) -> None:
        now = time.monotonic()
        with self._lock:
            stuck = [
                p.conn
                for p in self._probes.values()
                if p.busy_since is not None
                and p.conn is not None
                and now - p.busy_since > self._s.aux_timeout_s
            ]
        for conn in stuck:
            _log.debug("a topology probe query exceeded %.1f s: aborted", self._s.aux_timeout_s)
            _abort_quietly(self._s.driver, conn)

    def _query(self, probe: _Probe) -> AuxQuery:
        conn = probe.conn

        def run(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
            probe.busy_since = time.monotonic()
            try:
                cur = conn.cursor()
                try:
                    cur.execute(sql, params) if params is not None else cur.execute(sql)
                    rows = cur.fetchall() if cur.description is not None else []
                finally:
                    cur.close()
            finally:
                probe.busy_since = None
            return [tuple(r) for r in rows]

        return run

    def _run(self, probe: _Probe) -> None:
        s = self._s
        failures = 0
        try:
            while not self._done.is_set():
                try:
                    if probe.conn is None:
                        conn = s.open(probe.host)
                        with self._lock:
                            probe.conn = conn
                        if self._done.is_set():
                            break
                        s.driver.set_autocommit(conn, True)
                    if self._round(probe):
                        return
                    failures = 0
                    if not self._done.is_set():
                        s.spare(probe.host)
                    pause = s.pause_s()
                except Exception as exc:
                    if self._done.is_set():
                        break
                    self._last_error = exc
                    conn, probe.conn = probe.conn, None
                    if conn is not None:
                        _close_quietly(conn)
                    self._head_start_over()
                    if s.driver.is_login_error(exc):
                        with self._lock:
                            self._fatal[probe.host.url] = exc
                        _log.info("topology probe of %s: login failed", probe.host.url)
                        return
                    if s.driver.is_network_error(exc):
                        pause = s.retry_s()
                    else:
                        failures += 1
                        backoff = min(_MAX_BACKOFF_S, 0.1 * 2 ** min(failures, 6))
                        pause = backoff * random.uniform(0.5, 1.0)
                self._done.wait(pause)
        finally:
            with self._lock:
                conn, probe.conn = probe.conn, None
            if conn is not None:
                _close_quietly(conn)

    def _round(self, probe: _Probe) -> bool:
        """One probe of one instance; True when it won (its connection is handed over)."""
        s = self._s
        query = self._query(probe)
        if s.dialect.writer_check(query) and not s.dialect.is_reader(query):
            instance = s.instance(probe.host)
            if instance is not None:
                # a known instance proved itself the writer: waiters may connect to it now,
                # while its topology is read (an endpoint is never announced: its name may
                # still point at the old writer)
                with self._lock:
                    if self._done.is_set() or self._winner is not None:
                        return False
                    self._winner = instance.replace(role=HostRole.WRITER)
                s.announce(self._winner)
            try:
                hosts = s.dialect.query_topology(
                    query, host_pattern=s.pattern, default_port=s.default_port
                )
            except BaseException:
                if instance is not None:
                    self.stop()  # announced: the monitor reads the topology itself
                raise
            writer = next((h for h in hosts if h.role is HostRole.WRITER), None)
            if instance is not None:
                writer = self._winner  # verified on the server; the topology follows it
            if writer is None:
                return False  # the writer's own topology names no writer: ask again
            with self._lock:
                if instance is None:
                    if self._done.is_set() or self._winner is not None:
                        return False
                    self._winner = writer
                conn, probe.conn = probe.conn, None
            taken = False
            try:
                taken = s.claim(conn, writer, hosts)
            finally:
                if not taken:
                    _close_quietly(conn)
                self.stop()
            return True
        self._head_start_over()  # the warm connection is not on the writer: ask everyone
        # a reader behind an endpoint (stale DNS): its topology names the instances to probe,
        # also when the monitor got a topology after this search began with the endpoint only
        endpoint_once = s.instance(probe.host) is None and not probe.read_topology
        if not s.topology_known() or endpoint_once:
            probe.read_topology = True
            hosts = s.dialect.query_topology(
                query, host_pattern=s.pattern, default_port=s.default_port
            )
            for h in sorted(hosts, key=lambda h: h.role is not HostRole.WRITER):
                if h.url not in self._probes:
                    self.add(h)
        return False


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception as exc:
        _log.debug("closing a probe connection failed: %s", type(exc).__name__)


def _abort_quietly(driver: DriverDialect, conn: Any) -> None:
    try:
        driver.abort(conn)
    except Exception as exc:
        _log.debug("aborting a probe connection failed: %s", type(exc).__name__)
