"""The phase state machine: forward moves, rollback from the green side, switchover timer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from awsdb_bluegreen._phase import Phase, Role

__all__ = ["PhaseTracker"]


class PhaseTracker:
    """The effective phase of one deployment, fed by the blue and green status monitors.

    Rules:

    - the phase only moves forward, and only on a side's new reading (above that side's own
      previous one: a side repeating an old phase after a rollback does not undo it); a
      backward move counts as a rollback only when the green (TARGET) side reports a phase
      below its own previous reading, and then the phase becomes the reported one (a side
      lagging behind the other is not a rollback);
    - an unreadable status (reported as ``None``) changes nothing;
    - ``switchover_timeout_s`` starts at PREPARATION and, once elapsed, forces COMPLETED
      (CREATED after a rollback); it is checked on every :meth:`phase` call, even when no
      monitor reports anything;
    - after a forced COMPLETED, readings are ignored until a new cycle starts;
    - after COMPLETED, NOT_CREATED or CREATED from either side starts a new cycle (the next
      switchover, or a deployment deleted and re-created).
    """

    def __init__(
        self,
        switchover_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout_s = switchover_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._phase = Phase.NOT_CREATED
        self._started_at: float | None = None
        self._rolled_back = False
        self._forced = False
        self._last: dict[Role, Phase] = {}

    def report(self, role: Role, phase: Phase | None) -> Phase:
        """Record a monitor's reading of its side; return the effective phase."""
        with self._lock:
            self._expire()
            if phase is not None:
                self._apply(role, phase)
            return self._phase

    def phase(self) -> Phase:
        """The effective phase, after checking the switchover timer."""
        with self._lock:
            self._expire()
            return self._phase

    @property
    def rolled_back(self) -> bool:
        """True when the current cycle went through a rollback."""
        with self._lock:
            return self._rolled_back

    @property
    def forced(self) -> bool:
        """True when the switchover timer forced COMPLETED in the current cycle."""
        with self._lock:
            self._expire()
            return self._forced

    def wait_while(self, phase: Phase, timeout_s: float) -> Phase:
        """Wait until the effective phase is no longer ``phase`` or ``timeout_s`` passed.

        Waits in slices of at most 100 ms so the switchover timer is checked meanwhile."""
        deadline = self._clock() + timeout_s
        with self._lock:
            while True:
                self._expire()
                left = deadline - self._clock()
                if self._phase != phase or left <= 0:
                    return self._phase
                self._changed.wait(min(left, 0.1))

    def _set(self, phase: Phase) -> None:
        if phase != self._phase:
            self._phase = phase
            self._changed.notify_all()

    def _apply(self, role: Role, phase: Phase) -> None:
        current = self._phase
        previous = self._last.get(role)
        self._last[role] = phase
        if phase == current:
            return
        if current == Phase.COMPLETED and phase <= Phase.CREATED:
            self._started_at = None
            self._rolled_back = self._forced = False
            self._last = {role: phase}
            self._set(phase)
            return
        if self._forced:
            return
        if phase > current and (previous is None or phase > previous):
            if phase.active and self._started_at is None:
                self._started_at = self._clock()
            self._set(phase)
            return
        if (
            role is Role.TARGET
            and phase != Phase.NOT_CREATED
            and previous is not None
            and phase < previous
        ):
            self._rolled_back = True
            if not phase.active:
                self._started_at = None
            self._set(phase)

    def _expire(self) -> None:
        if self._started_at is None or not self._phase.active:
            return
        if self._clock() - self._started_at >= self._timeout_s:
            self._started_at = None
            self._forced = not self._rolled_back
            self._set(Phase.CREATED if self._rolled_back else Phase.COMPLETED)
