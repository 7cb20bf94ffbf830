"""The host model: one database instance as awsdb sees it, and the availability service.

:class:`HostInfo` is an immutable value (safe to share between threads and to cache).
:class:`HostAvailabilityRegistry` is the explicit, lockable service in which failover and
failure monitoring record that a host is down; host lists pass through
:meth:`HostAvailabilityRegistry.apply` before a host is selected.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from datetime import datetime

__all__ = [
    "AvailabilityMark",
    "HostAvailability",
    "HostAvailabilityRegistry",
    "HostInfo",
    "HostRole",
]


class HostRole(enum.Enum):
    """The role of an instance in its cluster, as decided by the server."""

    WRITER = "writer"
    READER = "reader"
    UNKNOWN = "unknown"


class HostAvailability(enum.Enum):
    """Whether awsdb currently believes a host can take connections."""

    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class HostInfo:
    """One database host: name, port, role, availability, selection weight and identity.

    ``dial_address``, when set, is the address drivers connect to; ``host`` stays the name.

    ``host_id`` is the instance identifier reported by the topology query (for example the
    Aurora ``SERVER_ID``); ``aliases`` holds other names the same instance answers to (its
    id, ``host:port`` aliases returned by the server). ``weight`` feeds the weighted host
    selectors; the topology queries leave it at 100.
    """

    host: str
    port: int | None = None
    role: HostRole = HostRole.UNKNOWN
    availability: HostAvailability = HostAvailability.AVAILABLE
    weight: int = 100
    host_id: str | None = None
    aliases: frozenset[str] = frozenset()
    last_update: datetime | None = None
    dial_address: str | None = dataclasses.field(default=None, compare=False)
    """An IP address to dial instead of resolving :attr:`host` (blue/green substitution).
    The name stays the host's identity (``url``, IAM tokens, TLS server name)."""

    @property
    def url(self) -> str:
        """``"host:port"``, or ``"host"`` when the port is unknown."""
        if self.port is None:
            return self.host
        return f"{self.host}:{self.port}"

    @property
    def is_available(self) -> bool:
        """True when the host is not marked unavailable."""
        return self.availability is HostAvailability.AVAILABLE

    def replace(self, **changes: Any) -> HostInfo:
        """A copy with the given fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def with_alias(self, *aliases: str) -> HostInfo:
        """A copy whose ``aliases`` also contain ``aliases`` (empty strings are ignored)."""
        extra = frozenset(a for a in aliases if a)
        if extra <= self.aliases:
            return self
        return dataclasses.replace(self, aliases=self.aliases | extra)

    def matches(self, name: str) -> bool:
        """True if ``name`` is this host's name, ``host:port`` url, id or one of its aliases.

        Host names compare case-insensitively (DNS names are case-insensitive).
        """
        lowered = name.lower()
        if lowered in (self.host.lower(), self.url.lower()):
            return True
        if self.host_id is not None and name == self.host_id:
            return True
        return name in self.aliases or lowered in {a.lower() for a in self.aliases}


class AvailabilityMark(NamedTuple):
    """One entry of the availability registry: the state and when it was recorded."""

    availability: HostAvailability
    marked_at: float
    """Value of the registry's clock (``time.monotonic`` by default) at the mark."""


class HostAvailabilityRegistry:
    """Process-wide record of host availability: host url → (availability, when marked).

    Thread-safe; every method takes the registry lock briefly. Marks are keyed by
    ``HostInfo.url`` (``"host:port"``), compared case-insensitively. The registry is
    bounded: beyond ``max_entries`` hosts the least recently marked entry is forgotten (a
    forgotten host reads as "no information", i.e. available).
    """

    def __init__(
        self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._lock = threading.Lock()
        self._marks: OrderedDict[str, AvailabilityMark] = OrderedDict()
        self._max = max_entries
        self._clock = clock

    @staticmethod
    def _key(url: str) -> str:
        return url.strip().lower()

    def mark(self, url: str, availability: HostAvailability) -> None:
        """Record ``availability`` for the host ``url`` (``HostInfo.url``), stamped now."""
        key = self._key(url)
        entry = AvailabilityMark(availability, self._clock())
        with self._lock:
            self._marks[key] = entry
            self._marks.move_to_end(key)
            while len(self._marks) > self._max:
                self._marks.popitem(last=False)

    def mark_unavailable(self, url: str) -> None:
        """Shorthand for ``mark(url, HostAvailability.UNAVAILABLE)``."""
        self.mark(url, HostAvailability.UNAVAILABLE)

    def mark_available(self, url: str) -> None:
        """Shorthand for ``mark(url, HostAvailability.AVAILABLE)``."""
        self.mark(url, HostAvailability.AVAILABLE)

    def get(self, url: str) -> HostAvailability | None:
        """The recorded availability of ``url``, or ``None`` when nothing was recorded."""
        with self._lock:
            entry = self._marks.get(self._key(url))
        return None if entry is None else entry.availability

    def entry(self, url: str) -> AvailabilityMark | None:
        """The recorded availability of ``url`` with the time it was marked, or ``None``."""
        with self._lock:
            return self._marks.get(self._key(url))

    def forget(self, url: str) -> None:
        """Drop whatever is recorded for ``url``."""
        with self._lock:
            self._marks.pop(self._key(url), None)

    def clear(self) -> None:
        """Drop every mark (used by ``release_resources`` and tests)."""
        with self._lock:
            self._marks.clear()

    def snapshot(self) -> dict[str, AvailabilityMark]:
        """A copy of every mark, keyed by lowercased url."""
        with self._lock:
            return dict(self._marks)

    def apply(self, hosts: Iterable[HostInfo]) -> list[HostInfo]:
        """``hosts`` with the recorded availability filled in.

        A host with a mark takes the marked availability; a host without one keeps its own.
        Unchanged hosts are returned as the same objects.
        """
        hosts = list(hosts)
        with self._lock:
            if not self._marks:
                return hosts
            marks = [self._marks.get(self._key(h.url)) for h in hosts]
        out: list[HostInfo] = []
        for host, mark in zip(hosts, marks, strict=True):
            if mark is None or mark.availability is host.availability:
                out.append(host)
            else:
                out.append(dataclasses.replace(host, availability=mark.availability))
        return out
