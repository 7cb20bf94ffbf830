"""Keyed, ref-counted, idle-expiring, supervised background monitors.

Cluster plugins watch things for many connections at once: the topology of a cluster, the
health of a host, the status of a blue/green deployment. One :class:`Monitor` per *key* (a
cluster id, a host plus settings, a deployment id) serves every connection that needs it::

    lease = service.services.monitors.acquire(("efm", host.url, settings), make_monitor)
    ...                      # lease.monitor is shared with every other holder of the key
    lease.release()          # or let the lease be garbage-collected

:class:`MonitorService` runs each monitor on its own daemon thread, calling
:meth:`Monitor.step` repeatedly; the value ``step`` returns is the delay before the next call
(:meth:`Monitor.wake` cuts it short). An exception in ``step`` is logged and the monitor is
retried with a capped exponential back-off (0.1 s doubling to 30 s): a monitor never dies of
an error, and its :class:`MonitorHealth` says how it fares. When the last lease is released
the monitor keeps running for ``idle_expiry_s`` (a connection that comes right back finds it
warm), then stops. :func:`awsdb.release_resources` stops every monitor and joins its thread
within a bounded time.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from awsdb.errors import InterfaceError

__all__ = ["Monitor", "MonitorHealth", "MonitorLease", "MonitorService"]

_log = logging.getLogger("awsdb.monitors")

M = TypeVar("M", bound="Monitor")

_MAX_BACKOFF_S = 30.0
_JOIN_TIMEOUT_S = 5.0


class Monitor:
    """Base class of background monitors. Subclasses implement :meth:`step`.

    ``step`` runs on the monitor's own thread and must not block for longer than it can be
    interrupted: long waits go through :meth:`wait` (woken by :meth:`wake` and by stopping),
    network calls use timeouts, and :meth:`interrupt` is the hook that unblocks a call stuck
    in a driver (abort the monitoring connection) when the monitor is stopped.
    """

    def __init__(self) -> None:
        self._wakeup = threading.Event()
        self._stopping = threading.Event()

    def step(self) -> float:
        """Do one round of work; return the seconds to wait before the next round."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the monitor's own resources; called once, on its thread, when it stops."""

    def interrupt(self) -> None:
        """Unblock a :meth:`step` stuck in I/O; called from the stopping thread."""

    @property
    def stopping(self) -> bool:
        """True once the monitor was asked to stop: ``step`` should return promptly."""
        return self._stopping.is_set()

    def wake(self) -> None:
        """Run the next :meth:`step` now instead of after its delay (thread-safe)."""
        self._wakeup.set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds inside ``step``; True if woken or stopping."""
        if self._stopping.is_set():
            return True
        woken = self._wakeup.wait(timeout)
        self._wakeup.clear()
        return woken or self._stopping.is_set()

    def _request_stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()
        try:
            self.interrupt()
        except Exception:
            _log.exception("interrupting monitor %r failed", self)


@dataclass(frozen=True)
class MonitorHealth:
    """How one monitor fares: readable from any thread, e.g. for ``awsdb check``."""

    key: Hashable
    alive: bool
    refs: int
    steps: int
    consecutive_failures: int
    total_failures: int
    last_error: str | None
    last_step_at: float | None
    idle_since: float | None


class _Entry:
    __slots__ = (
        "consecutive_failures",
        "idle_expiry_s",
        "idle_since",
        "key",
        "last_error",
        "last_step_at",
        "monitor",
        "refs",
        "steps",
        "thread",
        "total_failures",
    )

    def __init__(self, key: Hashable, monitor: Monitor, idle_expiry_s: float) -> None:
        self.key = key
        self.monitor = monitor
        self.idle_expiry_s = idle_expiry_s
        self.refs = 0
        self.idle_since: float | None = None
        self.steps = 0
        self.consecutive_failures = 0
        self.total_failures = 0
        self.last_error: str | None = None
        self.last_step_at: float | None = None
        self.thread: threading.Thread | None = None


class MonitorLease(Generic[M]):
    """One holder's claim on a shared monitor. Release it once; GC releases it too."""

    __slots__ = ("__weakref__", "_finalizer", "key", "monitor")

    def __init__(self, key: Hashable, monitor: M, release: Callable[[], None]) -> None:
        self.key = key
        self.monitor = monitor
        self._finalizer = weakref.finalize(self, release)

    def release(self) -> None:
        """Give the monitor back (idempotent)."""
        self._finalizer()

    @property
    def released(self) -> bool:
        """True once :meth:`release` ran (or the lease was collected)."""
        return not self._finalizer.alive

    def __enter__(self) -> MonitorLease[M]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self.released else "held"
        return f"<MonitorLease {self.key!r} {state}>"


class _Releaser:
    """The lease's release callback; holds the service weakly (no cycle, no leak)."""

    __slots__ = ("entry", "service")

    def __init__(self, service: MonitorService, entry: _Entry) -> None:
        self.service = weakref.ref(service)
        self.entry = entry

    def __call__(self) -> None:
        service = self.service()
        if service is not None:
            service._release(self.entry)


class MonitorService:
    """Runs shared monitors keyed by the caller. Thread-safe; one per process services."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, _Entry] = {}
        self._retired: list[_Entry] = []  # stopped, thread perhaps still ending
        self._released = False

    def acquire(
        self, key: Hashable, factory: Callable[[], M], *, idle_expiry_s: float = 60.0
    ) -> MonitorLease[M]:
        """A lease on the monitor for ``key``, starting it with ``factory()`` if needed.

        ``factory`` runs under the service lock (it must not block): at most one monitor per
        key exists at a time. ``idle_expiry_s`` is how long the monitor outlives its last
        lease (0: it stops at once).
        """
        if idle_expiry_s < 0:
            raise ValueError(f"idle_expiry_s must be >= 0, not {idle_expiry_s!r}")
        with self._lock:
            if self._released:
                raise InterfaceError("the awsdb process services were released")
            entry = self._entries.get(key)
            if entry is None:
                monitor = factory()
                if not isinstance(monitor, Monitor):
                    raise TypeError(
                        f"monitor factory for {key!r} returned {type(monitor).__name__}, "
                        "not an awsdb.monitors.Monitor"
                    )
                entry = _Entry(key, monitor, idle_expiry_s)
                thread = threading.Thread(
                    target=self._run, args=(entry,), name=f"awsdb-monitor {key!r}", daemon=True
                )
                entry.thread = thread
                self._entries[key] = entry
                thread.start()
            entry.refs += 1
            entry.idle_since = None
            monitor_m: M = entry.monitor  # type: ignore[assignment]
        return MonitorLease(key, monitor_m, _Releaser(self, entry))

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.refs -= 1
            if entry.refs > 0:
                return
            entry.idle_since = time.monotonic()
            if entry.idle_expiry_s == 0 and self._entries.get(entry.key) is entry:
                self._retire(entry)
                return
        entry.monitor.wake()  # replan the wait with the idle deadline

    def get(self, key: Hashable) -> Monitor | None:
        """The running monitor for ``key``, if any (no lease taken)."""
        entry = self._entries.get(key)
        return entry.monitor if entry is not None else None

    def health(self, key: Hashable) -> MonitorHealth | None:
        """How the monitor for ``key`` fares, or ``None`` if there is none."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        thread = entry.thread
        return MonitorHealth(
            key=entry.key,
            alive=thread is not None and thread.is_alive(),
            refs=entry.refs,
            steps=entry.steps,
            consecutive_failures=entry.consecutive_failures,
            total_failures=entry.total_failures,
            last_error=entry.last_error,
            last_step_at=entry.last_step_at,
            idle_since=entry.idle_since,
        )

    def keys(self) -> list[Hashable]:
        """The keys of the monitors running now."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def _expired(self, entry: _Entry) -> float | None:
        """Seconds of idle time left, or ``None`` while leased; removes an expired entry."""
        with self._lock:
            if entry.refs > 0 or entry.idle_since is None:
                return None
            left = entry.idle_since + entry.idle_expiry_s - time.monotonic()
            if left <= 0 and self._entries.get(entry.key) is entry:
                self._retire(entry)
            return left

    def _retire(self, entry: _Entry) -> None:
        # Under the lock: forget the entry, stop its monitor, keep it for a final join.
        del self._entries[entry.key]
        self._retired = [e for e in self._retired if e.thread is not None and e.thread.is_alive()]
        self._retired.append(entry)
        entry.monitor._request_stop()

    def _run(self, entry: _Entry) -> None:
        monitor = entry.monitor
        try:
            while not monitor.stopping:
                idle_left = self._expired(entry)
                if monitor.stopping:
                    break
                try:
                    delay = float(monitor.step())
                    entry.consecutive_failures = 0
                except Exception as exc:
                    if monitor.stopping:
                        break
                    entry.consecutive_failures += 1
                    entry.total_failures += 1
                    entry.last_error = f"{type(exc).__name__}: {exc}"
                    delay = min(_MAX_BACKOFF_S, 0.1 * 2 ** (entry.consecutive_failures - 1))
                    _log.warning(
                        "monitor %r failed (%d in a row), retrying in %.1f s",
                        entry.key,
                        entry.consecutive_failures,
                        delay,
                        exc_info=True,
                    )
                entry.steps += 1
                entry.last_step_at = time.monotonic()
                idle_left = self._expired(entry)
                if idle_left is not None:
                    delay = min(delay, max(idle_left, 0.0))
                monitor.wait(max(delay, 0.0))
        finally:
            try:
                monitor.close()
            except Exception:
                _log.exception("closing monitor %r failed", entry.key)

    def release(self) -> None:
        """Stop every monitor and join the threads (bounded: 5 s in all)."""
        with self._lock:
            self._released = True
            entries, self._entries = list(self._entries.values()), {}
            entries += self._retired
            self._retired = []
        for entry in entries:
            entry.monitor._request_stop()
        deadline = time.monotonic() + _JOIN_TIMEOUT_S
        for entry in entries:
            thread = entry.thread
            if thread is None or thread is threading.current_thread():
                continue
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                _log.warning("monitor %r did not stop within %.0f s", entry.key, _JOIN_TIMEOUT_S)
