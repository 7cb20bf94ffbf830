"""The phase state machine with a fake clock (pure logic)."""

from __future__ import annotations

from awsdb_bluegreen import Phase, PhaseTracker, Role


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _tracker(timeout_s: float = 180.0) -> tuple[PhaseTracker, _Clock]:
    clock = _Clock()
    return PhaseTracker(timeout_s, clock), clock


def test_forward_moves() -> None:
    t, _ = _tracker()
    for phase in (Phase.CREATED, Phase.PREPARATION, Phase.IN_PROGRESS, Phase.POST):
        assert t.report(Role.SOURCE, phase) is phase
    assert t.report(Role.TARGET, Phase.COMPLETED) is Phase.COMPLETED


def test_backward_from_blue_is_ignored() -> None:
    t, _ = _tracker()
    t.report(Role.SOURCE, Phase.IN_PROGRESS)
    assert t.report(Role.SOURCE, Phase.CREATED) is Phase.IN_PROGRESS
    assert not t.rolled_back


def test_rollback_from_preparation_recognised_from_green() -> None:
    t, _ = _tracker()
    t.report(Role.SOURCE, Phase.CREATED)
    t.report(Role.TARGET, Phase.PREPARATION)
    assert t.report(Role.TARGET, Phase.CREATED) is Phase.CREATED
    assert t.rolled_back


def test_unreadable_and_not_created_are_not_rollbacks() -> None:
    t, _ = _tracker()
    t.report(Role.TARGET, Phase.IN_PROGRESS)
    assert t.report(Role.TARGET, None) is Phase.IN_PROGRESS
    assert t.report(Role.TARGET, Phase.NOT_CREATED) is Phase.IN_PROGRESS
    assert not t.rolled_back


def test_stuck_in_progress_times_out_without_any_report() -> None:
    t, clock = _tracker(timeout_s=10.0)
    t.report(Role.SOURCE, Phase.PREPARATION)
    t.report(Role.SOURCE, Phase.IN_PROGRESS)
    clock.now = 9.9
    assert t.phase() is Phase.IN_PROGRESS
    clock.now = 10.0
    assert t.phase() is Phase.COMPLETED
    # the stuck metadata keeps saying IN_PROGRESS: not a rollback, still completed
    assert t.report(Role.TARGET, Phase.IN_PROGRESS) is Phase.COMPLETED


def test_timeout_after_rollback_forces_created() -> None:
    t, clock = _tracker(timeout_s=10.0)
    t.report(Role.TARGET, Phase.IN_PROGRESS)
    assert t.report(Role.TARGET, Phase.PREPARATION) is Phase.PREPARATION
    assert t.rolled_back
    clock.now = 11.0
    assert t.phase() is Phase.CREATED


def test_green_lagging_behind_blue_is_not_a_rollback() -> None:
    t, _ = _tracker()
    t.report(Role.TARGET, Phase.PREPARATION)
    t.report(Role.SOURCE, Phase.IN_PROGRESS)
    assert t.report(Role.TARGET, Phase.PREPARATION) is Phase.IN_PROGRESS
    assert not t.rolled_back


def test_two_switchovers_in_a_row() -> None:
    t, clock = _tracker(timeout_s=10.0)
    for start in (0.0, 100.0):
        clock.now = start
        assert t.report(Role.SOURCE, Phase.CREATED) is Phase.CREATED
        t.report(Role.SOURCE, Phase.PREPARATION)
        t.report(Role.SOURCE, Phase.IN_PROGRESS)
        clock.now = start + 5.0
        assert t.phase() is Phase.IN_PROGRESS
        t.report(Role.SOURCE, Phase.COMPLETED)
        # a deployment deleted then re-created restarts the cycle
        assert t.report(Role.SOURCE, Phase.NOT_CREATED) is Phase.NOT_CREATED


def test_wait_while_returns_on_change() -> None:
    t, _ = _tracker()
    t.report(Role.SOURCE, Phase.POST)
    assert t.wait_while(Phase.IN_PROGRESS, 5.0) is Phase.POST


def test_blue_repeating_its_phase_after_a_rollback_does_not_undo_it() -> None:
    t, _ = _tracker()
    t.report(Role.SOURCE, Phase.PREPARATION)
    t.report(Role.TARGET, Phase.PREPARATION)
    assert t.report(Role.TARGET, Phase.CREATED) is Phase.CREATED
    assert t.report(Role.SOURCE, Phase.PREPARATION) is Phase.CREATED  # blue lags behind
    assert t.report(Role.SOURCE, Phase.CREATED) is Phase.CREATED
    assert t.report(Role.SOURCE, Phase.PREPARATION) is Phase.PREPARATION  # a new attempt
