"""One blue/green deployment as the process sees it: both sides' readings, the phase
tracker, the captured start addresses, the DNS flags and the routing table.

The two status monitors (blue SOURCE, green TARGET) feed :meth:`Deployment.update`; the
``bg`` plugin of every connection reads :meth:`Deployment.view` and waits with
:meth:`Deployment.wait`. ``active`` and ``version`` are plain attributes, read without a lock
on the hot path: outside a switchover a call costs one attribute read.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping

from awsdb import rds
from awsdb_bluegreen._pairing import build_table
from awsdb_bluegreen._phase import Phase, Role
from awsdb_bluegreen._routing import Endpoint, RoutingTable
from awsdb_bluegreen._status import SideStatus
from awsdb_bluegreen._tracker import PhaseTracker

__all__ = ["Deployment", "DeploymentView", "Settings"]

_LOG = logging.getLogger("awsdb.bluegreen")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The ``bg_*`` properties of a deployment, in seconds."""

    connect_timeout_s: float = 30.0
    baseline_s: float = 60.0
    increased_s: float = 1.0
    high_s: float = 0.1
    switchover_timeout_s: float = 180.0

    @classmethod
    def from_props(cls, props: object) -> Settings:
        """Read the ``bg_*`` properties (``Properties.get``)."""
        get: Callable[[str], object] = props.get  # type: ignore[attr-defined]

        def seconds(name: str) -> float:
            return float(get(name)) / 1000.0  # type: ignore[arg-type]

        return cls(
            connect_timeout_s=seconds("bg_connect_timeout_ms"),
            baseline_s=seconds("bg_interval_baseline_ms"),
            increased_s=seconds("bg_interval_increased_ms"),
            high_s=seconds("bg_interval_high_ms"),
            switchover_timeout_s=seconds("bg_switchover_timeout_ms"),
        )


@dataclasses.dataclass(frozen=True)
class DeploymentView:
    """A consistent snapshot for one routing decision.

    ``phase`` is the routing phase: the tracker's phase (switchover timer applied), POST
    while IN_PROGRESS once every blue name resolves to a new address (release on blue DNS
    update), and COMPLETED with an empty table once routing is over (settled or timed out).
    ``switched`` is true when this cycle moved traffic to green (POST reached): connections
    opened to blue before that are stale. ``cycle`` counts switchover cycles.
    """

    phase: Phase
    table: RoutingTable
    switched: bool
    cycle: int
    settled: bool


class Deployment:
    """Shared state of one ``bg_id``: thread-safe, fed by the two side monitors."""

    def __init__(
        self,
        bg_id: str,
        settings: Settings,
        *,
        token: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bg_id = bg_id
        self.settings = settings
        self.token = token
        """Identifies this deployment object in the green monitor's key."""
        self._clock = clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._tracker = PhaseTracker(settings.switchover_timeout_s, clock)
        self._latest: dict[Role, SideStatus] = {}
        self._hints: dict[Role, Endpoint] = {}
        self._errors: dict[Role, str | None] = {Role.SOURCE: None, Role.TARGET: None}
        self._resolved: dict[Endpoint, str | None] = {}
        self._start_ips: dict[Endpoint, str] = {}
        self._blue: frozenset[Endpoint] = frozenset()
        self._green: frozenset[Endpoint] = frozenset()
        self._table = RoutingTable()
        self._switched = False
        self._settled = False
        self._cycle = 0
        self._last_phase = Phase.NOT_CREATED
        self._resets: list[Callable[[], None]] = []
        self._wakers: list[Callable[[], None]] = []
        self.active = False
        """True while connects and calls need routing (read without the lock)."""
        self.version = 0
        """Bumped on every change of ``active``, settling and cycle (read without the lock)."""

    # ------------------------------------------------------------------ monitors' side

    def add_monitor(self, wake: Callable[[], None], reset: Callable[[], None]) -> None:
        """Register a side monitor's wake-up and reset callbacks."""
        with self._lock:
            self._wakers.append(wake)
            self._resets.append(reset)

    def hint(self, role: Role) -> Endpoint | None:
        """The status endpoint of ``role`` learned from either side's metadata."""
        with self._lock:
            return self._hints.get(role)

    def names_to_resolve(self, role: Role) -> set[Endpoint]:
        """The endpoints ``role``'s monitor resolves on each poll: the captured start
        endpoints of its side and its latest endpoints."""
        with self._lock:
            start = self._blue if role is Role.SOURCE else self._green
            latest = self._latest.get(role)
            return set(start) | (set(latest.endpoints) if latest else set())

    def report_error(self, role: Role, message: str | None) -> None:
        """Record why ``role``'s metadata cannot be read (``None``: it can)."""
        with self._lock:
            before = self._errors.get(role)
            self._errors[role] = message
        if message is not None and message != before:
            _LOG.warning("blue/green %s (bg_id %r): %s", role.name, self.bg_id, message)

    def error(self, role: Role) -> str | None:
        """Why ``role``'s metadata cannot be read, or ``None``."""
        with self._lock:
            return self._errors.get(role)

    def update(
        self,
        role: Role,
        own: SideStatus | None,
        other: SideStatus | None,
        resolved: Mapping[Endpoint, str | None],
    ) -> Phase:
        """One poll of ``role``'s monitor: its side's status (``None``: unreadable), the
        other side's rows as seen there (for the status endpoint hint) and the addresses
        the monitor resolved. Returns the tracker's phase."""
        with self._lock:
            before = self._tracker.phase()
            self._resolved.update(resolved)
            phase: Phase | None = own.phase if own is not None else None
            if phase is Phase.NOT_CREATED and before is Phase.COMPLETED:
                phase = None  # the -old1 side or a deleted deployment after completion
            if own is not None and own.endpoints:
                self._latest[role] = own
            now = self._tracker.report(role, phase)
            if now < Phase.PREPARATION and before is Phase.COMPLETED:
                self._new_cycle()
            elif now is Phase.NOT_CREATED or (
                now < Phase.PREPARATION and self._tracker.rolled_back
            ):
                self._switched = False
            if now < Phase.IN_PROGRESS:
                for side in (own, other):
                    if side is not None and side.status_endpoint is not None:
                        self._hints[side.role] = side.status_endpoint
                self._capture()
            if now >= Phase.POST:
                self._switched = True
            self._recompute(now)
            changed = now != before
        if changed:
            _LOG.info(
                "blue/green bg_id %r: %s -> %s (%s read %s)",
                self.bg_id,
                before.name,
                now.name,
                role.name,
                phase.name if phase is not None else None,
            )
            for wake in list(self._wakers):
                wake()
        return now

    def _new_cycle(self) -> None:
        self._cycle += 1
        self._switched = False
        self._settled = False
        self._start_ips = {}
        self._blue = self._green = frozenset()
        self._latest = {}
        _LOG.info("blue/green bg_id %r: new cycle %d", self.bg_id, self._cycle)

    def _capture(self) -> None:
        blue = self._latest.get(Role.SOURCE)
        green = self._latest.get(Role.TARGET)
        self._blue = blue.endpoints if blue else frozenset()
        self._green = green.endpoints if green else frozenset()
        ips: dict[Endpoint, str] = {}
        for ep in self._blue | self._green:
            ip = self._resolved.get(ep)
            if ip:
                ips[ep] = ip
        self._start_ips = ips

    def _recompute(self, phase: Phase) -> None:
        blue_updated = green_removed = topology_changed = False
        if phase >= Phase.IN_PROGRESS:
            blue_updated = bool(self._blue) and all(
                (ip := self._resolved.get(ep)) is not None and ip != self._start_ips.get(ep)
                for ep in self._blue
            )
            green_removed = bool(self._green) and all(
                self._resolved.get(ep) is None for ep in self._green
            )
            latest = self._latest.get(Role.TARGET)
            topology_changed = (
                latest is not None
                and bool(latest.endpoints)
                and not any(rds.is_green_host(ep.host) for ep in latest.endpoints)
            )
        self._table = build_table(
            SideStatus(Role.SOURCE, phase, self._blue, None),
            SideStatus(Role.TARGET, phase, self._green, None),
            self._start_ips,
            blue_dns_updated=blue_updated,
            green_dns_removed=green_removed,
            green_topology_changed=topology_changed,
        )
        settled = phase is Phase.COMPLETED and (
            self._tracker.forced or (blue_updated and green_removed)
        )
        if settled and not self._settled:
            _LOG.info("blue/green bg_id %r: switchover done, routing ends", self.bg_id)
            for reset in list(self._resets):
                reset()
        active = phase.active and not settled
        if active != self.active or settled != self._settled:
            self.version += 1
        self._settled = settled
        self._last_phase = phase
        self.active = active
        self._changed.notify_all()

    # ------------------------------------------------------------------ plugins' side

    def view(self) -> DeploymentView:
        """The routing view now (the switchover timer is checked on every call)."""
        with self._lock:
            phase = self._tracker.phase()
            if phase is not self._last_phase:  # the switchover timer moved it
                self._recompute(phase)
            if not self.active:
                # Routing is over or not started: every route passes; the table still names
                # the blue endpoints of a switched cycle, so stale connections are found.
                table = dataclasses.replace(
                    self._table, blue_dns_updated=True, green_dns_removed=True
                )
                return DeploymentView(
                    Phase.COMPLETED if phase.active else phase,
                    table,
                    self._switched and not self._tracker.forced,
                    self._cycle,
                    phase.active,
                )
            switched = self._switched
            if phase is Phase.IN_PROGRESS and self._table.blue_dns_updated:
                phase, switched = Phase.POST, True  # released on blue DNS update
            return DeploymentView(phase, self._table, switched, self._cycle, False)

    @property
    def cycle(self) -> int:
        """The current switchover cycle (0 for the first)."""
        with self._lock:
            return self._cycle

    @property
    def rolled_back(self) -> bool:
        """True when the current cycle went through a rollback."""
        with self._lock:
            return self._tracker.rolled_back

    def phase(self) -> Phase:
        """The tracker's phase (switchover timer applied)."""
        with self._lock:
            return self._tracker.phase()

    def wait(self, timeout_s: float) -> None:
        """Wait for a change, at most ``timeout_s`` (callers loop in slices of 100 ms)."""
        with self._changed:
            self._changed.wait(max(0.0, min(timeout_s, 0.1)))

    def interval(self, connected: bool) -> float:
        """The poll period for the current phase (HIGH after a lost connection)."""
        with self._lock:
            phase = self._tracker.phase()
            settled = self._settled
        s = self.settings
        if not connected or (phase.active and not settled):
            return s.high_s
        if phase is Phase.CREATED:
            return s.increased_s
        return s.baseline_s
