"""The status monitor of one side (blue SOURCE or green TARGET) of a deployment.

It runs in the core's monitor service (one per ``bg_id`` and role), polls the dialect's
blue/green metadata on its own autocommit connection (the ``blue-green-monitoring-``
properties), dialled by IP when the address is known, resolves its side's names through the
process resolver and feeds the shared :class:`~awsdb_bluegreen._deployment.Deployment`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from awsdb.hosts import HostInfo
from awsdb.monitors import Monitor
from awsdb_bluegreen._phase import Role
from awsdb_bluegreen._routing import Endpoint
from awsdb_bluegreen._status import side_from_rows

if TYPE_CHECKING:
    from awsdb.dialects import DatabaseDialect
    from awsdb.drivers import DriverDialect
    from awsdb.resolver import HostResolver
    from awsdb_bluegreen._deployment import Deployment

__all__ = ["SideMonitor", "grants_message"]

_LOG = logging.getLogger("awsdb.bluegreen")


def grants_message(role: Role, dialect_code: str) -> str:
    """Why a side's metadata is unreadable, naming the grants to give."""
    return (
        f"no blue/green metadata readable on the {role.name} side through the "
        f"{dialect_code!r} dialect: the engine lacks it, or the user lacks the grants "
        "(MySQL: GRANT SELECT ON mysql.rds_topology; RDS PostgreSQL: GRANT USAGE ON "
        "SCHEMA rds_tools and GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA rds_tools; give "
        "them before creating the deployment so they replicate to green)"
    )


class SideMonitor(Monitor):
    """Polls one side's blue/green status for a :class:`Deployment`."""

    def __init__(
        self,
        role: Role,
        deployment: Deployment,
        *,
        seed: Endpoint,
        connect: Callable[[HostInfo], Any],
        driver: DriverDialect,
        dialect: DatabaseDialect,
        resolver: HostResolver,
        query_timeout_s: float,
    ) -> None:
        super().__init__()
        self.role = role
        self.deployment = deployment
        self._seed = seed
        self._connect = connect
        self._driver = driver
        self._dialect = dialect
        self._resolver = resolver
        self._timeout_s = query_timeout_s
        self._conn: Any = None
        self._conn_ip: str | None = None
        self._reset = threading.Event()
        self.resets = 0
        """How many times the monitor was re-created after a completed switchover."""
        deployment.add_monitor(self.wake, self.request_reset)

    def twin(self, role: Role) -> SideMonitor:
        """A monitor of ``role`` for the same deployment, with the same connection settings."""
        return SideMonitor(
            role,
            self.deployment,
            seed=self._seed,
            connect=self._connect,
            driver=self._driver,
            dialect=self._dialect,
            resolver=self._resolver,
            query_timeout_s=self._timeout_s,
        )

    # ------------------------------------------------------------------ monitor loop

    def step(self) -> float:
        """One poll: connect if needed, read the metadata, resolve, report."""
        dep = self.deployment
        if self._reset.is_set():
            self._reset.clear()
            self._close()
            self.resets += 1
        if self._conn is None and not self._open():
            return dep.interval(self._target() is None)
        try:
            rows = self._dialect.blue_green_status(self._query)
        except Exception as exc:
            if self._driver.is_network_error(exc) or self._driver.is_closed(self._conn):
                _LOG.debug("blue/green %s status read failed: %s", self.role.name, exc)
                self._close()
                dep.update(self.role, None, None, {})
                return dep.interval(False)
            # the metadata exists but cannot be read (permissions): a clear, logged error
            message = grants_message(self.role, self._dialect.code)
            dep.report_error(self.role, f"{message}; {type(exc).__name__}: {exc}")
            dep.update(self.role, None, None, self._resolve(set()))
            return dep.interval(True)
        if rows is None and self._driver.is_closed(self._conn):
            self._close()  # the availability check failed on a lost connection
            dep.update(self.role, None, None, {})
            return dep.interval(False)
        if rows is None:
            dep.report_error(self.role, grants_message(self.role, self._dialect.code))
            dep.update(self.role, None, None, self._resolve(set()))
            return dep.interval(True)
        dep.report_error(self.role, None)
        other_role = Role.TARGET if self.role is Role.SOURCE else Role.SOURCE
        own = side_from_rows(rows, self.role)
        other = side_from_rows(rows, other_role)
        resolved = self._resolve(set(own.endpoints))
        dep.update(self.role, own, other, resolved)
        if own.status_endpoint is not None:
            ip = resolved.get(own.status_endpoint)
            if ip is not None and self._conn_ip is not None and ip != self._conn_ip:
                self._close()  # the status endpoint moved: reconnect there
        return dep.interval(True)

    def request_reset(self) -> None:
        """Re-create the monitor's connection and state on its next step (thread-safe)."""
        self._reset.set()
        self.wake()

    def interrupt(self) -> None:
        """Abort the monitoring connection under a blocked read."""
        conn = self._conn
        if conn is not None:
            try:
                self._driver.abort(conn)
            except Exception as exc:
                _LOG.debug("aborting the blue/green monitoring connection failed: %s", exc)

    def close(self) -> None:
        """Close the monitoring connection (on the monitor's thread)."""
        self._close()

    # ------------------------------------------------------------------ internals

    def _target(self) -> Endpoint | None:
        hint = self.deployment.hint(self.role)
        if hint is not None:
            return hint
        return self._seed if self.role is Role.SOURCE else None

    def _open(self) -> bool:
        target = self._target()
        if target is None:
            return False
        ip = self._resolver.resolve(target.host)
        host = HostInfo(target.host, target.port, dial_address=ip)
        try:
            conn = self._connect(host)
            self._driver.set_autocommit(conn, True)
        except Exception as exc:
            _LOG.debug(
                "blue/green %s monitor cannot connect to %s: %s", self.role.name, host.url, exc
            )
            return False
        self._conn, self._conn_ip = conn, ip
        return True

    def _query(self, sql: str, params: Sequence[object] | None) -> list[tuple[Any, ...]]:
        return self._driver.run_aux_query(self._conn, sql, params, self._timeout_s)

    def _resolve(self, extra: set[Endpoint]) -> dict[Endpoint, str | None]:
        names = self.deployment.names_to_resolve(self.role) | extra
        return {ep: self._resolver.resolve(ep.host) for ep in names}

    def _close(self) -> None:
        conn, self._conn, self._conn_ip = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception as exc:
                _LOG.debug("closing the blue/green monitoring connection failed: %s", exc)
