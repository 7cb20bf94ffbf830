"""Suspension while IN_PROGRESS: released by a phase change or the switchover timer,
bounded by the connect timeout (pure logic with threads, no timing assertion)."""

from __future__ import annotations

import threading

import pytest

from awsdb.errors import OperationalError
from awsdb_bluegreen import (
    Phase,
    PhaseTracker,
    Role,
    SwitchoverTimeoutError,
    suspend_while_in_progress,
)


def test_released_by_phase_change() -> None:
    tracker = PhaseTracker(180.0)
    tracker.report(Role.SOURCE, Phase.IN_PROGRESS)
    results: list[Phase] = []
    waiter = threading.Thread(
        target=lambda: results.append(suspend_while_in_progress(tracker, 60.0))
    )
    waiter.start()
    tracker.report(Role.TARGET, Phase.POST)
    waiter.join(30)
    assert not waiter.is_alive()
    assert results == [Phase.POST]


def test_stuck_in_progress_released_by_switchover_timer() -> None:
    tracker = PhaseTracker(0.05)
    tracker.report(Role.SOURCE, Phase.IN_PROGRESS)
    assert suspend_while_in_progress(tracker, 60.0) is Phase.COMPLETED


def test_connect_timeout_is_a_dbapi_error() -> None:
    tracker = PhaseTracker(180.0)
    tracker.report(Role.SOURCE, Phase.IN_PROGRESS)
    with pytest.raises(SwitchoverTimeoutError, match="bg_connect_timeout_ms") as info:
        suspend_while_in_progress(tracker, 0.0)
    assert isinstance(info.value, OperationalError)
