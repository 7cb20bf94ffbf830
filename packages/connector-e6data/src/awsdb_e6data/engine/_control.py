"""Switchable behaviour and observability of the test engine (thread-safe)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

__all__ = ["CallRecord", "EngineControl", "Fault"]


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One received RPC: name, headers (never ``authorization``), session and query id;
    ``deadline`` is the time the client left the call on arrival (s), None without one."""

    service: str
    rpc: str
    headers: dict[str, str]
    session_id: str
    query_id: str
    at: float
    deadline: float | None = None


@dataclass(slots=True)
class Fault:
    """An injected failure: the next ``count`` calls of an RPC fail with code/details."""

    code: grpc.StatusCode
    details: str
    count: int


@dataclass
class EngineControl:
    """Every switch of the engine. Mutate only through the methods (they take the lock).

    - ``serving`` / ``announce``: the blue/green phase; ``strict``: ownership mode;
    - ``cluster_status``: ``active``, ``suspended``, ``resuming`` or ``failed``;
      ``resume_delay`` and ``resume_fails`` shape ``ClusterService.resume``;
    - ``bad_credentials``: ``'empty'`` (empty session id) or ``'denied'`` (INTERNAL);
    - ``batch_size``, ``decimal_mode`` (``binary``/``text``), ``interval_mode``
      (``micros``/``string``), ``batch_v2`` (serve ``getNextResultBatchV2``);
    - ``end_marker``: how the end of data is sent, ``'empty'`` (an empty ``resultBatch``) or
      ``'zero_chunk'`` (a non-empty ``Chunk`` of size 0, repeated after the end);
    - ``corrupt_metadata``: ``getResultMetadata`` answers an undecodable blob;
    - ``faults`` / ``delays`` per RPC name; ``calls``: the recorded wire log;
    - ``abandoned``: the RPC names whose delayed handler stopped because the client gave the
      call up (deadline or cancel); ``interrupted``: the ids of queries whose running
      statement was interrupted by a cancel. :meth:`wait_for` blocks until an event is seen.
    """

    users: dict[str, str] = field(default_factory=lambda: {"user": "secret"})
    serving: frozenset[str] = frozenset({"blue"})
    announce: str | None = None
    strict: bool = False
    cluster_name: str | None = None
    cluster_status: str = "active"
    resume_delay: float = 0.0
    resume_fails: bool = False
    bad_credentials: str = "empty"
    realistic_456: bool = False
    batch_size: int = 1000
    decimal_mode: str = "binary"
    interval_mode: str = "micros"
    batch_v2: bool = True
    end_marker: str = "empty"
    corrupt_metadata: bool = False
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    calls: list[CallRecord] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    record_calls: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _resume_at: float | None = None
    _changed: threading.Condition = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self.lock)

    def set_phase(
        self, serving: set[str] | frozenset[str] | tuple[str, ...], announce: str | None = None
    ) -> None:
        """Set the serving colours and the announced colour (``None``: no announcement)."""
        with self.lock:
            self.serving = frozenset(c.lower() for c in serving)
            self.announce = announce.lower() if announce else None

    def set(self, **settings: Any) -> None:
        """Change plain settings by name (``batch_size=2``, ``strict=True``...)."""
        with self.lock:
            for key, value in settings.items():
                if key.startswith("_") or not hasattr(self, key) or key == "lock":
                    raise AttributeError(f"unknown engine setting {key!r}")
                setattr(self, key, value)

    def suspend(self) -> None:
        """Suspend the cluster: every query-engine RPC gets a 503 until resumed."""
        with self.lock:
            self.cluster_status = "suspended"
            self._resume_at = None

    def begin_resume(self) -> str:
        """Handle ``ClusterService.resume``; returns the new status."""
        with self.lock:
            if self.cluster_status == "suspended":
                if self.resume_fails:
                    self.cluster_status = "failed"
                elif self.resume_delay <= 0:
                    self.cluster_status = "active"
                else:
                    self.cluster_status = "resuming"
                    self._resume_at = time.monotonic() + self.resume_delay
            return self.cluster_status

    def status(self) -> str:
        """Current cluster status (advances ``resuming`` after the delay)."""
        with self.lock:
            if (
                self.cluster_status == "resuming"
                and self._resume_at is not None
                and time.monotonic() >= self._resume_at
            ):
                self.cluster_status = "active"
                self._resume_at = None
            return self.cluster_status

    def inject_fault(self, rpc: str, code: grpc.StatusCode, details: str, count: int = 1) -> None:
        """Make the next ``count`` calls of ``rpc`` fail with ``code``/``details``."""
        with self.lock:
            self.faults.setdefault(rpc, []).append(Fault(code, details, count))

    def take_fault(self, rpc: str) -> Fault | None:
        """Consume one pending fault of ``rpc``."""
        with self.lock:
            pending = self.faults.get(rpc)
            if not pending:
                return None
            fault = pending[0]
            fault.count -= 1
            if fault.count <= 0:
                pending.pop(0)
            return fault

    def set_delay(self, rpc: str, seconds: float) -> None:
        """Delay every call of ``rpc`` (0 removes the delay and releases stalled calls)."""
        with self.lock:
            if seconds > 0:
                self.delays[rpc] = seconds
            else:
                self.delays.pop(rpc, None)

    def record(self, rec: CallRecord) -> None:
        """Append to the wire log."""
        if self.record_calls:
            with self.lock:
                self.calls.append(rec)
                self._changed.notify_all()

    def note_abandoned(self, rpc: str) -> None:
        """A delayed handler of ``rpc`` stopped early: its client gave the call up."""
        with self.lock:
            self.abandoned.append(rpc)
            self._changed.notify_all()

    def note_interrupted(self, query_id: str) -> None:
        """The running statement of ``query_id`` was interrupted by a cancel."""
        with self.lock:
            self.interrupted.append(query_id)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[EngineControl], bool], timeout: float = 30.0) -> bool:
        """Block until ``predicate(control)`` holds (checked on every recorded event);
        False if it still does not after ``timeout`` seconds."""
        with self.lock:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def wait_for_call(self, rpc: str, count: int = 1, timeout: float = 30.0) -> bool:
        """Block until ``count`` calls of ``rpc`` have been received."""
        return self.wait_for(lambda c: len(c.calls_of(rpc)) >= count, timeout)

    def calls_of(self, rpc: str | None = None) -> list[CallRecord]:
        """A copy of the wire log, optionally only one RPC."""
        with self.lock:
            return [c for c in self.calls if rpc is None or c.rpc == rpc]

    def clear_calls(self) -> None:
        """Empty the wire log."""
        with self.lock:
            self.calls.clear()
