"""Unit tests of the preferred-monitoring-connection logic (no server)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from awsdb._topology_upgrade import MonitorUpgrade, prefers_reader
from awsdb.hosts import HostInfo


@pytest.mark.parametrize(
    ("priority", "expected"),
    [
        ("strict-reader", True),
        ("strict-reader,strict-writer", True),
        (" STRICT_READER , writer-or-reader", True),
        ("strict-writer", False),
        ("writer-or-reader,strict-reader", False),
        ("", False),
        (None, False),
    ],
)
def test_prefers_reader(priority: object, expected: bool) -> None:
    assert prefers_reader(priority) is expected


class _Conn:
    def __init__(self, host: HostInfo) -> None:
        self.host = host
        self.closed = False


def _upgrade(accept: bool, gate: threading.Event | None = None) -> tuple[MonitorUpgrade, list[Any]]:
    closed: list[Any] = []

    def open_(host: HostInfo) -> _Conn:
        if gate is not None:
            gate.wait(5)
        if host.host == "down":
            raise OSError("refused")
        return _Conn(host)

    def close(conn: Any) -> None:
        conn.closed = True
        closed.append(conn)

    return MonitorUpgrade("t-upgrade", open_, lambda conn: accept, close), closed


def _wait_idle(upgrade: MonitorUpgrade) -> None:
    for _ in range(500):
        thread = upgrade._thread
        if thread is None or not thread.is_alive():
            return
        thread.join(0.01)
    raise AssertionError("upgrade thread still running")


def test_an_accepted_connection_is_taken_once() -> None:
    upgrade, closed = _upgrade(accept=True)
    host = HostInfo("r1", 5432)
    assert upgrade.start(host)
    _wait_idle(upgrade)
    assert upgrade.busy  # the result waits
    assert not upgrade.start(HostInfo("r2", 5432))
    got = upgrade.take()
    assert got is not None and got[1] is host and got[0].host is host
    assert upgrade.take() is None and not upgrade.busy
    upgrade.close(5.0)
    assert closed == []


def test_a_refused_role_is_closed_and_a_failed_connect_leaves_nothing() -> None:
    upgrade, closed = _upgrade(accept=False)
    assert upgrade.start(HostInfo("r1", 5432))
    _wait_idle(upgrade)
    assert upgrade.take() is None and len(closed) == 1
    assert upgrade.start(HostInfo("down", 5432))
    _wait_idle(upgrade)
    assert upgrade.take() is None and len(closed) == 1
    upgrade.close(5.0)


def test_close_waits_and_closes_an_untaken_result() -> None:
    gate = threading.Event()
    upgrade, closed = _upgrade(accept=True, gate=gate)
    assert upgrade.start(HostInfo("r1", 5432))
    assert upgrade.busy
    gate.set()
    upgrade.close(5.0)
    assert len(closed) == 1 and closed[0].closed
    assert not upgrade.start(HostInfo("r1", 5432))  # closed for good
