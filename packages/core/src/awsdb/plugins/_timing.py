"""Thread-safe elapsed-time accumulators shared by the timing plugins."""

from __future__ import annotations

import threading

__all__ = ["TimingTotals", "process_totals"]


class TimingTotals:
    """Accumulated nanoseconds and call count; a lockable service (one per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ns = 0
        self._count = 0

    def add(self, ns: int) -> None:
        """Add one measurement."""
        with self._lock:
            self._ns += ns
            self._count += 1

    @property
    def total_ns(self) -> int:
        """Sum of all measurements in nanoseconds."""
        with self._lock:
            return self._ns

    @property
    def count(self) -> int:
        """Number of measurements."""
        with self._lock:
            return self._count

    def reset(self) -> None:
        """Set both counters to zero."""
        with self._lock:
            self._ns = 0
            self._count = 0


_totals_lock = threading.Lock()
_totals: dict[str, TimingTotals] = {}


def process_totals(name: str) -> TimingTotals:
    """The process-wide totals called ``name`` (``"execute"``, ``"connect"``), made on first use."""
    with _totals_lock:
        totals = _totals.get(name)
        if totals is None:
            totals = _totals[name] = TimingTotals()
        return totals
