"""Blue/green phases and roles, parsed from the deployment's status metadata."""

from __future__ import annotations

import enum

__all__ = ["BlueGreenError", "Phase", "Role", "parse_phase", "parse_role"]


class BlueGreenError(Exception):
    """A blue/green status row that cannot be understood (unknown status or role)."""


class Phase(enum.IntEnum):
    """Switchover phase; the order is the order a switchover goes through."""

    NOT_CREATED = 0
    CREATED = 1
    PREPARATION = 2
    IN_PROGRESS = 3
    POST = 4
    COMPLETED = 5

    @property
    def active(self) -> bool:
        """True from PREPARATION on: a switchover is running or done."""
        return self >= Phase.PREPARATION


class Role(enum.Enum):
    """Side of a deployment a status row describes."""

    SOURCE = "BLUE_GREEN_DEPLOYMENT_SOURCE"
    TARGET = "BLUE_GREEN_DEPLOYMENT_TARGET"


_STATUS = {
    "AVAILABLE": Phase.CREATED,
    "SWITCHOVER_INITIATED": Phase.PREPARATION,
    "SWITCHOVER_IN_PROGRESS": Phase.IN_PROGRESS,
    "SWITCHOVER_IN_POST_PROCESSING": Phase.POST,
    "SWITCHOVER_COMPLETED": Phase.COMPLETED,
}


def parse_phase(status: str | None) -> Phase:
    """Map an RDS status string to its phase; empty or missing is NOT_CREATED.

    An unknown status is a :class:`BlueGreenError`."""
    if status is None or not status.strip():
        return Phase.NOT_CREATED
    try:
        return _STATUS[status.strip().upper()]
    except KeyError:
        raise BlueGreenError(f"unknown blue/green status {status!r}") from None


def parse_role(role: str) -> Role:
    """Map a metadata role string to SOURCE (blue) or TARGET (green); others are errors."""
    try:
        return Role(role.strip().upper())
    except ValueError:
        raise BlueGreenError(f"unknown blue/green role {role!r}") from None
