"""A thread-safe expiring cache with single-flight creation, for tokens and secrets.

One creator per key at a time: concurrent callers of :meth:`ExpiringCache.get_or_create`
for a missing key wait for the one creation instead of each calling AWS. With
``serve_stale=True`` an expired value is returned to the callers that arrive while another
thread refreshes it ("serve the cached secret while refreshing it"). Nothing here logs a
value; ``repr`` shows counts only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["CacheStats", "ExpiringCache"]

V = TypeVar("V")

_MAX_ENTRIES = 4096


@dataclass
class CacheStats:
    """Counters of one cache (read them for metrics, benchmarks and tests)."""

    created: int = 0  # values made by the creator (token generations, secret fetches)
    hits: int = 0  # fresh values served from the cache
    stale_served: int = 0  # expired values served while another thread refreshed them
    invalidated: int = 0  # values dropped after a login failure


@dataclass
class _Entry(Generic[V]):
    value: V
    expires_at: float


class ExpiringCache(Generic[V]):
    """Values by key, each with its own lifetime. An explicit, lockable service."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, _Entry[V]] = {}
        self._inflight: dict[Hashable, threading.Event] = {}
        self.stats = CacheStats()

    def __repr__(self) -> str:
        return f"ExpiringCache({len(self._entries)} entries, {self.stats})"

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        """The fresh value of ``key``, or ``None``."""
        entry = self._entries.get(key)
        if entry is None or entry.expires_at <= self._clock():
            return None
        return entry.value

    def put(self, key: Hashable, value: V, ttl_s: float) -> None:
        """Store ``value`` for ``ttl_s`` seconds."""
        with self._lock:
            self._store(key, value, ttl_s)

    def _store(self, key: Hashable, value: V, ttl_s: float) -> None:
        now = self._clock()
        if len(self._entries) >= _MAX_ENTRIES and key not in self._entries:
            for k in [k for k, e in self._entries.items() if e.expires_at <= now]:
                del self._entries[k]
            if len(self._entries) >= _MAX_ENTRIES:  # all fresh: drop the oldest
                del self._entries[next(iter(self._entries))]
        self._entries[key] = _Entry(value, now + ttl_s)

    def invalidate(self, key: Hashable, value: V | None = None) -> bool:
        """Drop ``key`` (only if it still holds ``value``, when given). True if dropped."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or (value is not None and entry.value != value):
                return False
            del self._entries[key]
            self.stats.invalidated += 1
            return True

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._entries.clear()

    def get_or_create(
        self,
        key: Hashable,
        ttl_s: float,
        create: Callable[[], V],
        *,
        serve_stale: bool = False,
    ) -> tuple[V, bool]:
        """The value of ``key`` and whether it came from the cache.

        A fresh value is returned at once (the hot path: one dict lookup and a clock read,
        no lock). Otherwise one caller runs ``create()`` (outside the lock) and stores the
        result; the others wait for it, or, with ``serve_stale``, get the expired value.
        An exception of ``create`` reaches the caller that ran it; waiting callers retry.
        """
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at > self._clock():
            self.stats.hits += 1
            return entry.value, True
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry.expires_at > self._clock():
                    self.stats.hits += 1
                    return entry.value, True
                event = self._inflight.get(key)
                if event is None:
                    event = self._inflight[key] = threading.Event()
                    break
                if serve_stale and entry is not None:
                    self.stats.stale_served += 1
                    return entry.value, True
            event.wait()
        try:
            value = create()
            with self._lock:
                self._store(key, value, ttl_s)
                self.stats.created += 1
            return value, False
        finally:
            with self._lock:
                self._inflight.pop(key, None)
            event.set()
