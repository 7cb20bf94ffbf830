"""Status and role parsing (pure logic)."""

from __future__ import annotations

import pytest

from awsdb_bluegreen import BlueGreenError, Phase, Role, parse_phase, parse_role


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        (None, Phase.NOT_CREATED),
        ("", Phase.NOT_CREATED),
        ("AVAILABLE", Phase.CREATED),
        ("SWITCHOVER_INITIATED", Phase.PREPARATION),
        ("switchover_in_progress", Phase.IN_PROGRESS),
        ("SWITCHOVER_IN_POST_PROCESSING", Phase.POST),
        ("SWITCHOVER_COMPLETED", Phase.COMPLETED),
    ],
)
def test_status_maps_to_phase(status: str | None, phase: Phase) -> None:
    assert parse_phase(status) is phase


def test_unknown_status_and_role_are_errors() -> None:
    with pytest.raises(BlueGreenError, match="SWITCHING"):
        parse_phase("SWITCHING")
    with pytest.raises(BlueGreenError, match="PRIMARY"):
        parse_role("PRIMARY")


def test_roles() -> None:
    assert parse_role("BLUE_GREEN_DEPLOYMENT_SOURCE") is Role.SOURCE
    assert parse_role("blue_green_deployment_target") is Role.TARGET


def test_active_from_preparation() -> None:
    assert [p.active for p in Phase] == [False, False, True, True, True, True]
