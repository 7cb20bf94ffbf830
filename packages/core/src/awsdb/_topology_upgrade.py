"""Opening a preferred monitoring connection off the topology monitor's thread.

``monitoring_connection_priority`` may ask the topology monitor to watch the cluster from a
reader (``strict-reader``) rather than from the writer it verified in panic mode. The monitor
keeps the connection it has and asks :class:`MonitorUpgrade` for one to a reader: the
connect and the role check run on a short-lived thread of their own, so a reader that does
not answer never holds up the topology refresh; the monitor adopts the result at its next
step.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from awsdb.hosts import HostInfo

__all__ = ["MonitorUpgrade", "prefers_reader"]

_log = logging.getLogger("awsdb.topology")


def prefers_reader(priority: object) -> bool:
    """True when ``monitoring_connection_priority`` names ``strict-reader`` first."""
    choices = [c.strip().lower().replace("_", "-") for c in str(priority or "").split(",")]
    choices = [c for c in choices if c]
    return bool(choices) and choices[0] == "strict-reader"


class MonitorUpgrade:
    """One connection attempt at a time to a preferred instance, on its own thread.

    ``open(host)`` connects; ``accept(conn)`` is the role check (``True``: keep it). The
    result waits in :meth:`take` until the monitor adopts it; :meth:`close` ends the attempt
    and closes a result nobody took.
    """

    def __init__(
        self,
        name: str,
        open: Callable[[HostInfo], Any],
        accept: Callable[[Any], bool],
        close: Callable[[Any], None],
    ) -> None:
        self._name = name
        self._open = open
        self._accept = accept
        self._close = close
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._result: tuple[Any, HostInfo] | None = None
        self._closed = False

    @property
    def busy(self) -> bool:
        """True while an attempt runs or its result waits to be taken."""
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            return running or self._result is not None

    def start(self, host: HostInfo) -> bool:
        """Start connecting to ``host``; ``False`` if busy or closed."""
        with self._lock:
            if self._closed or self._result is not None:
                return False
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(
                target=self._run, args=(host,), name=self._name, daemon=True
            )
            self._thread.start()
        return True

    def take(self) -> tuple[Any, HostInfo] | None:
        """The accepted connection and its host, once; ``None`` if there is none (yet)."""
        with self._lock:
            result, self._result = self._result, None
        return result

    def close(self, timeout: float) -> None:
        """Stop accepting results, wait up to ``timeout`` s for a running attempt (a connect
        cannot be interrupted), close what is left."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        left = self.take()
        if left is not None:
            self._close(left[0])

    def _run(self, host: HostInfo) -> None:
        try:
            conn = self._open(host)
        except Exception as exc:
            _log.debug("monitoring connection to %s failed: %s", host.url, type(exc).__name__)
            return
        try:
            accepted = self._accept(conn)
        except Exception as exc:
            _log.debug("role check on %s failed: %s", host.url, type(exc).__name__)
            accepted = False
        with self._lock:
            if accepted and not self._closed:
                self._result = (conn, host)
                return
        self._close(conn)
