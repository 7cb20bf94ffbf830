"""One side's status, read from the dialect's blue/green metadata rows."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Sequence

from awsdb.dialects import DatabaseDialect
from awsdb.dialects._base import AuxQuery
from awsdb_bluegreen._phase import BlueGreenError, Phase, Role, parse_phase, parse_role
from awsdb_bluegreen._routing import Endpoint

__all__ = ["SideStatus", "read_side", "require_side", "side_from_rows"]

_LOG = logging.getLogger("awsdb.bluegreen")
_KNOWN_VERSION = "1.0"
_OLD1 = re.compile(r".*-old1\.", re.IGNORECASE)
_WRITER_CLUSTER = re.compile(r"^[^.]+\.cluster-(?!ro-|custom-)", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class SideStatus:
    """What one side (blue SOURCE or green TARGET) reports: its phase and endpoints.

    ``phase`` comes from the writer-cluster row when there is one, otherwise from the first
    instance row; ``-old1`` hosts are ignored."""

    role: Role
    phase: Phase
    endpoints: frozenset[Endpoint]
    status_endpoint: Endpoint | None


def side_from_rows(rows: Sequence[Sequence[object]], role: Role) -> SideStatus:
    """Build ``role``'s status from ``(version, endpoint, port, role, status)`` rows.

    No row for the role (metadata gone) gives NOT_CREATED; unknown statuses and roles raise
    :class:`~awsdb_bluegreen.BlueGreenError`."""
    mine: list[tuple[Endpoint, Phase]] = []
    for version, endpoint, port, row_role, status in rows:
        if parse_role(str(row_role)) is not role:
            continue
        host = str(endpoint)
        if _OLD1.match(host):
            continue
        if str(version) != _KNOWN_VERSION:
            _LOG.warning("blue/green metadata version %r read as %s", version, _KNOWN_VERSION)
        phase = parse_phase(None if status is None else str(status))
        mine.append((Endpoint(host, int(str(port))), phase))
    if not mine:
        return SideStatus(role, Phase.NOT_CREATED, frozenset(), None)
    writer = [m for m in mine if _WRITER_CLUSTER.match(m[0].host)]
    chosen = writer[0] if writer else mine[0]
    return SideStatus(role, chosen[1], frozenset(e for e, _ in mine), chosen[0])


def read_side(dialect: DatabaseDialect, query: AuxQuery, role: Role) -> SideStatus | None:
    """Read ``role``'s status through ``dialect``; ``None`` when the server offers no
    blue/green metadata (availability check failed: missing function, table or grants)."""
    rows = dialect.blue_green_status(query)
    if rows is None:
        return None
    return side_from_rows(rows, role)


def require_side(dialect: DatabaseDialect, query: AuxQuery, role: Role) -> SideStatus:
    """Like :func:`read_side`, but a server without readable metadata is a
    :class:`~awsdb_bluegreen.BlueGreenError` that names the grants to give."""
    side = read_side(dialect, query, role)
    if side is None:
        raise BlueGreenError(
            f"no blue/green metadata readable on the {role.name} side through the "
            f"{dialect.code!r} dialect: the engine lacks it, or the user lacks the grants "
            "(MySQL: GRANT SELECT ON mysql.rds_topology; RDS PostgreSQL: GRANT USAGE ON "
            "SCHEMA rds_tools and GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA rds_tools; give "
            "them before creating the deployment so they replicate to green)"
        )
    return side
