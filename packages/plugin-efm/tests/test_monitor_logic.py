"""The monitor's decision logic, driven step by step with a scripted driver (no servers)."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from typing import Any

from awsdb.hosts import HostAvailability, HostAvailabilityRegistry, HostInfo
from awsdb_efm import EfmSettings, HostMonitor


class _Cursor:
    def __init__(self, conn: _Conn) -> None:
        self.conn = conn

    def execute(self, sql: str) -> None:
        assert sql == "SELECT 1"
        driver = self.conn.driver
        assert driver is not None
        driver.probe(self.conn)

    def fetchall(self) -> list[tuple[int]]:
        return [(1,)]

    def close(self) -> None:
        pass


class _Conn:
    def __init__(self, driver: _Driver | None = None) -> None:
        self.driver = driver
        self.closed = False
        self.autocommit = False
        self.aborted = threading.Event()

    def cursor(self) -> _Cursor:
        return _Cursor(self)

    def close(self) -> None:
        self.closed = True


class _Driver:
    """Probes answer from ``script`` (True: ok, False: fail, "hang": block until aborted)."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.aborted: list[Any] = []

    def set_autocommit(self, conn: _Conn, value: bool) -> None:
        conn.autocommit = value

    def probe(self, conn: _Conn) -> None:
        assert conn.autocommit  # one round trip: no BEGIN / ROLLBACK around the probe
        outcome = self.script.pop(0)
        if outcome == "hang":
            assert conn.aborted.wait(30)
            raise OSError("aborted")
        if not outcome:
            raise OSError("probe failed")

    def abort(self, conn: _Conn) -> None:
        self.aborted.append(conn)
        conn.aborted.set()


class _Service:
    def __init__(self) -> None:
        self.aborts = 0

    def abort_current(self) -> None:
        self.aborts += 1


HOST = HostInfo("db-1.example", 5432)


def _monitor(script: list[Any], count: int) -> tuple[HostMonitor, _Driver, list[_Conn]]:
    driver = _Driver(script)
    opened: list[_Conn] = []

    def connect() -> _Conn:
        conn = _Conn(driver)
        opened.append(conn)
        return conn

    settings = EfmSettings(grace_ms=0, interval_ms=1000, count=count)
    monitor = HostMonitor(HOST, settings, driver, connect, HostAvailabilityRegistry())  # type: ignore[arg-type]
    return monitor, driver, opened


def test_idle_monitor_does_not_probe() -> None:
    monitor, _, opened = _monitor([], count=1)
    assert monitor.step() > 0
    assert monitor.probes == 0 and not opened


def test_short_calls_do_not_wake_an_idle_monitor() -> None:
    settings = EfmSettings(grace_ms=30_000, interval_ms=5000, count=3)
    monitor = HostMonitor(HOST, settings, _Driver([]), _Conn, HostAvailabilityRegistry())  # type: ignore[arg-type]
    # idle: look again after one grace period, less the lead for opening the probe
    # connection ahead (connect timeout 3 s + 0.5 s)
    assert monitor.step() == 26.5
    service = _Service()
    for _ in range(100):
        monitor.stop_monitoring(monitor.start_monitoring(weakref.ref(service)))  # type: ignore[arg-type]
    assert not monitor._wakeup.is_set()
    ctx = monitor.start_monitoring(weakref.ref(service))  # type: ignore[arg-type]
    assert 26 < monitor.step() <= 26.5  # in flight: planned for the lead before it is active
    monitor.stop_monitoring(ctx)


def test_count_consecutive_failures_declare_dead() -> None:
    monitor, _, opened = _monitor([False, True, False, False, False], count=3)
    service = _Service()
    ctx = monitor.start_monitoring(weakref.ref(service))  # type: ignore[arg-type]
    monitor.step()  # fail 1 (the connection is dropped)
    monitor.step()  # reconnect, ok: the count restarts
    monitor.step()  # fail 1
    monitor.step()  # reconnect, fail 2
    assert monitor.verdicts == 0 and service.aborts == 0
    monitor.step()  # reconnect, fail 3: dead
    assert monitor.verdicts == 1 and service.aborts == 1 and ctx.aborted
    assert monitor.probes == 5 and monitor.failed_probes == 4
    monitor.stop_monitoring(ctx)
    monitor.close()
    assert len(opened) == 4 and all(c.closed for c in opened)


def test_verdict_aborts_only_calls_in_flight() -> None:
    monitor, _, _ = _monitor([False, True], count=1)
    running, finished = _Service(), _Service()
    ctx_running = monitor.start_monitoring(weakref.ref(running))  # type: ignore[arg-type]
    ctx_finished = monitor.start_monitoring(weakref.ref(finished))  # type: ignore[arg-type]
    gone = _Service()
    monitor.start_monitoring(weakref.ref(gone))  # type: ignore[arg-type]
    del gone
    gc.collect()
    monitor.stop_monitoring(ctx_finished)
    monitor.step()  # fails: the host is dead
    assert monitor.verdicts == 1
    assert running.aborts == 1 and ctx_running.aborted
    assert finished.aborts == 0 and not ctx_finished.aborted
    registry = monitor._availability
    assert registry.apply([HOST])[0].availability is HostAvailability.UNAVAILABLE
    monitor.step()  # the next probe reconnects; an aborted call is not aborted twice
    assert running.aborts == 1
    monitor.close()


def test_watchdog_aborts_a_hanging_probe() -> None:
    monitor, driver, opened = _monitor(["hang"], count=1)
    service = _Service()
    monitor.start_monitoring(weakref.ref(service))  # type: ignore[arg-type]
    monitor.step()  # the probe hangs until the watchdog aborts it
    assert driver.aborted == [opened[0]]
    assert opened[0].closed  # closed by the monitor itself, after the watchdog let go
    assert monitor.verdicts == 1 and service.aborts == 1
    monitor.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("awsdb-efm-watchdog")]


def test_interrupt_aborts_the_probe_connection() -> None:
    monitor, driver, opened = _monitor([True], count=1)
    service = _Service()
    monitor.start_monitoring(weakref.ref(service))  # type: ignore[arg-type]
    monitor.step()
    monitor.interrupt()
    assert driver.aborted == [opened[0]]
    monitor.close()


def test_grace_period_defers_probing() -> None:
    driver = _Driver([])
    settings = EfmSettings(grace_ms=60_000, interval_ms=1000, count=1)
    monitor = HostMonitor(HOST, settings, driver, _Conn, HostAvailabilityRegistry())  # type: ignore[arg-type]
    service = _Service()
    ctx = monitor.start_monitoring(weakref.ref(service))  # type: ignore[arg-type]
    delay = monitor.step()
    assert 50 < delay <= 60 and monitor.probes == 0
    monitor.stop_monitoring(ctx)
    assert monitor.monitored == 0


def test_settings_timeouts() -> None:
    assert EfmSettings(6000, 1000, 1).probe_timeout_s == 0.45
    assert EfmSettings(30000, 5000, 3).probe_timeout_s == 2.45
    assert EfmSettings(1000, 200, 2).probe_timeout_s == 0.2
    assert EfmSettings(30000, 5000, 3).connect_timeout_s == 3
    assert EfmSettings(30000, 20000, 3).connect_timeout_s == 10
    assert EfmSettings(1000, 300, 2).connect_timeout_s == 1


def _wait_for(predicate: Any) -> bool:
    for _ in range(1000):
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def test_watchdog_gives_an_answered_probe_one_more_timeout() -> None:
    from awsdb_efm._monitor import _Watchdog

    aborted: list[Any] = []
    watchdog = _Watchdog("awsdb-efm-watchdog test", aborted.append, answered=lambda c: True)
    conn = _Conn()
    try:
        watchdog.arm(0.01, conn)
        assert _wait_for(lambda: watchdog.extended == 1 or aborted)
        assert watchdog.extended == 1
        # the extension is granted once: still unread after it, the probe is aborted
        assert _wait_for(lambda: bool(aborted))
        assert aborted == [conn] and watchdog.extended == 1
    finally:
        watchdog.stop()


def test_watchdog_aborts_an_unanswered_probe_at_once() -> None:
    from awsdb_efm._monitor import _Watchdog

    aborted: list[Any] = []
    watchdog = _Watchdog("awsdb-efm-watchdog test", aborted.append, answered=lambda c: False)
    conn = _Conn()
    try:
        watchdog.arm(0.01, conn)
        assert _wait_for(lambda: bool(aborted))
        assert aborted == [conn] and watchdog.extended == 0
    finally:
        watchdog.stop()


def test_reply_waiting_reads_the_socket_state() -> None:
    import socket

    from awsdb_efm._monitor import _reply_waiting

    class _PgLike:
        def __init__(self, sock: socket.socket) -> None:
            self._sock = sock

        def fileno(self) -> int:
            return self._sock.fileno()

    a, b = socket.socketpair()
    try:
        conn = _PgLike(a)
        assert not _reply_waiting(conn)
        b.sendall(b"Z")
        assert _wait_for(lambda: _reply_waiting(conn))
        assert not _reply_waiting(object())  # unknown connection kind: no
    finally:
        a.close()
        b.close()


def test_probe_connection_opens_ahead_of_the_grace_end() -> None:
    opened: list[_Conn] = []
    driver = _Driver([True])

    def connect() -> _Conn:
        conn = _Conn(driver)
        opened.append(conn)
        return conn

    # grace 1 s < the 1.5 s lead (connect timeout 1 s + 0.5 s): open at once
    settings = EfmSettings(grace_ms=1000, interval_ms=1000, count=1)
    monitor = HostMonitor(HOST, settings, driver, connect, HostAvailabilityRegistry())  # type: ignore[arg-type]
    service = _Service()
    ctx = monitor.start_monitoring(weakref.ref(service))  # type: ignore[arg-type]
    assert monitor.step() <= 1.0
    assert len(opened) == 1 and opened[0].autocommit
    assert monitor.probes == 0  # opening it is not a probe
    assert monitor.step() <= 1.0  # until then: no second connection
    assert len(opened) == 1
    monitor.stop_monitoring(ctx)
    monitor.close()
    assert opened[0].closed


def test_failed_connect_ahead_is_not_a_failed_probe() -> None:
    attempts: list[int] = []

    def connect() -> _Conn:
        attempts.append(1)
        raise OSError("refused")

    settings = EfmSettings(grace_ms=1000, interval_ms=1000, count=1)
    monitor = HostMonitor(HOST, settings, _Driver([]), connect, HostAvailabilityRegistry())  # type: ignore[arg-type]
    service = _Service()
    ctx = monitor.start_monitoring(weakref.ref(service))  # type: ignore[arg-type]
    monitor.step()
    monitor.step()  # not retried for the same call: its first probe will connect
    assert attempts == [1]
    assert monitor.probes == 0 and monitor.failed_probes == 0 and monitor.verdicts == 0
    monitor.stop_monitoring(ctx)
    monitor.close()


def test_connect_ahead_still_failing_at_activation_is_a_failed_probe() -> None:
    def connect() -> _Conn:
        time.sleep(0.3)  # longer than the grace period: the call is active when it fails
        raise OSError("timed out")

    settings = EfmSettings(grace_ms=100, interval_ms=1000, count=1)
    monitor = HostMonitor(HOST, settings, _Driver([]), connect, HostAvailabilityRegistry())  # type: ignore[arg-type]
    service = _Service()
    ctx = monitor.start_monitoring(weakref.ref(service))  # type: ignore[arg-type]
    monitor.step()
    assert monitor.probes == 1 and monitor.failed_probes == 1
    assert monitor.verdicts == 1 and service.aborts == 1 and ctx.aborted
    monitor.stop_monitoring(ctx)
    monitor.close()
