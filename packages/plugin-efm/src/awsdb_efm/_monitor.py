"""The per-host monitor: one probe connection shared by every monitored call to a host.

A :class:`HostMonitor` runs on the thread the core's monitor service gives it. Calls register
a :class:`MonitoringContext` when they start and remove it when they return; a context
becomes *active* once its call has run for the grace period. While at least one context is
active the monitor probes the host with ``SELECT 1`` on its own connection every interval;
``count`` failed probes in a row declare the host dead: the host is marked unavailable and
the connection of every active context is aborted (its socket shut down) from this thread.
The owning threads then fail with the driver's network error and close their connections
themselves: nothing here ever closes a connection another thread owns.

A probe is one round trip (``SELECT 1`` on the probe connection, in autocommit mode), bounded
by a watchdog that aborts the probe connection when the reply does not arrive in time (a
host that stopped answering never sends a server-side timeout's error). A reply that has
arrived by the deadline but is not read yet (the process is short of CPU: other threads hold
the interpreter, or the machine is busy) earns the probe one more timeout instead of an
abort: the host answered, so it is not a failed probe.
"""

from __future__ import annotations

import logging
import math
import select
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from awsdb.monitors import Monitor

if TYPE_CHECKING:
    from awsdb.drivers import DriverDialect
    from awsdb.hosts import HostAvailabilityRegistry, HostInfo
    from awsdb.plugin import PluginService
    from awsdb.properties import Properties

__all__ = ["EfmSettings", "HostMonitor", "MonitoringContext"]

_log = logging.getLogger("awsdb.efm")

_PROBE_SQL = "SELECT 1"
_MIN_IDLE_POLL_S = 0.1
_MIN_PROBE_GAP_S = 0.1  # at least this long between two probes
_MIN_PROBE_TIMEOUT_S = 0.2
_LATENCIES_KEPT = 4096
_PRECONNECT_MARGIN_S = 0.5  # the probe connection opens this long plus a connect timeout early
_monotonic = time.monotonic


@dataclass(frozen=True, slots=True)
class EfmSettings:
    """The detection settings of one monitor (part of its key)."""

    grace_ms: int
    """``failure_detection_time_ms``: a call is watched once it has run this long."""
    interval_ms: int
    """``failure_detection_interval_ms``: the probe period."""
    count: int
    """``failure_detection_count``: failed probes in a row that declare the host dead."""

    @classmethod
    def from_props(cls, props: Properties) -> EfmSettings:
        """The settings a connection's properties ask for."""
        return cls(
            int(props.get("failure_detection_time_ms")),
            int(props.get("failure_detection_interval_ms")),
            int(props.get("failure_detection_count")),
        )

    @property
    def probe_timeout_s(self) -> float:
        """How long one probe may take: ``(interval - 100 ms) / 2``, at least 200 ms."""
        return max(_MIN_PROBE_TIMEOUT_S, (self.interval_ms - 100) / 2000)

    @property
    def connect_timeout_s(self) -> int:
        """The probe connection's connect timeout: the probe timeout rounded up to whole
        seconds, at most the interval, at least 1 s (psycopg raises anything below 2 s to
        2 s). A reconnect into a dead host is a failed probe that lasts this long."""
        return max(1, min(self.interval_ms // 1000, math.ceil(self.probe_timeout_s)))


class MonitoringContext:
    """One monitored call: its connection's service (held weakly) and when it goes active."""

    __slots__ = ("aborted", "active_at", "done", "service")

    def __init__(self, service: weakref.ref[PluginService], active_at: float) -> None:
        self.service = service
        self.active_at = active_at
        self.done = False
        self.aborted = False
        """Set by the monitor when it aborted this call's connection."""


def _reply_waiting(conn: Any) -> bool:
    """True when bytes from the server wait in ``conn``'s socket receive buffer (psycopg's
    ``fileno()``, the pure-Python mysql-connector's socket); False when unknown."""
    try:
        fileno = getattr(conn, "fileno", None)
        if callable(fileno):
            fd = int(fileno())
        else:
            sock = getattr(getattr(conn, "_socket", None), "sock", None)
            if not isinstance(sock, socket.socket):
                return False
            fd = sock.fileno()
        if fd < 0:
            return False
        readable, _, _ = select.select([fd], [], [], 0)
    except Exception:
        return False
    return bool(readable)


class _Watchdog:
    """Aborts the probe connection when a probe overruns its deadline.

    One daemon thread per monitor, started with the first probe and joined by :meth:`stop`.
    The abort runs under the watchdog's lock and :meth:`disarm` takes that lock, so once
    ``disarm`` returns the connection is never touched again (it may then be closed safely:
    a closed descriptor's number may be reused by another socket). At the deadline, a probe
    whose reply is already waiting in the socket (``answered``) gets one more timeout.
    """

    def __init__(
        self,
        name: str,
        abort: Callable[[Any], None],
        answered: Callable[[Any], bool] = _reply_waiting,
    ) -> None:
        self._name = name
        self._abort = abort
        self._answered = answered
        self._cond = threading.Condition()
        self._armed: tuple[float, Any, float, bool] | None = None
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.extended = 0
        """Probes that were late but answered (given one more timeout instead of aborted)."""

    def arm(self, timeout_s: float, conn: Any) -> None:
        """Abort ``conn`` unless :meth:`disarm` is called within ``timeout_s``."""
        with self._cond:
            if self._stopped:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._armed = (time.monotonic() + timeout_s, conn, timeout_s, False)
            self._cond.notify()

    def disarm(self) -> None:
        """Cancel the pending abort (waits for one in progress to finish)."""
        with self._cond:
            self._armed = None

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                armed = self._armed
                if armed is None:
                    self._cond.wait()
                    continue
                deadline, conn, timeout_s, extended = armed
                now = time.monotonic()
                if deadline > now:
                    self._cond.wait(deadline - now)
                    continue
                if not extended and self._answered(conn):
                    self.extended += 1
                    self._armed = (now + timeout_s, conn, timeout_s, True)
                    continue
                self._armed = None
                try:
                    self._abort(conn)
                except Exception as exc:
                    _log.debug("aborting the overrunning probe failed: %s", type(exc).__name__)

    def stop(self) -> None:
        """End the thread and join it."""
        with self._cond:
            self._stopped = True
            self._armed = None
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)


class HostMonitor(Monitor):
    """Probes one host for the monitored calls of every connection to it.

    ``connect`` opens the probe connection (the driver dialect with the ``monitoring-``
    properties); ``driver`` runs the probe and aborts connections; ``availability`` is the
    process's host-availability registry, where a dead host is marked unavailable. The
    monitor references no connection's plugin service except weakly, through contexts.
    """

    def __init__(
        self,
        host: HostInfo,
        settings: EfmSettings,
        driver: DriverDialect,
        connect: Callable[[], Any],
        availability: HostAvailabilityRegistry,
    ) -> None:
        super().__init__()
        self.host = host
        self.settings = settings
        self._driver = driver
        self._connect = connect
        self._availability = availability
        self._grace_s = settings.grace_ms / 1000
        self._lock = threading.Lock()
        self._contexts: set[MonitoringContext] = set()
        self._planned = 0.0  # when the monitor next looks at the contexts (0: it is probing)
        self._conn: Any = None
        self._conn_lock = threading.Lock()  # the probe connection vs. interrupt()
        self._failures = 0
        self._lead_s = settings.connect_timeout_s + _PRECONNECT_MARGIN_S
        self._preconnected_for = 0.0
        self._watchdog = _Watchdog(f"awsdb-efm-watchdog {host.url}", self._abort_probe)
        self.probes = 0
        """Probes run so far (each one a round trip or a connect attempt)."""
        self.failed_probes = 0
        """Probes that failed so far."""
        self.verdicts = 0
        """How many times the host was declared dead."""
        self.probe_latencies: deque[float] = deque(maxlen=_LATENCIES_KEPT)
        """Seconds the ``SELECT 1`` of each of the last 4,096 successful probes took (the
        part bounded by the probe timeout; a connect before it is not included)."""

    # --- the calls' side (any thread) --------------------------------------------------

    # Registering and removing a call take no lock while the call is in its grace period:
    # adding to and discarding from the context set are single operations of the
    # interpreter, and the monitor's thread only ever reads a copy of the set taken in one
    # such operation. Only a call that returns after its grace period takes the lock, which
    # the monitor holds while it aborts calls: such a call waits for the verdict, and once
    # it has returned its connection is never aborted. A call that returns within its
    # grace period cannot be aborted at all: the verdict reads the clock under the lock,
    # after the call marked itself done, and skips calls not active by then.

    def start_monitoring(self, service: weakref.ref[PluginService]) -> MonitoringContext:
        """Register a call that starts now; it is watched once the grace period is over."""
        ctx = MonitoringContext(service, _monotonic() + self._grace_s)
        self._contexts.add(ctx)
        if ctx.active_at < self._planned:
            self.wake()
        return ctx

    def stop_monitoring(self, ctx: MonitoringContext) -> None:
        """The call returned (or raised): stop watching it."""
        ctx.done = True
        if _monotonic() < ctx.active_at:
            self._contexts.discard(ctx)
            return
        with self._lock:
            self._contexts.discard(ctx)

    @property
    def monitored(self) -> int:
        """How many calls are registered now (active or still in their grace period)."""
        return len(self._contexts)

    # --- the monitor's thread ----------------------------------------------------------

    def step(self) -> float:
        """Probe while a context is active; otherwise sleep until the next one is due (or
        one grace period when there is none), opening the probe connection ahead of time."""
        now = time.monotonic()
        connect_for: float | None = None
        with self._lock:
            due = [c.active_at for c in tuple(self._contexts)]
            active = any(t <= now for t in due)
            if not active:
                # Nothing registered: look again after (about) one grace period. A call
                # registered meanwhile cannot become active before that, so registering
                # never has to wake the monitor (no thread wake-up per statement).
                delay, connect_for = self._plan(now, min(due) if due else None)
                self._planned = now + delay
            else:
                self._planned = 0.0
        if not active:
            self._failures = 0
            if connect_for is not None:
                if self._preconnect(connect_for) or time.monotonic() < connect_for:
                    return max(connect_for - time.monotonic(), 0.0)
                # the connect was still failing when the call became active: that is the
                # call's first failed probe (a probe now would only connect into it again)
                self.probes += 1
                self.failed_probes += 1
                return self._failed()
            return delay
        started = time.monotonic()
        if self._probe():
            self._failures = 0
        else:
            self._failed()
        elapsed = time.monotonic() - started
        return max(self.settings.interval_ms / 1000 - elapsed, _MIN_PROBE_GAP_S)

    def _failed(self) -> float:
        """Count a failed probe (``count`` in a row declare the host dead); the delay to the
        next probe when it was not timed by :meth:`step`."""
        self._failures += 1
        if self._failures >= self.settings.count:
            self._failures = 0
            self._declare_dead()
        return _MIN_PROBE_GAP_S

    def _plan(self, now: float, first: float | None) -> tuple[float, float | None]:
        """How long to sleep before the next look, and whether to open the probe connection
        now (the activation time it is opened for). Without a probe connection the monitor
        opens one a connect timeout (plus 0.5 s) before the first context becomes active, so
        that a host that dies inside the grace period fails the first probe at once instead
        of costing a connect timeout first."""
        lead = self._lead_s if self._conn is None else 0.0
        if first is None:
            return max(self._grace_s - lead, self._grace_s / 2, _MIN_IDLE_POLL_S), None
        left = first - now
        if lead and left <= lead:
            return left, (first if self._preconnected_for != first else None)
        return left - lead, None

    def _preconnect(self, first: float) -> bool:
        """Open the probe connection ahead of the context that becomes active at ``first``
        (once per activation time). A failure that ends before the call becomes active is
        not a failed probe (the first probe connects again); one that ends after is the
        call's first failed probe."""
        self._preconnected_for = first
        try:
            self._open()
        except Exception as exc:
            _log.debug("efm: connecting to %s ahead failed: %s", self.host.url, type(exc).__name__)
            return False
        return True

    def _open(self) -> Any:
        """Open the probe connection, in autocommit mode (no BEGIN / ROLLBACK round trips)."""
        conn = self._connect()
        with self._conn_lock:
            self._conn = conn
        try:
            self._driver.set_autocommit(conn, True)
        except BaseException:
            self._drop_conn()
            raise
        return conn

    def _probe(self) -> bool:
        """One probe: open the probe connection if there is none, then one ``SELECT 1``
        round trip under the watchdog. A failed connect or query is a failed probe and
        leaves no connection behind (the next probe reconnects)."""
        self.probes += 1
        conn = self._conn
        if conn is None:
            try:
                conn = self._open()
            except Exception as exc:
                self.failed_probes += 1
                _log.debug("efm: connecting to %s failed: %s", self.host.url, type(exc).__name__)
                return False
        ok = False
        started = time.monotonic()
        self._watchdog.arm(self.settings.probe_timeout_s, conn)
        try:
            cur = conn.cursor()
            try:
                cur.execute(_PROBE_SQL)
                cur.fetchall()
            finally:
                cur.close()
            ok = True
        except Exception as exc:
            _log.debug("efm: probe of %s failed: %s", self.host.url, type(exc).__name__)
        finally:
            self._watchdog.disarm()
        if ok:
            self.probe_latencies.append(time.monotonic() - started)
        else:
            self.failed_probes += 1
            self._drop_conn()
        return ok

    @property
    def late_probes(self) -> int:
        """Probes whose reply had arrived but was not read by their deadline (a busy
        process or machine): given one more timeout instead of failed."""
        return self._watchdog.extended

    def _declare_dead(self) -> None:
        """Mark the host unavailable and abort every active call's connection."""
        from awsdb.hosts import HostAvailability

        self.verdicts += 1
        _log.warning(
            "efm: host %s is not answering (%d failed probes); aborting its monitored calls",
            self.host.url,
            self.settings.count,
        )
        self._availability.mark(self.host.url, HostAvailability.UNAVAILABLE)
        with self._lock:  # a call returning now waits: its connection is not aborted after
            now = _monotonic()  # read after the lock: see start_monitoring
            for ctx in tuple(self._contexts):
                if ctx.done or ctx.aborted or ctx.active_at > now:
                    continue
                service = ctx.service()
                if service is None:
                    continue
                ctx.aborted = True
                try:
                    service.abort_current()
                except Exception as exc:
                    _log.warning("efm: cannot abort a connection to %s: %s", self.host.url, exc)

    def _abort_probe(self, conn: Any) -> None:
        self._driver.abort(conn)

    def _drop_conn(self) -> None:
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception as exc:
                _log.debug("efm: closing the probe connection failed: %s", type(exc).__name__)

    def interrupt(self) -> None:
        """Abort the probe connection so that a probe blocked in the driver returns now."""
        with self._conn_lock:
            conn = self._conn
            if conn is not None:
                try:
                    self._driver.abort(conn)
                except Exception as exc:
                    _log.debug("efm: interrupting the probe failed: %s", type(exc).__name__)

    def close(self) -> None:
        """Stop the watchdog and close the probe connection (on the monitor's thread)."""
        self._watchdog.stop()
        self._drop_conn()

    def __repr__(self) -> str:
        s = self.settings
        return f"<HostMonitor {self.host.url} {s.grace_ms}/{s.interval_ms}/{s.count}>"
