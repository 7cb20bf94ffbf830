"""Blue/green deployment emulation for Aurora PostgreSQL and RDS PostgreSQL.

Two independent clusters (blue on ``127.0.0.11…``, green on ``127.0.0.21…``, one port),
the blue/green metadata that the dialects read
(``pg_catalog.get_blue_green_fast_switchover_metadata`` for aurora-pg,
``rds_tools.show_topology`` for rds-pg), a status kept per node (so the two sides, or two
nodes, can disagree), a controller that moves the status through the phases, and the host
names of both sides in the process resolver, remapped per phase.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import string
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql

from awsdb_testing.pg.cluster import PgCluster, PgClusterConfig
from awsdb_testing.pg.names import ClusterNames, random_cluster_hash

__all__ = ["PHASES", "SOURCE", "TARGET", "PgBlueGreen", "SwitchoverWorkload", "WorkloadResult"]

PHASES = (
    "AVAILABLE",
    "SWITCHOVER_INITIATED",
    "SWITCHOVER_IN_PROGRESS",
    "SWITCHOVER_IN_POST_PROCESSING",
    "SWITCHOVER_COMPLETED",
)
SOURCE = "BLUE_GREEN_DEPLOYMENT_SOURCE"
TARGET = "BLUE_GREEN_DEPLOYMENT_TARGET"


class PgBlueGreen:
    """A blue and a green cluster with blue/green metadata and a phase controller."""

    def __init__(
        self,
        *,
        nodes: int = 2,
        flavor: str = "aurora-pg",
        name: str = "awsdb",
        cluster_hash: str | None = None,
        blue_first_octet: int = 11,
        green_first_octet: int = 21,
    ) -> None:
        digits = string.ascii_lowercase + string.digits
        self.green_suffix = "-green-" + "".join(secrets.choice(digits) for _ in range(6))
        chash = cluster_hash or random_cluster_hash()
        self.blue = PgCluster(
            PgClusterConfig(
                nodes=nodes,
                first_octet=blue_first_octet,
                name=name,
                cluster_hash=chash,
                flavor=flavor,
            )
        )
        self._green_cfg = PgClusterConfig(
            nodes=nodes,
            first_octet=green_first_octet,
            name=name,
            cluster_hash=chash,
            flavor=flavor,
            instance_suffix=self.green_suffix,
        )
        self.green: PgCluster | None = None
        self.phase = ""  # "" = no deployment
        self._installed: dict[str, str] = {}
        self.blue_names = self.blue.names
        self.green_names = ClusterNames(name, chash, self.blue.names.region, self.green_suffix)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> PgBlueGreen:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> PgBlueGreen:
        """Start both clusters (green on blue's port) and create the metadata (AVAILABLE)."""
        try:
            self.blue.start()
            self._green_cfg.port = self.blue.nodes[0].port
            self.green = PgCluster(self._green_cfg)
            self.green.start()
            self.create_metadata()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Remove the names and stop both clusters."""
        self.uninstall_names()
        if self.green is not None:
            self.green.close()
        self.blue.close()

    @property
    def _green(self) -> PgCluster:
        if self.green is None:
            raise RuntimeError("the blue/green deployment is not started")
        return self.green

    # ------------------------------------------------------------------ metadata

    def metadata_rows(self, *, switched: bool = False) -> list[tuple[int, str, int, str]]:
        """``(id, endpoint, port, role)`` rows; after the switchover blue names are ``-old1``
        names and green carries the blue names."""
        port = self.blue.nodes[0].port
        rows: list[tuple[int, str, int, str]] = []
        for side, cluster, names in (
            (SOURCE, self.blue, self.blue_names),
            (TARGET, self._green, self.green_names),
        ):
            endpoints = [names.writer_endpoint, names.reader_endpoint]
            endpoints += [names.instance(n.instance_id) for n in cluster.nodes]
            if switched and side == SOURCE:
                endpoints = [_old1(e) for e in endpoints]
            if switched and side == TARGET:
                endpoints = [e.replace(self.green_suffix, "") for e in endpoints]
            base = 100 if side == SOURCE else 200
            rows += [(base + i, e, port, side) for i, e in enumerate(endpoints)]
        return rows

    def create_metadata(self, status: str = "AVAILABLE") -> None:
        """Write the metadata rows into both clusters and set ``status`` on every node."""
        self._write_rows(switched=False)
        self.set_status(status)

    def drop_metadata(self, side: str | None = None) -> None:
        """Make the metadata disappear (no rows) on one side (``blue``/``green``) or both."""
        self.set_status("", side=side)

    def set_status(self, status: str, *, side: str | None = None, node: str | None = None) -> None:
        """Set the reported status on every node of ``side`` (or one ``node``); ``""`` = none."""
        if status and status not in PHASES:
            raise ValueError(f"status must be one of {PHASES}")
        for cluster in self._clusters(side):
            for info in cluster.nodes:
                if info.pid is None or (node is not None and node != info.instance_id):
                    continue
                with cluster.superuser_connect(info) as conn:
                    conn.execute(
                        sql.SQL("ALTER SYSTEM SET bg_emu.status = {}").format(sql.Literal(status))
                    )
                    conn.execute("SELECT pg_reload_conf()")
        for cluster in self._clusters(side):  # reload is asynchronous: wait until visible
            for info in cluster.nodes:
                if info.pid is None or (node is not None and node != info.instance_id):
                    continue
                deadline = time.monotonic() + 10
                while self._node_status(cluster, info.instance_id) != status:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{info.instance_id} did not pick up {status!r}")
                    time.sleep(0.01)
        if side is None and node is None:
            self.phase = status

    def status_rows(self, side: str, node: str | int) -> list[tuple[Any, ...]]:
        """``(version, endpoint, port, role, status)`` as the dialect reads them (as ``app``)."""
        cluster = self.blue if side == "blue" else self._green
        if cluster.config.flavor == "aurora-pg":
            query = (
                "SELECT version, endpoint, port, role, status FROM "
                "pg_catalog.get_blue_green_fast_switchover_metadata("
                "'aws_advanced_python_wrapper-1.0.0')"
            )
        else:
            query = (
                "SELECT version, endpoint, port, role, status FROM "
                "rds_tools.show_topology('aws_advanced_python_wrapper-1.0.0') "
                "WHERE role IS NOT NULL"
            )
        with psycopg.connect(**cluster.app_conninfo_kwargs(node), autocommit=True) as conn:
            return conn.execute(query).fetchall()

    # ------------------------------------------------------------------ names

    def host_map(self, phase: str | None = None) -> dict[str, str]:
        """Names → IPs for ``phase`` (default: the current one; blue names move to green at
        POST)."""
        phase = self.phase if phase is None else phase
        blue, green = self.blue.host_map(), self._green.host_map()
        post = phase in PHASES[3:]
        mapping: dict[str, str] = {}
        if not post:
            mapping.update(blue)
            mapping.update(green)
            return mapping
        g_nodes, b_nodes = self._green.nodes, self.blue.nodes
        for b_name, b_ip in blue.items():
            mapping[_old1(b_name)] = b_ip
        for b, g in zip(b_nodes, g_nodes, strict=False):
            mapping[b.name] = g.host
        mapping[self.blue_names.writer_endpoint] = green[self.green_names.writer_endpoint]
        mapping[self.blue_names.reader_endpoint] = green[self.green_names.reader_endpoint]
        if phase != "SWITCHOVER_COMPLETED":
            mapping.update(green)  # green names stop resolving at COMPLETED
        return mapping

    def install_names(self, phase: str | None = None) -> None:
        """Put :meth:`host_map` into the process resolver (updated on every phase move);
        ``phase`` publishes another phase's names without changing the metadata (DNS ahead
        of the status, as when the metadata stops updating)."""
        from awsdb.resolver import get_resolver

        phase = self.phase if phase is None else phase
        self.uninstall_names()
        mapping = self.host_map(phase)
        resolver = get_resolver()
        resolver.update(mapping)
        installed = dict(mapping)
        if phase == "SWITCHOVER_COMPLETED":  # green names stop resolving (no DNS asked)
            for name in self._green.host_map():
                if name not in mapping:
                    resolver.hide(name)
                    installed[name] = ""
        self._installed = installed

    def uninstall_names(self) -> None:
        """Remove this deployment's names from the resolver."""
        from awsdb.resolver import get_resolver

        for name in self._installed:
            get_resolver().remove(name)
        self._installed = {}

    # ------------------------------------------------------------------ phases

    def switchover(
        self,
        phase_s: float = 0.0,
        *,
        stop_at: str | None = None,
        disrupt: bool = False,
        lead_s: float = 0.5,
    ) -> dict[str, float]:
        """Move through the phases, ``phase_s`` seconds each; stop after ``stop_at``.

        IN_PROGRESS makes blue read-only and, with ``disrupt``, ``lead_s`` seconds after
        the status changed (the metadata leads the cut-over, as on RDS), ends every ``app``
        session on blue and refuses new ``app`` logins there, as a real switchover drops
        connections; POST remaps the names (blue names → green IPs, blue instances →
        ``-old1`` names) and renames the metadata; COMPLETED stops the green names from
        resolving. Returns the time each phase started (from the call).
        """
        t0 = time.monotonic()
        out: dict[str, float] = {}
        start = PHASES.index(self.phase) + 1 if self.phase in PHASES else 0
        for phase in PHASES[max(start, 1) :]:
            out[phase] = time.monotonic() - t0
            if phase == "SWITCHOVER_IN_PROGRESS":
                self.set_status(phase)
                self._set_read_only(self.blue, True)
                if disrupt:
                    time.sleep(lead_s)
                    self.cut_blue()
            elif phase == "SWITCHOVER_IN_POST_PROCESSING":
                self._write_rows(switched=True)
                self.set_status(phase)
            else:
                self.set_status(phase)
            if self._installed:
                self.install_names()
            if phase == stop_at:
                break
            time.sleep(phase_s)
        return out

    def cut_blue(self, on: bool = True) -> None:
        """End every ``app`` session on blue and refuse new ``app`` logins there
        (``on=False``: accept them again)."""
        with self.blue.superuser_connect(self.blue.writer()) as conn:
            conn.execute("SET default_transaction_read_only = off")
            conn.execute(f"ALTER ROLE app {'NOLOGIN' if on else 'LOGIN'}")
            self.blue._wait_replayed(conn)
        if not on:
            return
        for info in self.blue.nodes:
            if info.pid is None:
                continue
            with self.blue.superuser_connect(info) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app'"
                )

    def rollback(self) -> None:
        """Phase regression: back to AVAILABLE, blue writable, original names and rows."""
        self.cut_blue(False)
        self._set_read_only(self.blue, False)
        self._write_rows(switched=False)
        self.set_status("AVAILABLE")
        if self._installed:
            self.install_names()

    # ------------------------------------------------------------------ internals

    def _clusters(self, side: str | None) -> list[PgCluster]:
        if side is None:
            return [self.blue, self._green]
        if side not in ("blue", "green"):
            raise ValueError("side must be 'blue' or 'green'")
        return [self.blue] if side == "blue" else [self._green]

    def _node_status(self, cluster: PgCluster, node: str) -> str:
        with cluster.superuser_connect(node) as conn:
            row = conn.execute("SELECT current_setting('bg_emu.status', true)").fetchone()
        return str(row[0] or "") if row else ""

    def _write_rows(self, *, switched: bool) -> None:
        rows = self.metadata_rows(switched=switched)
        for cluster in (self.blue, self._green):
            with cluster.superuser_connect(cluster.writer()) as conn:
                conn.execute("SET default_transaction_read_only = off")
                conn.execute("SET synchronous_commit = local")
                with conn.transaction():
                    conn.execute("DELETE FROM bg_emu.metadata")
                    for row in rows:
                        conn.execute(
                            "INSERT INTO bg_emu.metadata (id, endpoint, port, role)"
                            " VALUES (%s, %s, %s, %s)",
                            row,
                        )
                cluster._wait_replayed(conn)

    def _set_read_only(self, cluster: PgCluster, on: bool) -> None:
        for info in cluster.nodes:
            if info.pid is None:
                continue
            with cluster.superuser_connect(info) as conn:
                value = "on" if on else "off"
                conn.execute(f"ALTER SYSTEM SET default_transaction_read_only = {value}")
                conn.execute("SELECT pg_reload_conf()")


def _old1(name: str) -> str:
    first, _, rest = name.partition(".")
    return f"{first}-old1.{rest}"


# ---------------------------------------------------------------------- workload


@dataclasses.dataclass
class WorkloadResult:
    """What a :class:`SwitchoverWorkload` saw, summed over its threads.

    ``downtime_s`` is the longest time one thread went from its first failed query to its
    next successful one; ``max_latency_s`` the slowest successful query (connect included
    when it had to reconnect); ``values`` the distinct first columns returned, in order.
    """

    ok: int = 0
    failed: int = 0
    downtime_s: float = 0.0
    max_latency_s: float = 0.0
    errors: list[str] = dataclasses.field(default_factory=list)
    values: list[Any] = dataclasses.field(default_factory=list)
    last_values: list[Any] = dataclasses.field(default_factory=list)


class SwitchoverWorkload:
    """``threads`` threads, each running ``query`` every ``period_s`` on its own connection
    (``cursor()``, ``execute``, ``fetchall``, ``close``), reconnecting after a failure.

    ``connect()`` opens a DB-API connection (awsdb or a raw driver). Failed queries and
    connects are counted, not raised; use :meth:`start`, then :meth:`stop` for the result.
    """

    def __init__(
        self,
        connect: Callable[[], Any],
        query: str,
        *,
        threads: int = 1,
        period_s: float = 0.02,
    ) -> None:
        self._connect = connect
        self._query = query
        self._period_s = period_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._result = WorkloadResult(last_values=[None] * threads)
        self._threads = [
            threading.Thread(target=self._run, args=(i,), name=f"bg-workload-{i}", daemon=True)
            for i in range(threads)
        ]

    @property
    def ok(self) -> int:
        """Successful queries so far."""
        with self._lock:
            return self._result.ok

    def start(self) -> SwitchoverWorkload:
        """Start the threads."""
        for t in self._threads:
            t.start()
        return self

    def wait_ok(self, count: int, timeout_s: float = 30.0) -> None:
        """Wait until ``count`` more queries succeeded (``TimeoutError`` otherwise)."""
        target = self.ok + count
        deadline = time.monotonic() + timeout_s
        while self.ok < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the workload did not reach {target} successful queries")
            time.sleep(0.01)

    def stop(self) -> WorkloadResult:
        """Stop and join the threads; return what they saw."""
        self._stop.set()
        for t in self._threads:
            t.join(60)
        with self._lock:
            return dataclasses.replace(self._result)

    def _run(self, index: int) -> None:
        conn: Any = None
        failing_since: float | None = None
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = self._connect()
                cur = conn.cursor()
                cur.execute(self._query)
                rows = cur.fetchall()
                cur.close()
            except Exception as exc:
                with self._lock:
                    self._result.failed += 1
                    if len(self._result.errors) < 20:
                        self._result.errors.append(f"{type(exc).__name__}: {exc}".strip())
                if failing_since is None:
                    failing_since = t0
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                    conn = None
            else:
                now = time.monotonic()
                value = rows[0][0] if rows and rows[0] else None
                with self._lock:
                    r = self._result
                    r.ok += 1
                    r.max_latency_s = max(r.max_latency_s, now - t0)
                    if failing_since is not None:
                        r.downtime_s = max(r.downtime_s, now - failing_since)
                    if value not in r.values:
                        r.values.append(value)
                    r.last_values[index] = value
                failing_since = None
            left = self._period_s - (time.monotonic() - t0)
            if left > 0:
                self._stop.wait(left)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
