"""Host-name resolution with test-controlled overrides.

Driver dialects ask the process resolver for an override before they open a physical
connection. With an override in place, psycopg connects to the mapped address while keeping
``host`` as the name (libpq ``hostaddr``); mysql-connector connects to the address directly.
This lets a local emulated cluster answer under Aurora-shaped names such as
``instance-2.c0ffee.us-east-1.rds.amazonaws.com`` without touching ``/etc/hosts``, and lets a
test flip a cluster endpoint to a new writer exactly like a DNS update.

The resolver is an explicit, lockable service held by the process services
(``Services.resolver``); :func:`get_resolver` returns it. Its overrides survive
:func:`awsdb.release_resources`. Nothing here resolves or starts anything at import.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

__all__ = ["HostResolver", "get_resolver"]


class HostResolver:
    """A name → address map consulted before DNS. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._overrides: dict[str, str] = {}
        self._hidden: set[str] = set()

    def set(self, name: str, address: str) -> None:
        """Map ``name`` (case-insensitive) to ``address`` until removed."""
        with self._lock:
            self._overrides[name.lower()] = address
            self._hidden.discard(name.lower())

    def update(self, mapping: Mapping[str, str]) -> None:
        """Set several overrides atomically."""
        with self._lock:
            for name, address in mapping.items():
                self._overrides[name.lower()] = address
                self._hidden.discard(name.lower())

    def remove(self, name: str) -> None:
        """Drop the override (or the hiding) of ``name``; a missing name is not an error."""
        with self._lock:
            self._overrides.pop(name.lower(), None)
            self._hidden.discard(name.lower())

    def hide(self, name: str) -> None:
        """Make ``name`` resolve to nothing, without asking DNS, until set or removed
        (an emulated DNS record deletion: :meth:`resolve` returns ``None``)."""
        with self._lock:
            self._overrides.pop(name.lower(), None)
            self._hidden.add(name.lower())

    def clear(self) -> None:
        """Drop every override and hidden name."""
        with self._lock:
            self._overrides.clear()
            self._hidden.clear()

    def override(self, name: str) -> str | None:
        """Return the overriding address for ``name``, or ``None`` when DNS applies."""
        if not self._overrides:  # lock-free fast path: the common production case
            return None
        with self._lock:
            return self._overrides.get(name.lower())

    def snapshot(self) -> dict[str, str]:
        """A copy of the current overrides."""
        with self._lock:
            return dict(self._overrides)

    def resolve(self, name: str) -> str | None:
        """Return an IPv4 address for ``name``: the override, else DNS; ``None`` if unknown."""
        address = self.override(name)
        if address is not None:
            return address
        if self._hidden:
            with self._lock:
                if name.lower() in self._hidden:
                    return None
        try:
            infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            return None
        return str(infos[0][4][0]) if infos else None

    @contextmanager
    def mapped(self, mapping: Mapping[str, str]) -> Iterator[HostResolver]:
        """Install ``mapping`` for the duration of a ``with`` block, then restore."""
        with self._lock:
            saved = dict(self._overrides)
            for name, address in mapping.items():
                self._overrides[name.lower()] = address
        try:
            yield self
        finally:
            with self._lock:
                self._overrides = saved


def get_resolver() -> HostResolver:
    """Return the resolver of the process services."""
    from awsdb._service import get_services

    return get_services().resolver
