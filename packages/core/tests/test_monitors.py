"""The monitor service and the stash: sharing, ref-counting, idle expiry, supervision."""

from __future__ import annotations

import gc
import threading
import time

import pytest

import awsdb
from awsdb._service import get_services
from awsdb.monitors import Monitor, MonitorService
from awsdb.stash import Stash, StashKey


class Counting(Monitor):
    def __init__(self, fail_first: int = 0, delay: float = 0.01) -> None:
        super().__init__()
        self.steps = 0
        self.fail_first = fail_first
        self.delay = delay
        self.closed = threading.Event()

    def step(self) -> float:
        self.steps += 1
        if self.steps <= self.fail_first:
            raise RuntimeError(f"failure {self.steps}")
        return self.delay

    def close(self) -> None:
        self.closed.set()


def _until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def test_one_monitor_per_key_shared_and_ref_counted() -> None:
    service = MonitorService()
    made: list[Counting] = []

    def factory() -> Counting:
        made.append(Counting())
        return made[-1]

    leases = [service.acquire(("topology", "c1"), factory) for _ in range(50)]
    other = service.acquire(("topology", "c2"), factory)
    assert len(made) == 2
    assert all(lease.monitor is made[0] for lease in leases)
    health = service.health(("topology", "c1"))
    assert health is not None and health.refs == 50 and health.alive
    for lease in leases:
        lease.release()
        lease.release()  # idempotent
    health = service.health(("topology", "c1"))
    assert health is not None and health.refs == 0 and health.idle_since is not None
    other.release()
    service.release()
    assert made[0].closed.is_set() and made[1].closed.is_set()
    assert len(service) == 0


def test_idle_monitor_expires_and_a_new_acquire_starts_a_fresh_one() -> None:
    service = MonitorService()
    first = service.acquire("k", lambda: Counting(delay=5.0), idle_expiry_s=0.05)
    monitor = first.monitor
    first.release()
    assert monitor.closed.wait(5), "the idle monitor did not stop"
    assert service.get("k") is None
    second = service.acquire("k", Counting, idle_expiry_s=0)
    assert second.monitor is not monitor
    second.release()  # idle expiry 0: stops at once
    assert second.monitor.closed.wait(5)
    service.release()


def test_reacquired_within_idle_expiry_keeps_the_warm_monitor() -> None:
    service = MonitorService()
    lease = service.acquire("k", Counting, idle_expiry_s=30)
    monitor = lease.monitor
    lease.release()
    again = service.acquire("k", Counting, idle_expiry_s=30)
    assert again.monitor is monitor and not monitor.closed.is_set()
    service.release()


def test_a_failing_monitor_is_retried_with_back_off_and_health_says_so() -> None:
    service = MonitorService()
    lease = service.acquire("flaky", lambda: Counting(fail_first=3))
    _until(lambda: lease.monitor.steps > 5)
    health = service.health("flaky")
    assert health is not None
    assert health.total_failures == 3
    assert health.consecutive_failures == 0
    assert health.last_error == "RuntimeError: failure 3"
    service.release()


def test_garbage_collected_lease_releases_itself() -> None:
    service = MonitorService()
    lease = service.acquire("k", Counting, idle_expiry_s=0)
    monitor = lease.monitor
    del lease
    gc.collect()
    assert monitor.closed.wait(5)
    service.release()


def test_factory_must_build_a_monitor_and_released_service_refuses() -> None:
    service = MonitorService()
    with pytest.raises(TypeError, match=r"not an awsdb\.monitors\.Monitor"):
        service.acquire("k", object)  # type: ignore[type-var]
    service.release()
    with pytest.raises(awsdb.InterfaceError, match="released"):
        service.acquire("k", Counting)


def test_stop_interrupts_a_step_blocked_in_io() -> None:
    class Blocked(Monitor):
        def __init__(self) -> None:
            super().__init__()
            self.release_io = threading.Event()
            self.interrupted = False

        def step(self) -> float:
            self.release_io.wait(30)  # stands for a driver call stuck on a dead host
            return 1.0

        def interrupt(self) -> None:
            self.interrupted = True
            self.release_io.set()

    service = MonitorService()
    lease = service.acquire("stuck", Blocked)
    _until(lambda: service.health("stuck") is not None)
    time.sleep(0.05)
    started = threading.active_count()
    service.release()
    assert lease.monitor.interrupted
    assert threading.active_count() == started - 1


def test_release_resources_stops_monitors_and_threads_return_to_baseline() -> None:
    awsdb.release_resources()
    baseline = threading.active_count()
    monitors = get_services().monitors
    leases = [monitors.acquire(("efm", i), Counting) for i in range(5)]
    assert threading.active_count() == baseline + 5
    awsdb.release_resources()
    assert threading.active_count() == baseline
    assert all(lease.monitor.closed.is_set() for lease in leases)


def test_stash_is_typed_once_created_and_released() -> None:
    class Cache:
        released = 0

        def release(self) -> None:
            Cache.released += 1

    key: StashKey[Cache] = StashKey("test.cache")
    twin: StashKey[Cache] = StashKey("test.cache")
    stash = Stash()
    made: list[Cache] = []

    def make() -> Cache:
        made.append(Cache())
        return made[-1]

    threads = [threading.Thread(target=stash.setdefault, args=(key, make)) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and stash[key] is made[0]
    assert twin not in stash  # keys compare by identity, not by name
    with pytest.raises(KeyError, match=r"test\.cache"):
        stash[twin]
    stash.release()
    assert Cache.released == 1 and len(stash) == 0


def test_timing_totals_live_in_the_stash_and_reset_with_the_services() -> None:
    from awsdb.plugins.execute_time import process_totals

    process_totals().add(5)
    assert process_totals().count == 1
    awsdb.release_resources()
    assert process_totals().count == 0
