"""Small value types shared by the PostgreSQL and MariaDB cluster harnesses."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FailoverReport", "NodeInfo", "TopologyRow"]


@dataclass(frozen=True)
class NodeInfo:
    """One server of a local cluster.

    ``instance_id`` is what the Aurora emulation reports (``aurora_db_instance_identifier()`` /
    ``@@aurora_server_id``); ``host``/``port`` is the TCP address clients and replicas use;
    ``name`` is the Aurora-shaped instance host name that the process resolver maps to
    ``host`` (for example ``instance-1.c0ffee.us-east-1.rds.amazonaws.com``).
    """

    instance_id: str
    host: str
    port: int
    name: str
    pid: int | None = None


@dataclass(frozen=True)
class TopologyRow:
    """A membership row for static-mode topology injection."""

    server_id: str
    is_writer: bool
    cpu: float = 0.0
    replica_lag_ms: float | None = None
    last_update_age_s: float | None = None  # None = "now"; 600 = a stale row
    hidden: bool = False


@dataclass
class FailoverReport:
    """What a failover did, with each step timed in seconds from the kill/stop."""

    old_writer: str
    new_writer: str
    method: str  # "kill" | "stop"
    steps: dict[str, float] = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)  # replicas restarted or re-cloned
    started_at: float = 0.0  # time.monotonic() just before the kill/stop

    @property
    def writable_s(self) -> float | None:
        """Seconds from the kill until the new writer accepted its first write."""
        return self.steps.get("writable")

    @property
    def converged_s(self) -> float | None:
        """Seconds until every live node reported the new writer."""
        return self.steps.get("converged")
