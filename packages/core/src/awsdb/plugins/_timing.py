"""Thread-safe elapsed-time accumulators shared by the timing plugins."""

from __future__ import annotations

import threading

from awsdb.stash import StashKey

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


_KEYS: dict[str, StashKey[TimingTotals]] = {
    "execute": StashKey("timing.execute"),
    "connect": StashKey("timing.connect"),
}


def process_totals(name: str) -> TimingTotals:
    """The process totals called ``name`` (``"execute"``, ``"connect"``), kept in the stash
    of the process services (reset by :func:`awsdb.release_resources`)."""
    from awsdb._service import get_services

    key = _KEYS.get(name)
    if key is None:
        raise ValueError(f"unknown timing totals {name!r}; known: {sorted(_KEYS)}")
    return get_services().stash.setdefault(key, TimingTotals)
