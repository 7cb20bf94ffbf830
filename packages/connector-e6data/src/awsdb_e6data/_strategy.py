"""Blue/green strategy state, one per target (host, port, cluster name), shared by every
connection, thread, query path and resume path of the process.

The state is an explicit lockable service: every read and write happens under its lock and
nothing is consumed by the first reader. An announced colour is recorded as *pending*; a
connection adopts it for new work at once, even with queries in flight (see
:meth:`StrategyState.colour_for_new_work`), while in-flight queries keep the colour and session
of their own prepare.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

__all__ = ["COLOURS", "StrategyRegistry", "StrategyState", "Target", "registry"]

COLOURS = ("blue", "green")


@dataclass(frozen=True, slots=True)
class Target:
    """Identity of an engine deployment: host, port and (lower-cased) cluster name."""

    host: str
    port: int
    cluster: str


@dataclass
class StrategyState:
    """Colour state of one target. Use only through its methods (they take the lock)."""

    target: Target
    active: str | None = None
    pending: str | None = None
    generation: int = 0
    # A colour that answered 456 is not trusted in announcements for this many seconds, so
    # an engine that announces a colour it does not serve causes no churn.
    distrust_seconds: float = 5.0
    rejected_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    resume_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> tuple[str | None, str | None]:
        """(active, pending) read atomically."""
        with self.lock:
            return self.active, self.pending

    def colour_for_new_work(self, current: str | None) -> str | None:
        """The colour a connection should use for a new prepare.

        ``current`` is the connection's working colour. A pending (announced) colour is
        adopted for new work at once and promoted to active, even while the connection has
        queries in flight: those carry the colour and session of their own prepare in their
        handle until they end, so a short blue/green overlap loses nothing.
        """
        with self.lock:
            best = self.pending or self.active
            if best is None:
                return current
            if current is None or current != best:
                if self.pending == best:
                    self.active, self.pending = best, None
                    self.generation += 1
                return best
            return current

    def announce(self, colour: str) -> bool:
        """Record an announced colour; return True when it is news."""
        colour = colour.lower()
        if colour not in COLOURS:
            return False
        with self.lock:
            if colour in (self.active, self.pending):
                return False
            rejected = self.rejected_at.get(colour)
            if rejected is not None and time.monotonic() - rejected < self.distrust_seconds:
                return False
            if self.active is None:
                self.active = colour
            else:
                self.pending = colour
            return True

    def confirm(self, colour: str) -> None:
        """A colour answered successfully after a probe: make it active."""
        with self.lock:
            self.rejected_at.pop(colour, None)
            if self.active != colour:
                self.active = colour
                self.generation += 1
            if self.pending == colour:
                self.pending = None

    def reject(self, colour: str) -> None:
        """A colour answered 456: forget it wherever it is recorded."""
        with self.lock:
            self.rejected_at[colour] = time.monotonic()
            if self.active == colour:
                self.active = None
                self.generation += 1
            if self.pending == colour:
                self.pending = None


class StrategyRegistry:
    """Process-wide map target -> :class:`StrategyState` (lock-protected)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[Target, StrategyState] = {}

    def get(self, target: Target) -> StrategyState:
        """The shared state of ``target``, created on first use."""
        with self._lock:
            state = self._states.get(target)
            if state is None:
                state = self._states[target] = StrategyState(target)
            return state

    def reset(self) -> None:
        """Forget every target (tests, or after a deliberate redeploy)."""
        with self._lock:
            self._states.clear()


registry = StrategyRegistry()
