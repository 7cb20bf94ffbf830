"""Blue/green deployment emulation on two MariaDB clusters (``mysql.rds_topology``).

:class:`MySQLBlueGreen` starts a blue cluster (servers ``127.0.0.11``..., proxies
``127.0.0.31``...) and a green one (servers ``127.0.0.21``..., proxies ``127.0.0.41``...)
that share the cluster hash; green's names carry the ``-green-xxxxxx`` infix. It writes the
blue/green metadata table ``mysql.rds_topology`` on **every node separately**
(``SET SESSION sql_log_bin = 0``), so that the two sides, and single nodes, can report
different statuses as they do in real deployments. :meth:`MySQLBlueGreen.switchover` moves
the status through the phases and remaps host names in the process resolver.

The two clusters are independent (no replication between them): data continuity across a
switchover is not emulated.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from pathlib import Path
from typing import Any, Self

from awsdb.resolver import get_resolver
from awsdb_testing.mysql._sql import APP_USER
from awsdb_testing.mysql.cluster import MariaDBCluster
from awsdb_testing.mysql.rewriter import rewriter_factory
from awsdb_testing.proxy import FaultProxy

__all__ = ["BG_STATUSES", "MySQLBlueGreen"]

BG_STATUSES = (
    "AVAILABLE",
    "SWITCHOVER_INITIATED",
    "SWITCHOVER_IN_PROGRESS",
    "SWITCHOVER_IN_POST_PROCESSING",
    "SWITCHOVER_COMPLETED",
)
_SOURCE = "BLUE_GREEN_DEPLOYMENT_SOURCE"
_TARGET = "BLUE_GREEN_DEPLOYMENT_TARGET"
_VERSION = "1.0"
_DDL = (
    "CREATE TABLE IF NOT EXISTS mysql.rds_topology ("
    "id BIGINT NOT NULL PRIMARY KEY, endpoint VARCHAR(255) NOT NULL, port INT NOT NULL, "
    "role VARCHAR(64) NOT NULL, status VARCHAR(64) NOT NULL, "
    "version VARCHAR(16) NOT NULL) ENGINE=InnoDB"
)


def _suffix() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "-green-" + "".join(secrets.choice(alphabet) for _ in range(6))


class MySQLBlueGreen:
    """A blue and a green MariaDB cluster with blue/green metadata and name control.

    Use as a context manager or call :meth:`start` / :meth:`close`. ``phase`` is the last
    status the controller set on every node.
    """

    def __init__(self, nodes: int = 3, *, name: str = "mdb", cluster_hash: str | None = None):
        self.suffix = _suffix()
        self.blue = MariaDBCluster(nodes, name=name, cluster_hash=cluster_hash)
        self._nodes = nodes
        self._name = name
        self.green: MariaDBCluster | None = None
        self.phase = "NOT_CREATED"
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}
        self._hidden: list[str] = []
        self._extra_proxies: list[FaultProxy] = []

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start both clusters and write the metadata with status ``AVAILABLE``."""
        try:
            self.blue.start()
            self.green = MariaDBCluster(
                self._nodes,
                name=f"{self._name}{self.suffix}",
                cluster_hash=self.blue.cluster_hash,
                first_ip=21,
                proxy_first_ip=41,
                server_id_base=100,
                instance_suffix=self.suffix,
                pristine=Path(self.blue.base_dir) / "pristine",
            ).start()
            self._share_port()
            self.create_metadata()
        except BaseException:
            self.close()
            raise
        return self

    def _share_port(self) -> None:
        # Both sides answer on one port, as RDS endpoints do: green's proxies also listen on
        # blue's port, so a blue name remapped to a green address reaches green.
        green = self._green
        if green.port == self.blue.port:
            return
        for node in green.nodes:
            server = green.server_address(node.instance_id)
            listen = (green.proxy(node.instance_id).host, self.blue.port)
            proxy = FaultProxy(
                server, listen, filter_factory=rewriter_factory(green.aurora_version), name="bg"
            )
            self._extra_proxies.append(proxy.start())

    def close(self) -> None:
        """Remove installed names and close both clusters."""
        for proxy in self._extra_proxies:
            proxy.stop()
        self._extra_proxies = []
        self.remove_names()
        if self.green is not None:
            self.green.close()
        self.blue.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def _green(self) -> MariaDBCluster:
        if self.green is None:
            raise RuntimeError("blue/green not started")
        return self.green

    # ------------------------------------------------------------------ metadata

    def metadata_rows(self, *, switched: bool = False) -> list[tuple[int, str, int, str]]:
        """``(id, endpoint, port, role)`` rows: cluster, reader and instance endpoints of
        each side; ``switched`` gives the names after switchover (``-old1`` on blue, the
        blue names on green)."""
        blue, green = self.blue, self._green
        rows: list[tuple[int, str, int, str]] = []
        for side, role, base in ((blue, _SOURCE, 0), (green, _TARGET, 100)):
            names = [side.writer_endpoint, side.reader_endpoint]
            names += [side.instance_name(n.instance_id) for n in side.nodes]
            ids = [10_000 + base, 10_001 + base] + [base + i + 1 for i in range(len(side.nodes))]
            for rid, host in zip(ids, names, strict=True):  # one port for both sides
                rows.append(
                    (rid, self._renamed(host, side is blue) if switched else host, blue.port, role)
                )
        return rows

    def _renamed(self, host: str, blue: bool) -> str:
        first, rest = host.split(".", 1)
        if blue:
            return f"{first}-old1.{rest}"
        return f"{first.replace(self.suffix, '')}.{rest}"

    def create_metadata(self, status: str = "AVAILABLE") -> None:
        """Create ``mysql.rds_topology`` on every node (not replicated) with ``status``."""
        self._check_status(status)
        rows = self.metadata_rows()
        for cluster in (self.blue, self._green):
            for node in cluster.nodes:
                with self._root(cluster, node.instance_id) as cur:
                    cur.execute(_DDL)
                    cur.execute(f"GRANT SELECT ON mysql.rds_topology TO '{APP_USER}'@'%'")
                    cur.execute("DELETE FROM mysql.rds_topology")
                    for rid, endpoint, port, role in rows:
                        cur.execute(
                            "INSERT INTO mysql.rds_topology (id, endpoint, port, role, status, "
                            "version) VALUES (%s, %s, %s, %s, %s, %s)",
                            (rid, endpoint, port, role, status, _VERSION),
                        )
        self.phase = status

    def drop_metadata(self, side: str | None = None) -> None:
        """Drop the table on one side (``"blue"`` / ``"green"``) or both (metadata gone)."""
        for cluster in self._sides(side):
            for node in cluster.nodes:
                with self._root(cluster, node.instance_id) as cur:
                    cur.execute("DROP TABLE IF EXISTS mysql.rds_topology")

    def set_status(
        self, status: str, *, side: str | None = None, nodes: list[str] | None = None
    ) -> None:
        """Set ``status`` on every node of ``side`` (both by default), or only on the nodes
        whose instance ids are listed in ``nodes``."""
        self._check_status(status)
        for cluster in self._sides(side):
            for node in cluster.nodes:
                if nodes is not None and node.instance_id not in nodes:
                    continue
                with self._root(cluster, node.instance_id) as cur:
                    cur.execute("UPDATE mysql.rds_topology SET status = %s", (status,))
        if side is None and nodes is None:
            self.phase = status

    def status_of(self, cluster: MariaDBCluster, instance_id: str) -> list[str]:
        """The distinct statuses one node reports."""
        with self._root(cluster, instance_id) as cur:
            cur.execute("SELECT DISTINCT status FROM mysql.rds_topology ORDER BY status")
            return [str(r[0]) for r in cur.fetchall()]

    # ------------------------------------------------------------------ names

    def host_map(self) -> dict[str, str]:
        """The names the controller currently publishes (blue, green and ``-old1``)."""
        with self._lock:
            if not self._names:
                self._names = {**self.blue.host_map(), **self._green.host_map()}
            return dict(self._names)

    def install_names(self) -> None:
        """Publish :meth:`host_map` in the process resolver."""
        get_resolver().update(self.host_map())

    def remove_names(self) -> None:
        """Remove every name this deployment published."""
        with self._lock:
            names = list(self._names) + self._hidden
            self._hidden = []
        resolver = get_resolver()
        for name in names:
            resolver.remove(name)

    # ------------------------------------------------------------------ phases

    def switchover(
        self,
        phase_s: float = 0.0,
        *,
        stop_at: str | None = None,
        disrupt: bool = False,
        lead_s: float = 0.5,
    ) -> dict[str, float]:
        """Move every node through the switchover phases; returns seconds at each phase.

        IN_PROGRESS makes the blue writer read-only and, with ``disrupt``, ``lead_s``
        seconds after the status changed, ends every ``app`` session on blue and locks the
        ``app`` account there (a real switchover drops connections); POST_PROCESSING remaps
        names (blue names → green addresses, blue instances → ``-old1`` names) and renames
        the metadata endpoints; COMPLETED makes the green names stop resolving. ``phase_s``
        is the pause after each phase; ``stop_at`` ends after setting that status (a stuck
        switchover).
        """
        if stop_at is not None:
            self._check_status(stop_at)
        t0 = time.monotonic()
        out: dict[str, float] = {}
        for status in BG_STATUSES[1:]:
            if status == "SWITCHOVER_IN_PROGRESS":
                writer = self.blue.writer()
                with self._root(self.blue, writer.instance_id) as cur:
                    cur.execute("SET GLOBAL read_only = ON")
            if status == "SWITCHOVER_IN_POST_PROCESSING":
                self._remap_names()
            if status == "SWITCHOVER_COMPLETED":
                self._drop_green_names()
            self.set_status(status)
            out[status] = time.monotonic() - t0
            if status == "SWITCHOVER_IN_PROGRESS" and disrupt:
                time.sleep(lead_s)
                self.cut_blue()
            if status == stop_at:
                break
            if phase_s > 0:
                time.sleep(phase_s)
        return out

    def cut_blue(self, on: bool = True) -> None:
        """End every ``app`` session on blue and lock the ``app`` account there
        (``on=False``: unlock it)."""
        for node in self.blue.nodes:
            with self._root(self.blue, node.instance_id) as cur:
                lock = "LOCK" if on else "UNLOCK"
                cur.execute(f"ALTER USER '{APP_USER}'@'%' ACCOUNT {lock}")
                if not on:
                    continue
                cur.execute(
                    "SELECT id FROM information_schema.processlist WHERE user = %s", (APP_USER,)
                )
                for (pid,) in cur.fetchall():
                    try:
                        cur.execute(f"KILL CONNECTION {int(pid)}")
                    except Exception:  # the session ended meanwhile
                        continue

    def _remap_names(self) -> None:
        blue, green = self.blue, self._green
        blue_map, green_map = blue.host_map(), green.host_map()
        new: dict[str, str] = {}
        for bname, gname in zip(
            [blue.writer_endpoint, blue.reader_endpoint],
            [green.writer_endpoint, green.reader_endpoint],
            strict=True,
        ):
            new[bname] = green_map[gname]
            new[self._renamed(bname, True)] = blue_map[bname]
        for bnode, gnode in zip(blue.nodes, green.nodes, strict=True):
            bname, gname = (
                blue.instance_name(bnode.instance_id),
                green.instance_name(gnode.instance_id),
            )
            new[bname] = green_map[gname]
            new[self._renamed(bname, True)] = blue_map[bname]
        with self._lock:
            self._names.update(new)
        get_resolver().update(new)
        switched = self.metadata_rows(switched=True)
        for cluster in (blue, green):
            for node in cluster.nodes:
                with self._root(cluster, node.instance_id) as cur:
                    for rid, endpoint, _port, _role in switched:
                        cur.execute(
                            "UPDATE mysql.rds_topology SET endpoint = %s WHERE id = %s",
                            (endpoint, rid),
                        )

    def _drop_green_names(self) -> None:
        green_names = list(self._green.host_map())
        resolver = get_resolver()
        with self._lock:
            for name in green_names:
                self._names.pop(name, None)
                resolver.hide(name)  # no record any more, and no DNS query for it
                self._hidden.append(name)

    # ------------------------------------------------------------------ helpers

    def _sides(self, side: str | None) -> list[MariaDBCluster]:
        if side is None:
            return [self.blue, self._green]
        if side == "blue":
            return [self.blue]
        if side == "green":
            return [self._green]
        raise ValueError(f"side must be 'blue' or 'green', not {side!r}")

    @staticmethod
    def _check_status(status: str) -> None:
        if status not in BG_STATUSES:
            raise ValueError(f"unknown blue/green status {status!r}; allowed: {BG_STATUSES}")

    @staticmethod
    def _root(cluster: MariaDBCluster, instance_id: str) -> _RootCursor:
        return _RootCursor(cluster, instance_id)


class _RootCursor:
    """A root cursor on one node with binary logging off for the session."""

    def __init__(self, cluster: MariaDBCluster, instance_id: str) -> None:
        self._conn = cluster.superuser_connect(instance_id)
        self._cur = self._conn.cursor()

    def __enter__(self) -> Any:
        self._cur.execute("SET SESSION sql_log_bin = 0")
        return self._cur

    def __exit__(self, *exc: object) -> None:
        self._cur.close()
        self._conn.close()
