"""Suspending a connect or call while a switchover is IN_PROGRESS, with a bound."""

from __future__ import annotations

from awsdb.errors import OperationalError
from awsdb_bluegreen._phase import Phase
from awsdb_bluegreen._tracker import PhaseTracker

__all__ = ["SwitchoverTimeoutError", "suspend_while_in_progress"]


class SwitchoverTimeoutError(OperationalError):
    """A connect or call suspended by a switchover waited longer than
    ``bg_connect_timeout_ms`` (a DB-API ``OperationalError``)."""


def suspend_while_in_progress(tracker: PhaseTracker, timeout_s: float) -> Phase:
    """Wait until the phase leaves IN_PROGRESS (the switchover timer counts meanwhile) and
    return the new phase; :class:`SwitchoverTimeoutError` after ``timeout_s``."""
    phase = tracker.wait_while(Phase.IN_PROGRESS, timeout_s)
    if phase is Phase.IN_PROGRESS:
        raise SwitchoverTimeoutError(
            f"blue/green switchover still in progress after {timeout_s:g} s (bg_connect_timeout_ms)"
        )
    return phase
