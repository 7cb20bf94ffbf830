"""A local PostgreSQL streaming-replication cluster that emulates Aurora PostgreSQL.

:class:`PgCluster` is both the cluster and its controller: it builds (or restores from a
cached tmpfs snapshot) N nodes on per-node loopback addresses sharing one port, answers the
aurora-pg / rds-pg dialect SQL, and fails over, rejoins and re-clones nodes. Every role
question (:meth:`PgCluster.writer`, :meth:`PgCluster.readers`) asks the servers.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import psycopg

from awsdb_testing._procs import (
    LoopbackBlock,
    ServerUser,
    allocate_loopback_block,
    get_registry,
    make_run_dir,
    port_is_free,
    remove_tree,
    server_user,
)
from awsdb_testing.model import FailoverReport, NodeInfo, TopologyRow
from awsdb_testing.pg.binaries import PgBinaries, find_pg_binaries
from awsdb_testing.pg.build import (
    build_fresh,
    copy_nodes,
    ensure_cached_snapshot,
    purge_snapshot_cache,
    restore_from,
    snapshot_cache_root,
    start_all,
)
from awsdb_testing.pg.names import ClusterNames, random_cluster_hash
from awsdb_testing.pg.node import AddressInUseError, PgNode

if TYPE_CHECKING:
    from awsdb_testing.netns import NetnsNetwork

__all__ = [
    "TOPOLOGY_SQL",
    "WRITER_CHECK_SQL",
    "PgCluster",
    "PgClusterConfig",
    "purge_snapshot_cache",
    "snapshot_cache_root",
]

#: The aurora-pg dialect's topology query (used for convergence checks).
TOPOLOGY_SQL = (
    "SELECT SERVER_ID, CASE WHEN SESSION_ID OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' THEN "
    "TRUE ELSE FALSE END, CPU, COALESCE(REPLICA_LAG_IN_MSEC, 0), LAST_UPDATE_TIMESTAMP FROM "
    "pg_catalog.aurora_replica_status() WHERE EXTRACT(EPOCH FROM(pg_catalog.NOW() "
    "OPERATOR(pg_catalog.-) LAST_UPDATE_TIMESTAMP)) OPERATOR(pg_catalog.<=) 300 OR SESSION_ID "
    "OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' OR LAST_UPDATE_TIMESTAMP IS NULL"
)
#: The aurora-pg writer check (a row only on the writer).
WRITER_CHECK_SQL = (
    "SELECT SERVER_ID FROM pg_catalog.aurora_replica_status() WHERE SESSION_ID "
    "OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' AND SERVER_ID OPERATOR(pg_catalog.=) "
    "pg_catalog.aurora_db_instance_identifier()"
)

_FLAVOR_EXTENSIONS = {
    "aurora-pg": "aurora_stat_utils",
    "rds-pg": "rds_tools",
    "multi-az-pg": "rds_tools",
}
_STUCK_AFTER_S = 3.0


@dataclass
class PgClusterConfig:
    """How to build a cluster. Every field has a working default."""

    nodes: int = 3
    first_octet: int = 11  # node N listens on 127.0.0.<first_octet + N - 1>
    port: int | None = None  # None: a free port is probed at start
    name: str = "awsdb"
    cluster_hash: str | None = None  # None: random per run
    region: str = "us-east-1"
    flavor: str = "aurora-pg"  # aurora-pg | rds-pg | multi-az-pg
    durable: bool = False  # synchronous replication: no acknowledged commit is lost
    stale_dns_s: float = 0.0  # delay before the writer endpoint name follows a failover
    max_connections: int = 60  # per node (PostgreSQL reserves 3 of them for superusers)
    instance_suffix: str = ""  # appended to instance ids (green side: "-green-abc123")
    base_dir: Path | None = None  # None: a fresh directory on /dev/shm
    use_cache: bool = True  # start from the cached snapshot (built on first use)
    bins: PgBinaries | None = None
    network: NetnsNetwork | None = None  # run node N inside the namespace N (root only)

    def __post_init__(self) -> None:
        if self.flavor not in _FLAVOR_EXTENSIONS:
            raise ValueError(f"flavor must be one of {sorted(_FLAVOR_EXTENSIONS)}")
        if self.nodes < 1:
            raise ValueError("a cluster needs at least one node")
        if self.max_connections < 10:
            raise ValueError(f"max_connections must be >= 10, not {self.max_connections!r}")
        if self.network is not None and self.network.count < self.nodes:
            raise ValueError("the network has fewer namespaces than the cluster has nodes")


class PgCluster:
    """An N-node PostgreSQL cluster emulating Aurora PostgreSQL, plus its failover controller.

    Use it as a context manager (``with PgCluster() as c: ...``) or call :meth:`start` and
    :meth:`close`. All servers are SIGKILLed by PID on close, and by an ``atexit`` safety net.
    """

    def __init__(self, config: PgClusterConfig | None = None, **kwargs: Any) -> None:
        self.config = config or PgClusterConfig(**kwargs)
        cfg = self.config
        self.bins = cfg.bins or find_pg_binaries()
        self.user: ServerUser | None = server_user("postgres")
        self.names = ClusterNames(
            cfg.name, cfg.cluster_hash or random_cluster_hash(), cfg.region, cfg.instance_suffix
        )
        self.base: Path | None = cfg.base_dir
        self._owns_base = cfg.base_dir is None
        self._nodes: list[PgNode] = []
        self._snapshot: Path | None = None
        self._lock = threading.RLock()
        self._endpoint_writer: str | None = None  # instance id the writer endpoint points at
        self._flip_timer: threading.Timer | None = None
        self._installed_names: dict[str, str] = {}
        self._endpoint_listeners: list[Callable[[], None]] = []
        self.timings: dict[str, float] = {}

    # ================================================================= lifecycle

    def __enter__(self) -> PgCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> PgCluster:
        """Create the cluster (from the cached snapshot when enabled) and wait for streaming."""
        t0 = time.monotonic()
        if self.base is None:
            self.base = make_run_dir("awsdb-pg-")
        if self._owns_base:
            get_registry().register_path(self.base)
        if self.user is not None:
            os.chown(self.base, self.user.uid, self.user.gid)
        for attempt in range(5):
            block = self._address_block()
            self._nodes = [
                self._make_node(i + 1, block.hosts[i], block.port) for i in range(len(block.hosts))
            ]
            try:
                if self.config.use_cache:
                    snap = ensure_cached_snapshot(self)
                    self._snapshot = snap
                    restore_from(self, snap)
                else:
                    build_fresh(self, self.base)
                break
            except AddressInUseError:
                self._kill_all()
                for node in self._nodes:
                    remove_tree(node.dir)
                if self.config.port is not None or attempt == 4:
                    raise
        self._endpoint_writer = self._nodes[0].instance_id
        self.timings["start"] = time.monotonic() - t0
        return self

    def close(self) -> None:
        """Kill every server by PID, remove the names from the resolver and delete the files."""
        with self._lock:
            if self._flip_timer is not None:
                self._flip_timer.cancel()
                self._flip_timer = None
        self.uninstall_names()
        self._kill_all()
        if self._owns_base and self.base is not None:
            remove_tree(self.base)
            get_registry().unregister_path(self.base)

    def detach(self) -> dict[str, Any]:
        """Leave the servers running after this process exits; return the state to re-attach.

        Used by ``awsdb cluster up``. The PIDs are removed from the exit-time safety net.
        """
        for node in self._nodes:
            if node.pid is not None:
                get_registry().unregister(node.pid)
        if self.base is not None:
            get_registry().unregister_path(self.base)
        return self.to_state()

    def to_state(self) -> dict[str, Any]:
        """A JSON-serialisable description of the running cluster."""
        assert self.base is not None
        return {
            "engine": "pg",
            "base": str(self.base),
            "bindir": str(self.bins.bindir),
            "version": self.bins.version,
            "name": self.names.name,
            "cluster_hash": self.names.cluster_hash,
            "region": self.names.region,
            "flavor": self.config.flavor,
            "durable": self.config.durable,
            "max_connections": self.config.max_connections,
            "instance_suffix": self.config.instance_suffix,
            "first_octet": self.config.first_octet,
            "snapshot": str(self._snapshot) if self._snapshot else None,
            "endpoint_writer": self._endpoint_writer,
            "nodes": [
                {
                    "index": n.index,
                    "host": n.host,
                    "port": n.port,
                    "id": n.instance_id,
                    "pid": n.pid,
                }
                for n in self._nodes
            ],
        }

    @classmethod
    def attach(cls, state: dict[str, Any]) -> PgCluster:
        """Re-create the controller of a cluster started by another process (:meth:`detach`)."""
        bins = PgBinaries(Path(state["bindir"]), state["version"], "state")
        cfg = PgClusterConfig(
            nodes=len(state["nodes"]),
            first_octet=state["first_octet"],
            port=state["nodes"][0]["port"],
            name=state["name"],
            cluster_hash=state["cluster_hash"],
            region=state["region"],
            flavor=state["flavor"],
            durable=state["durable"],
            max_connections=state.get("max_connections", 60),
            instance_suffix=state["instance_suffix"],
            base_dir=Path(state["base"]),
            bins=bins,
        )
        self = cls(cfg)
        self._owns_base = True
        self._snapshot = Path(state["snapshot"]) if state.get("snapshot") else None
        self._endpoint_writer = state.get("endpoint_writer")
        for entry in state["nodes"]:
            node = self._make_node(entry["index"], entry["host"], entry["port"])
            node.adopt(entry.get("pid"))
            self._nodes.append(node)
        return self

    # ================================================================= nodes and roles

    @property
    def base_dir(self) -> Path:
        """The cluster's run directory (same name as on ``MariaDBCluster``)."""
        if self.base is None:
            raise RuntimeError("cluster not started")
        return self.base

    @property
    def snapshot_path(self) -> Path | None:
        """The snapshot :meth:`restore` uses (the cache entry, or the last :meth:`snapshot`)."""
        return self._snapshot

    @property
    def nodes(self) -> list[NodeInfo]:
        """Every node (running or not), in index order."""
        return [self._info(n) for n in self._nodes]

    def node(self, ref: NodeInfo | str | int) -> NodeInfo:
        """Look up a node by ``NodeInfo``, instance id, host name or 1-based index."""
        return self._info(self._node(ref))

    def writer(self) -> NodeInfo:
        """The running node that is not in recovery (asks the servers).

        With several (a split brain), the one the controller promoted last wins. Raises
        ``LookupError`` when there is no writer.
        """
        writers = self._writers()
        if not writers:
            raise LookupError("no running node is a primary")
        for node in writers:
            if node.instance_id == self._endpoint_writer:
                return self._info(node)
        return self._info(writers[0])

    def readers(self) -> list[NodeInfo]:
        """Running nodes in recovery (asks the servers)."""
        return [self._info(n) for n in self._nodes if self._in_recovery(n) is True]

    def pids(self) -> dict[str, int]:
        """Postmaster PID of every running node, by instance id."""
        return {n.instance_id: pid for n in self._nodes if (pid := n.pid) is not None}

    def superuser_connect(self, node: NodeInfo | str | int) -> psycopg.Connection:
        """An autocommit superuser connection over the node's unix socket (control path)."""
        return self._node(node).connect()

    def app_conninfo_kwargs(self, node: NodeInfo | str | int) -> dict[str, Any]:
        """psycopg keyword arguments for the non-superuser ``app`` role over TCP."""
        n = self._node(node)
        return {"host": n.host, "port": n.port, "user": "app", "dbname": "app"}

    def app_dsn(self, node: NodeInfo | str | int) -> str:
        """libpq conninfo for the non-superuser ``app`` role over TCP."""
        kw = self.app_conninfo_kwargs(node)
        return " ".join(f"{k}={v}" for k, v in kw.items())

    def log_path(self, node: NodeInfo | str | int) -> Path:
        """The server log of a node."""
        return self._node(node).log

    # ================================================================= host names

    def endpoint_targets(self) -> tuple[str, str]:
        """Instance ids the writer and the reader endpoint names point at right now.

        The writer endpoint follows failovers (late by ``stale_dns_s``); the reader endpoint
        is the first running node that is not the writer endpoint's target (the writer
        itself when no other node runs).
        """
        with self._lock:
            writer = next(
                (n for n in self._nodes if n.instance_id == self._endpoint_writer), self._nodes[0]
            )
            readers = [n for n in self._nodes if n is not writer and n.pid is not None]
            return writer.instance_id, (readers[0] if readers else writer).instance_id

    def host_map(self) -> dict[str, str]:
        """Aurora-shaped names → loopback IPs (instances, writer and reader endpoints)."""
        with self._lock:
            mapping = {self.names.instance(n.instance_id): n.host for n in self._nodes}
            writer_id, reader_id = self.endpoint_targets()
            mapping[self.names.writer_endpoint] = self._node(writer_id).host
            mapping[self.names.reader_endpoint] = self._node(reader_id).host
        return mapping

    def add_endpoint_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever the endpoint targets may have changed.

        That is after a writer endpoint flip (failover, :meth:`restore`) and after a node
        rejoined or was re-cloned. Fault proxies use it to retarget endpoint proxies.
        """
        with self._lock:
            self._endpoint_listeners.append(callback)

    def remove_endpoint_listener(self, callback: Callable[[], None]) -> None:
        """Undo :meth:`add_endpoint_listener` (a missing callback is not an error)."""
        with self._lock, contextlib.suppress(ValueError):
            self._endpoint_listeners.remove(callback)

    def install_names(self) -> None:
        """Put :meth:`host_map` into the process resolver (kept current on failover)."""
        from awsdb.resolver import get_resolver

        with self._lock:
            mapping = self.host_map()
            get_resolver().update(mapping)
            self._installed_names = mapping

    def uninstall_names(self) -> None:
        """Remove the names this cluster installed from the resolver."""
        from awsdb.resolver import get_resolver

        with self._lock:
            for name in self._installed_names:
                get_resolver().remove(name)
            self._installed_names = {}

    @contextlib.contextmanager
    def names_installed(self) -> Iterator[dict[str, str]]:
        """Context manager around :meth:`install_names` / :meth:`uninstall_names`."""
        self.install_names()
        try:
            yield self.host_map()
        finally:
            self.uninstall_names()

    def _refresh_names(self) -> None:
        with self._lock:
            if self._installed_names:
                self.uninstall_names()
                self.install_names()
            listeners = list(self._endpoint_listeners)
        for callback in listeners:
            callback()

    def point_writer_endpoint(self, instance_id: str, delay_s: float | None = None) -> None:
        """Flip the writer endpoint name to ``instance_id`` now or after ``delay_s`` (DNS TTL)."""
        delay = self.config.stale_dns_s if delay_s is None else delay_s

        def flip() -> None:
            with self._lock:
                self._endpoint_writer = instance_id
                self._flip_timer = None
            self._refresh_names()

        with self._lock:
            if self._flip_timer is not None:
                self._flip_timer.cancel()
                self._flip_timer = None
            if delay <= 0:
                self._endpoint_writer = instance_id
            else:
                timer = threading.Timer(delay, flip)
                timer.daemon = True
                timer.name = "awsdb-pg-dns-flip"
                self._flip_timer = timer
                timer.start()
                return
        self._refresh_names()

    # ================================================================= topology control

    def set_topology_static(self, rows: list[TopologyRow]) -> None:
        """Static mode: the emulation reports exactly ``rows`` on every node.

        Any number of writers (zero, one, several), unknown ids, stale rows
        (``last_update_age_s``), hidden rows, lag and CPU values.
        """
        hosts = {n.instance_id: (n.host, n.port) for n in self._nodes}
        with self._node(self.writer()).connect() as conn:
            conn.execute("SET synchronous_commit = local")
            with conn.transaction():
                conn.execute("UPDATE aurora_emu.config SET live = false")
                conn.execute("DELETE FROM aurora_emu.topology")
                for r in rows:
                    host, port = hosts.get(r.server_id, (None, None))
                    conn.execute(
                        "INSERT INTO aurora_emu.topology (server_id, host, port, is_writer, cpu,"
                        " replica_lag_in_msec, last_update_timestamp, hidden) VALUES"
                        " (%s, %s, %s, %s, %s, %s,"
                        " CASE WHEN %s::float8 IS NULL THEN NULL"
                        " ELSE now() - make_interval(secs => %s::float8) END, %s)",
                        (
                            r.server_id,
                            host,
                            port,
                            r.is_writer,
                            r.cpu,
                            r.replica_lag_ms,
                            r.last_update_age_s,
                            r.last_update_age_s,
                            r.hidden,
                        ),
                    )
            self._wait_replayed(conn)

    def set_live(self) -> None:
        """Back to live mode: real membership rows, writer derived from replication."""
        writer = self._node(self.writer())
        with writer.connect() as conn:
            conn.execute("SET synchronous_commit = local")
            self._write_membership(conn, writer.instance_id)
            conn.execute("UPDATE aurora_emu.config SET live = true")
            self._wait_replayed(conn)

    def topology(self, node: NodeInfo | str | int, *, as_app: bool = True) -> list[tuple[Any, ...]]:
        """Rows of the exact aurora-pg topology query on ``node`` (as ``app`` over TCP)."""
        if as_app:
            with psycopg.connect(**self.app_conninfo_kwargs(node), connect_timeout=3) as conn:
                return conn.execute(TOPOLOGY_SQL).fetchall()
        with self.superuser_connect(node) as conn:
            return conn.execute(TOPOLOGY_SQL).fetchall()

    def reported_writers(self, node: NodeInfo | str | int) -> list[str]:
        """The writer id(s) ``node`` reports through the topology query (control path)."""
        return [str(r[0]) for r in self.topology(node, as_app=False) if r[1]]

    # ================================================================= node operations

    def kill(self, node: NodeInfo | str | int) -> None:
        """SIGKILL a node's postmaster and children by PID."""
        self._node(node).kill()

    def stop(self, node: NodeInfo | str | int) -> None:
        """Fast, clean shutdown of one node."""
        self._node(node).stop()

    def start_node(self, node: NodeInfo | str | int) -> None:
        """Start a stopped node with its current configuration and wait until ready."""
        n = self._node(node)
        n.write_node_conf()
        n.start()

    def pause(self, node: NodeInfo | str | int) -> None:
        """SIGSTOP the node's processes: clients hang as on a frozen host."""
        import signal

        self._node(node).signal_tree(signal.SIGSTOP)

    def resume(self, node: NodeInfo | str | int) -> None:
        """SIGCONT a paused node."""
        import signal

        self._node(node).signal_tree(signal.SIGCONT)

    def failover(
        self,
        target: NodeInfo | str | int | None = None,
        kill: bool = True,
        no_writer_window_s: float = 0.0,
    ) -> FailoverReport:
        """Crash (``kill=True``) or stop the writer, promote a reader, repoint the rest.

        Without ``target``, the most advanced replica (highest received LSN) is promoted.
        Steps are timed from the kill: ``killed``, ``chosen``, ``promoted``, ``writable``
        (first write committed on the new writer), ``repointed``, ``converged`` (every live
        node's topology query reports the new writer), ``replicated`` (a marker row is
        visible on every live replica). Stuck replicas are restarted, then re-cloned; see
        ``report.repaired``. The old writer stays down: call :meth:`rejoin`.
        """
        from awsdb_testing.pg.failover import run_failover

        return run_failover(self, target, kill=kill, no_writer_window_s=no_writer_window_s)

    def rejoin(self, node: NodeInfo | str | int) -> str:
        """Bring a former writer back as a replica with pg_rewind (re-clone if that fails).

        Returns ``"rewind"`` or ``"reclone"``.
        """
        from awsdb_testing.pg.failover import rejoin_node

        return rejoin_node(self, self._node(node))

    def reclone(self, node: NodeInfo | str | int) -> None:
        """Replace a node's data with a fresh base backup of the writer and start it."""
        from awsdb_testing.pg.failover import reclone_node

        reclone_node(self, self._node(node))

    def add_node(self) -> NodeInfo:
        """Add an instance: a new replica of the writer on the next loopback address.

        The node is base-backed-up from the writer and started as its standby, listed in
        the membership (live mode reports it; in static mode only the rows you set are
        reported) and, when the names are installed, given its instance name in the
        resolver. :meth:`restore` removes it again (the snapshot does not hold it).
        """
        from awsdb_testing.pg.failover import reclone_node

        if self.config.network is not None:
            raise NotImplementedError("add_node is not supported inside network namespaces")
        with self._lock:
            index = len(self._nodes) + 1
            octet = self.config.first_octet + index - 1
            port = self._nodes[0].port
            host = f"127.0.0.{octet}"
            if octet > 254 or not port_is_free(host, port, check_wildcard=False):
                raise OSError(f"{host}:{port} is not available for a new node")
            node = self._make_node(index, host, port)
            self._nodes.append(node)
        try:
            reclone_node(self, node)
        except BaseException:
            node.kill()
            with self._lock:
                self._nodes.remove(node)
            remove_tree(node.dir)
            raise
        writer = self._node(self.writer())
        with writer.connect() as conn:
            conn.execute("SET synchronous_commit = local")
            conn.execute(
                "INSERT INTO aurora_emu.topology (server_id, host, port, is_writer)"
                " VALUES (%s, %s, %s, false) ON CONFLICT (server_id) DO UPDATE"
                " SET host = excluded.host, port = excluded.port",
                (node.instance_id, node.host, node.port),
            )
            self._wait_replayed(conn)
        self._refresh_names()
        return self._info(node)

    def wait_converged(self, timeout: float = 10.0) -> float:
        """Wait until every running node reports the actual writer and a marker replicated.

        Returns the seconds waited; raises ``TimeoutError``.
        """
        from awsdb_testing.pg.failover import wait_all_report, wait_marker

        t0 = time.monotonic()
        writer = self._node(self.writer())
        live = [n for n in self._nodes if n.pid is not None]
        wait_all_report(live, writer.instance_id, t0 + timeout)
        wait_marker(writer, [n for n in live if n is not writer], t0 + timeout)
        return time.monotonic() - t0

    # ================================================================= snapshots

    def snapshot(self) -> Path:
        """Stop cleanly (writer first), copy the data directories, restart. Returns the path."""
        assert self.base is not None
        writer = self._node(self.writer())
        snap = self.base / "snap"
        remove_tree(snap)
        order = [writer, *[n for n in self._nodes if n is not writer]]
        for n in order:
            n.stop()
        copy_nodes(self.base, snap, order)
        (snap / "meta.json").write_text(json.dumps({"writer": writer.index}))
        self._snapshot = snap
        start_all(self, writer)
        return snap

    def restore(self) -> None:
        """SIGKILL everything and restore the last snapshot (node 1 writer, live mode)."""
        if self._snapshot is None:
            raise RuntimeError("no snapshot to restore")
        self._kill_all()
        # nodes added after the snapshot was taken (add_node) go away with their data
        with self._lock:
            added = [n for n in self._nodes if not (self._snapshot / n.dir.name).exists()]
            self._nodes = [n for n in self._nodes if n not in added]
        for n in added:
            remove_tree(n.dir)
        restore_from(self, self._snapshot)
        self.point_writer_endpoint(self._writers()[0].instance_id, delay_s=0)

    # ================================================================= internals

    def _address_block(self) -> LoopbackBlock:
        net = self.config.network
        if net is not None:  # one namespace per node: the addresses are private
            hosts = tuple(net.node_ip(i + 1) for i in range(self.config.nodes))
            return LoopbackBlock(hosts, self.config.port or 5432)
        return allocate_loopback_block(
            self.config.nodes, self.config.first_octet, port=self.config.port
        )

    def _make_node(self, index: int, host: str, port: int) -> PgNode:
        assert self.base is not None
        cfg = self.config
        extra = {
            "rds.extensions": f"'{_FLAVOR_EXTENSIONS[cfg.flavor]}'",
            "emu.flavor": f"'{cfg.flavor}'",
            "emu.domain": f"'{self.names.domain}'",
            "bg_emu.status": "''",  # defined so that ALTER SYSTEM can change it per node
            "synchronous_commit": "on" if cfg.durable else "off",
            "max_connections": str(cfg.max_connections),
        }
        if cfg.durable:
            extra["synchronous_standby_names"] = "'ANY 1 (*)'"
        return PgNode(
            index=index,
            base=self.base,
            host=host,
            port=port,
            instance_id=f"instance-{index}{self.names.suffix}",
            bins=self.bins,
            user=self.user,
            extra_conf=extra,
            exec_prefix=net.exec_prefix(index) if (net := cfg.network) is not None else None,
        )

    def _node(self, ref: NodeInfo | str | int) -> PgNode:
        for n in self._nodes:
            if isinstance(ref, int) and n.index == ref:
                return n
            if isinstance(ref, NodeInfo) and ref.instance_id == n.instance_id:
                return n
            if isinstance(ref, str) and ref in (
                n.instance_id,
                self.names.instance(n.instance_id),
                n.host,
            ):
                return n
        raise LookupError(f"no node {ref!r}")

    def _info(self, n: PgNode) -> NodeInfo:
        return NodeInfo(n.instance_id, n.host, n.port, self.names.instance(n.instance_id), n.pid)

    def _in_recovery(self, n: PgNode) -> bool | None:
        if n.pid is None:
            return None
        try:
            with n.connect(timeout=2) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.Error:
            return None
        return bool(row[0]) if row else None

    def _writers(self) -> list[PgNode]:
        return [n for n in self._nodes if self._in_recovery(n) is False]

    def _kill_all(self) -> None:
        for n in self._nodes:
            n.kill()

    def _write_membership(self, conn: psycopg.Connection, writer_id: str) -> None:
        with conn.transaction():
            conn.execute("DELETE FROM aurora_emu.topology")
            for n in self._nodes:
                conn.execute(
                    "INSERT INTO aurora_emu.topology (server_id, host, port, is_writer)"
                    " VALUES (%s, %s, %s, %s)",
                    (n.instance_id, n.host, n.port, n.instance_id == writer_id),
                )

    def _wait_replayed(self, conn: psycopg.Connection, timeout: float = 10.0) -> None:
        """Wait until every running replica replayed the writer's current WAL position."""
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        lsn = row[0]
        deadline = time.monotonic() + timeout
        for n in self._nodes:
            if n.pid is None or self._in_recovery(n) is not True:
                continue
            with n.connect() as rc:
                while True:
                    done = rc.execute(
                        "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)
                    ).fetchone()
                    if done and done[0]:
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{n.instance_id} did not replay {lsn}")
                    time.sleep(0.01)

    # ---------------------------------------------------------------- build / restore
