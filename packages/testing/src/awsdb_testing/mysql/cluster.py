"""A local MariaDB GTID-replication cluster that answers the exact Aurora MySQL SQL.

Each node is a ``mariadbd --no-defaults`` process (run as the ``mysql`` OS user when the
harness runs as root) on its own loopback address, all nodes sharing one port
(``127.0.0.11``, ``.12``, ``.13`` by default). In front of each node a
:class:`~awsdb_testing.proxy.FaultProxy` with the :mod:`query rewriter
<awsdb_testing.mysql.rewriter>` listens on its own loopback address, again sharing one port
(``127.0.0.31`` ...). Clients (the ``app`` user) connect through the proxies; replication and
the controller's control path (root over each node's unix socket) bypass them.

The controller API matches the PostgreSQL harness: :meth:`MariaDBCluster.failover`,
:meth:`~MariaDBCluster.kill`, :meth:`~MariaDBCluster.stop`,
:meth:`~MariaDBCluster.start_node`, :meth:`~MariaDBCluster.rejoin`,
:meth:`~MariaDBCluster.reclone`, :meth:`~MariaDBCluster.set_topology_static`,
:meth:`~MariaDBCluster.set_live`, :meth:`~MariaDBCluster.wait_converged`,
:meth:`~MariaDBCluster.snapshot` / :meth:`~MariaDBCluster.restore`. The controller is
driven from one thread at a time.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import mysql.connector

from awsdb.resolver import get_resolver
from awsdb_testing._procs import (
    ServerUser,
    allocate_loopback_block,
    chown_tree,
    get_registry,
    make_run_dir,
    remove_tree,
    server_user,
)
from awsdb_testing.model import FailoverReport, NodeInfo, TopologyRow
from awsdb_testing.mysql._server import (
    MariaDBBinaries,
    ServerProcess,
    find_mariadb,
    install_pristine,
)
from awsdb_testing.mysql._sql import (
    APP_PASSWORD,
    APP_USER,
)
from awsdb_testing.mysql.failover import reclone_node, rejoin_node, run_failover, wait_converged
from awsdb_testing.mysql.node import (
    WRITER_QUERY,
    MariaDBNode,
    NodeRef,
    ReplicationError,
    random_hash,
    server_argv,
)
from awsdb_testing.mysql.replication import (
    bootstrap_primary,
    change_master,
    wait_replicas_caught_up,
    write_membership,
    write_static_topology,
)
from awsdb_testing.mysql.rewriter import DEFAULT_AURORA_VERSION, rewriter_factory
from awsdb_testing.mysql.snapshot import restore_snapshot, take_snapshot
from awsdb_testing.proxy import FaultProxy, start_proxy_group

if TYPE_CHECKING:
    from awsdb_testing.netns import NetnsNetwork

__all__ = ["MariaDBCluster", "NodeRef", "ReplicationError"]


class _Names:
    """Handle returned by :meth:`MariaDBCluster.install_names` (a context manager)."""

    def __init__(self, cluster: MariaDBCluster) -> None:
        self._cluster = cluster

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cluster.remove_names()


class MariaDBCluster:
    """N MariaDB nodes with GTID replication, emulating an Aurora MySQL cluster.

    Arguments: ``nodes`` (default 3); ``name`` (the cluster endpoint's first label);
    ``cluster_hash`` (the per-account label of the RDS names, random by default);
    ``first_ip`` / ``proxy_first_ip`` (last octet of node 1's server and proxy loopback
    address); ``server_id_base`` (added to the 1-based server ids, so two clusters can
    replicate between each other); ``instance_suffix`` (appended to ``instance-N``, for
    example ``-green-abc123`` on a blue/green target); ``stale_dns_s`` (delay before the
    writer endpoint name follows a failover); ``aurora_version`` (what
    ``SHOW VARIABLES LIKE 'aurora_version'`` answers); ``pristine`` (a ready
    ``mariadb-install-db`` data directory to copy instead of running the initialiser);
    ``network`` (a created :class:`~awsdb_testing.netns.NetnsNetwork` to run each node in
    its own network namespace; root only).
    """

    def __init__(
        self,
        nodes: int = 3,
        *,
        name: str = "mdb",
        cluster_hash: str | None = None,
        region: str = "us-east-1",
        first_ip: int = 11,
        proxy_first_ip: int = 31,
        server_id_base: int = 0,
        instance_suffix: str = "",
        stale_dns_s: float = 0.0,
        aurora_version: str = DEFAULT_AURORA_VERSION,
        pristine: Path | None = None,
        network: NetnsNetwork | None = None,
        binaries: MariaDBBinaries | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        if cluster_hash is not None and not re.fullmatch(r"[a-z0-9]+", cluster_hash):
            raise ValueError("cluster_hash must be lowercase alphanumeric")
        bins = binaries or find_mariadb()
        if bins is None:
            raise FileNotFoundError(
                "MariaDB is not installed (mariadbd / mariadb-install-db not found); "
                "run scripts/install-system-deps.sh or apt-get install mariadb-server"
            )
        self._bins = bins
        self._count = nodes
        self.name = name
        self.cluster_hash = cluster_hash or random_hash()
        self.region = region
        self._first_ip = first_ip
        self._proxy_first_ip = proxy_first_ip
        self._server_id_base = server_id_base
        if instance_suffix and not re.fullmatch(r"[a-z0-9-]+", instance_suffix):
            raise ValueError("instance_suffix must be lowercase alphanumeric or '-'")
        self._instance_suffix = instance_suffix
        self.stale_dns_s = stale_dns_s
        self.aurora_version = aurora_version
        self._pristine_src = pristine
        self._network = network
        self._user: ServerUser | None = server_user("mysql")
        self._base: Path | None = None
        self._nodes: list[MariaDBNode] = []
        self._ctl_conns: dict[int, Any] = {}
        self._lock = threading.RLock()
        self._names_installed = False
        self._endpoint_writer: int = 1  # index the writer endpoint name points at
        self._dns_timer: threading.Timer | None = None
        self._has_snapshot = False
        self.timings: dict[str, float] = {}

    # ================================================================== lifecycle

    def start(self) -> Self:
        """Create and start the cluster (fresh from ``mariadb-install-db``); returns ``self``."""
        t0 = time.monotonic()
        base = make_run_dir("awsdb-mdb-")
        self._base = base
        get_registry().register_path(base)
        try:
            pristine = self._prepare_pristine(base)
            for _attempt in range(10):
                self._layout_nodes(base)
                for node in self._nodes:
                    if node.datadir.exists():
                        shutil.rmtree(node.datadir)
                    node.dir.mkdir(parents=True, exist_ok=True)
                    shutil.copytree(pristine, node.datadir, symlinks=True)
                    chown_tree(node.dir, self._user)
                try:
                    self._start_servers({n.index: n.index != 1 for n in self._nodes})
                    break
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:
                        raise
                    self._kill_all_servers()
            else:
                raise OSError(errno.EADDRINUSE, "could not find a free port for MariaDB")
            self.timings["servers_up"] = time.monotonic() - t0
            bootstrap_primary(self, self._nodes[0])
            for node in self._nodes[1:]:
                change_master(self, node, self._nodes[0], use_gtid="slave_pos")
            wait_replicas_caught_up(self, self._nodes[0], timeout=30.0)
            self._start_proxies()
            self._nodes[0].was_writer = True
            self._endpoint_writer = 1
        except BaseException:
            self.close()
            raise
        self.timings["create"] = time.monotonic() - t0
        return self

    def close(self) -> None:
        """Kill every server by PID, stop the proxies, remove names and the base directory."""
        with self._lock:
            if self._dns_timer is not None:
                self._dns_timer.cancel()
                self._dns_timer = None
            if self._names_installed:
                self.remove_names()
            self._drop_ctl_conns()
            self._kill_all_servers()
            for node in self._nodes:
                if node.proxy is not None:
                    node.proxy.stop()
                    node.proxy = None
            if self._base is not None:
                remove_tree(self._base)
                get_registry().unregister_path(self._base)
                self._base = None

    def __enter__(self) -> Self:
        if self._base is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ================================================================== inspection

    @property
    def nodes(self) -> list[NodeInfo]:
        """Every node, with the client-facing (proxy) address and the current server PID."""
        return [self._info(n) for n in self._nodes]

    @property
    def base_dir(self) -> Path:
        """The cluster's run directory."""
        if self._base is None:
            raise RuntimeError("cluster not started")
        return self._base

    def node(self, ref: NodeRef) -> NodeInfo:
        """The :class:`NodeInfo` of ``ref``."""
        return self._info(self._node(ref))

    def proxy(self, ref: NodeRef) -> FaultProxy:
        """The rewriting fault proxy in front of ``ref`` (all fault operations work on it)."""
        node = self._node(ref)
        if node.proxy is None:
            raise RuntimeError("proxies not started")
        return node.proxy

    @property
    def proxies(self) -> list[FaultProxy]:
        """All proxies, in node order."""
        return [self.proxy(n.index) for n in self._nodes]

    def server_address(self, ref: NodeRef) -> tuple[str, int]:
        """The server's own TCP address (no rewriting, no proxy faults)."""
        node = self._node(ref)
        return node.host, node.port

    def pids(self) -> dict[str, int]:
        """Server PID of every running node, by instance id (same shape as ``PgCluster``)."""
        return {n.instance_id: n.proc.pid for n in self._nodes if n.proc is not None and n.alive()}

    def writer(self) -> NodeInfo:
        """The node whose server is writable (``@@read_only = 0``), asking every live node.

        Raises ``LookupError`` when no live node is writable. With several writable nodes
        (a split brain) the lowest index is returned; :meth:`writers` lists them all.
        """
        found = self.writers()
        if not found:
            raise LookupError("no writable node")
        return found[0]

    def writers(self) -> list[NodeInfo]:
        """Every live node that reports ``@@read_only = 0``."""
        out = []
        for node in self._live_nodes():
            rows = self._q(node, "SELECT @@read_only")
            if rows and int(rows[0][0]) == 0:
                out.append(self._info(node))
        return out

    def readers(self) -> list[NodeInfo]:
        """Every live node that reports ``@@read_only = 1``."""
        out = []
        for node in self._live_nodes():
            rows = self._q(node, "SELECT @@read_only")
            if rows and int(rows[0][0]) == 1:
                out.append(self._info(node))
        return out

    def reported_writers(self, ref: NodeRef) -> list[str]:
        """The instance ids ``ref``'s emulated ``replica_host_status`` reports as writer."""
        return sorted(str(r[0]) for r in self._q(self._node(ref), WRITER_QUERY))

    def replication_status(self, ref: NodeRef) -> dict[str, Any] | None:
        """``SHOW SLAVE STATUS`` of ``ref`` as a dict (``None`` when it is no replica)."""
        conn = self._ctl(self._node(ref))
        cur = conn.cursor(dictionary=True)
        try:
            cur.execute("SHOW SLAVE STATUS")
            rows = cur.fetchall()
        finally:
            cur.close()
        return dict(rows[0]) if rows else None

    # ================================================================== connections

    def superuser_connect(self, ref: NodeRef) -> Any:
        """A new root connection over the node's unix socket (the control path)."""
        node = self._node(ref)
        return mysql.connector.connect(
            unix_socket=str(node.socket_path),
            user="root",
            use_pure=True,
            autocommit=True,
            connection_timeout=10,
        )

    def app_conninfo_kwargs(self, ref: NodeRef, *, direct: bool = False) -> dict[str, Any]:
        """``mysql.connector.connect`` arguments for the ``app`` user.

        By default through the node's rewriting proxy; ``direct=True`` connects to the server
        itself (no rewriting, no proxy faults).
        """
        node = self._node(ref)
        if direct:
            host, port = node.host, node.port
        else:
            host, port = self.proxy(node.index).address
        return {
            "host": host,
            "port": port,
            "user": APP_USER,
            "password": APP_PASSWORD,
            "database": "appdb",
            "use_pure": True,
        }

    def app_dsn(self, ref: NodeRef, *, direct: bool = False) -> str:
        """A ``mysql://`` URL for the ``app`` user (through the proxy unless ``direct``)."""
        kw = self.app_conninfo_kwargs(ref, direct=direct)
        return f"mysql://{kw['user']}:{kw['password']}@{kw['host']}:{kw['port']}/{kw['database']}"

    def connect_app(self, ref: NodeRef, *, direct: bool = False, **extra: Any) -> Any:
        """Open a mysql-connector connection as ``app`` (``extra`` overrides arguments)."""
        kw = self.app_conninfo_kwargs(ref, direct=direct)
        kw.update(extra)
        return mysql.connector.connect(**kw)

    # ================================================================== host names

    @property
    def domain(self) -> str:
        """``<clusterhash>.<region>.rds.amazonaws.com``."""
        return f"{self.cluster_hash}.{self.region}.rds.amazonaws.com"

    @property
    def writer_endpoint(self) -> str:
        """The cluster (writer) endpoint name."""
        return f"{self.name}.cluster-{self.domain}"

    @property
    def reader_endpoint(self) -> str:
        """The reader endpoint name."""
        return f"{self.name}.cluster-ro-{self.domain}"

    @property
    def instance_host_pattern(self) -> str:
        """The ``cluster_instance_host_pattern`` that maps instance ids to names."""
        return f"?.{self.domain}"

    @property
    def port(self) -> int:
        """The port every proxy (and so every Aurora-shaped name) listens on."""
        return self.proxy(1).port

    def instance_name(self, ref: NodeRef) -> str:
        """``instance-N.<clusterhash>.<region>.rds.amazonaws.com``."""
        return f"{self._node(ref).instance_id}.{self.domain}"

    def host_map(self) -> dict[str, str]:
        """Aurora-shaped names → proxy addresses (writer endpoint as the controller set it)."""
        out = {self.instance_name(n.index): self.proxy(n.index).host for n in self._nodes}
        writer = self._node(self._endpoint_writer)
        out[self.writer_endpoint] = self.proxy(writer.index).host
        readers = [n for n in self._nodes if n.index != writer.index] or [writer]
        out[self.reader_endpoint] = self.proxy(readers[0].index).host
        return out

    def install_names(self) -> _Names:
        """Put :meth:`host_map` into the process resolver; use as a context manager to undo."""
        with self._lock:
            get_resolver().update(self.host_map())
            self._names_installed = True
        return _Names(self)

    def remove_names(self) -> None:
        """Remove this cluster's names from the process resolver."""
        with self._lock:
            if not self._nodes or self._nodes[0].proxy is None:
                self._names_installed = False
                return
            resolver = get_resolver()
            for name in self.host_map():
                resolver.remove(name)
            self._names_installed = False

    def point_writer_endpoint(self, ref: NodeRef) -> None:
        """Point the writer endpoint name at ``ref`` now (a DNS update)."""
        with self._lock:
            node = self._node(ref)
            self._endpoint_writer = node.index
            if self._names_installed:
                get_resolver().update(self.host_map())

    # ================================================================== node control

    def kill(self, ref: NodeRef) -> None:
        """SIGKILL the node's server."""
        node = self._node(ref)
        self._drop_ctl(node)
        if node.proc is not None:
            node.proc.kill()
            node.proc = None

    def stop(self, ref: NodeRef) -> None:
        """Stop the node's server cleanly (SIGTERM, wait for the PID)."""
        node = self._node(ref)
        self._drop_ctl(node)
        if node.proc is not None:
            node.proc.stop()
            node.proc = None

    def pause(self, ref: NodeRef) -> None:
        """SIGSTOP the node's server: clients hang as on a frozen host."""
        node = self._node(ref)
        if node.proc is not None and node.alive():
            os.kill(node.proc.pid, signal.SIGSTOP)

    def resume(self, ref: NodeRef) -> None:
        """SIGCONT a paused node."""
        node = self._node(ref)
        if node.proc is not None and node.alive():
            os.kill(node.proc.pid, signal.SIGCONT)

    def start_node(self, ref: NodeRef, *, writable: bool | None = None) -> NodeInfo:
        """Start a stopped node; replication resumes where it was configured.

        ``writable=None`` starts it writable only if it was the writer and no live node is
        writable now; otherwise read-only.
        """
        node = self._node(ref)
        if node.alive():
            return self._info(node)
        if writable is None:
            writable = node.was_writer and not self.writers()
        self._start_servers({node.index: not writable})
        if self.replication_status(node.index) is not None:
            self._q(node, "START SLAVE")
        return self._info(node)

    def rejoin(self, ref: NodeRef, *, timeout: float = 30.0) -> float:
        """Bring ``ref`` back as a replica of the current writer; returns seconds taken.

        The node is started read-only if needed and repointed with
        ``MASTER_USE_GTID=current_pos`` (its own GTIDs live in its binlog). If replication
        fails (for example its binlog has transactions the new writer never received), the
        node is re-cloned.
        """
        return rejoin_node(self, ref, timeout=timeout)

    def reclone(self, ref: NodeRef, *, timeout: float = 60.0) -> float:
        """Rebuild ``ref`` from a pristine data directory, replaying the writer's binlog."""
        return reclone_node(self, ref, timeout=timeout)

    # ================================================================== failover

    def failover(
        self,
        target: NodeRef | None = None,
        kill: bool = True,
        no_writer_window_s: float = 0.0,
        *,
        converge_timeout: float = 30.0,
    ) -> FailoverReport:
        """Kill (or stop) the writer, promote a replica, repoint the others.

        ``target`` picks the new writer; by default the replica that received the most
        (highest GTID). Steps in the report, seconds from the kill: ``killed``, ``promoted``
        (read-only off), ``writable`` (first write committed on the new writer),
        ``repointed``, ``converged`` (every live node reports the new writer),
        ``replicated`` (a marker row written on the new writer is on every replica). The old
        writer stays down; call :meth:`rejoin` to bring it back.
        """
        return run_failover(
            self, target, kill, no_writer_window_s, converge_timeout=converge_timeout
        )

    def wait_converged(self, timeout: float = 30.0) -> float:
        """Wait until one live node is writable, every live node reports it as the writer
        and every replica has applied the writer's binlog; returns seconds waited."""
        return wait_converged(self, timeout)

    # ================================================================== topology

    def set_topology_static(self, rows: list[TopologyRow]) -> None:
        """Make every node report exactly ``rows`` (zero, one or several writers)."""
        write_static_topology(self, rows)

    def set_live(self) -> None:
        """Return to live mode with one fresh membership row per node."""
        writer = self._node(self.writer().instance_id)
        write_membership(self, writer, live=True)
        wait_replicas_caught_up(self, writer, timeout=30.0)

    # ================================================================== snapshot

    def snapshot(self) -> float:
        """Stop the cluster cleanly, copy its data directories, start it again.

        The cluster must be converged (every replica caught up). Returns seconds taken.
        """
        return take_snapshot(self)

    def restore(self) -> float:
        """SIGKILL everything, copy the snapshot back, start and wait for replication.

        Proxies are healed and the writer endpoint points at the snapshot's writer again.
        Returns seconds taken.
        """
        return restore_snapshot(self)

    # ================================================================== internals

    def _node(self, ref: NodeRef) -> MariaDBNode:
        if isinstance(ref, NodeInfo):
            ref = ref.instance_id
        for node in self._nodes:
            if (isinstance(ref, int) and node.index == ref) or (
                isinstance(ref, str) and ref in (node.instance_id, node.host)
            ):
                return node
        raise KeyError(f"no node {ref!r}")

    def _info(self, node: MariaDBNode) -> NodeInfo:
        host, port = node.proxy.address if node.proxy is not None else (node.host, node.port)
        return NodeInfo(
            instance_id=node.instance_id,
            host=host,
            port=port,
            name=f"{node.instance_id}.{self.domain}",
            pid=node.proc.pid if node.proc is not None and node.alive() else None,
        )

    def _live_nodes(self) -> list[MariaDBNode]:
        return [n for n in self._nodes if n.alive()]

    def _prepare_pristine(self, base: Path) -> Path:
        pristine = base / "pristine"
        if self._pristine_src is not None:
            shutil.copytree(self._pristine_src, pristine, symlinks=True)
            chown_tree(pristine, self._user)
        else:
            chown_tree(base, self._user)
            t0 = time.monotonic()
            install_pristine(self._bins, pristine, self._user)
            self.timings["install_db"] = time.monotonic() - t0
        return pristine

    def _layout_nodes(self, base: Path) -> None:
        if self._network is not None:
            hosts = tuple(self._network.node_ip(i + 1) for i in range(self._count))
            port = 3306
        else:
            block = allocate_loopback_block(self._count, self._first_ip)
            hosts, port = block.hosts, block.port
        self._nodes = [
            MariaDBNode(
                index=i + 1,
                instance_id=f"instance-{i + 1}{self._instance_suffix}",
                server_id=self._server_id_base + i + 1,
                host=hosts[i],
                port=port,
                dir=base / f"n{i + 1}",
            )
            for i in range(self._count)
        ]

    def _start_servers(self, read_only: dict[int, bool]) -> None:
        """Start the given nodes in parallel and wait until they accept connections."""
        started: list[MariaDBNode] = []
        for index, ro in read_only.items():
            node = self._node(index)
            prefix = self._network.exec_prefix(index) if self._network is not None else None
            node.proc = ServerProcess.start(
                server_argv(
                    self._bins, node, ro, user=self._user, in_netns=self._network is not None
                ),
                socket_path=node.socket_path,
                log=node.dir / "error.log",
                user=self._user,
                prefix=prefix,
                label=f"mariadbd {node.instance_id}",
            )
            started.append(node)
        error: BaseException | None = None
        for node in started:
            assert node.proc is not None
            try:
                node.proc.wait_ready()
            except BaseException as exc:
                error = error or exc
        if error is not None:
            raise error

    def _kill_all_servers(self) -> None:
        self._drop_ctl_conns()
        alive = [n for n in self._nodes if n.proc is not None]
        if len(alive) > 1:
            with ThreadPoolExecutor(len(alive)) as pool:
                list(pool.map(lambda n: n.proc.kill() if n.proc else None, alive))
        else:
            for node in alive:
                assert node.proc is not None
                node.proc.kill()
        for node in alive:
            node.proc = None

    def _start_proxies(self) -> None:
        hosts = [f"127.0.0.{self._proxy_first_ip + i}" for i in range(self._count)]
        targets = [(n.host, n.port) for n in self._nodes]
        proxies = start_proxy_group(
            targets,
            hosts,
            filter_factory=rewriter_factory(self.aurora_version),
            name=f"mdbproxy-{self.cluster_hash[:6]}",
        )
        for node, proxy in zip(self._nodes, proxies, strict=True):
            node.proxy = proxy

    def _schedule_endpoint_flip(self, index: int) -> None:
        if self._dns_timer is not None:
            self._dns_timer.cancel()
            self._dns_timer = None
        if self.stale_dns_s <= 0:
            self.point_writer_endpoint(index)
            return
        timer = threading.Timer(self.stale_dns_s, self.point_writer_endpoint, (index,))
        timer.daemon = True
        timer.name = f"awsdb-mdb-dns-{self.cluster_hash[:6]}"
        self._dns_timer = timer
        timer.start()

    # ---------------------------------------------------------------- control connections

    def _ctl(self, node: MariaDBNode) -> Any:
        conn = self._ctl_conns.get(node.index)
        if conn is None:
            conn = self.superuser_connect(node.index)
            self._ctl_conns[node.index] = conn
        return conn

    def _q(self, node: MariaDBNode, sql: str, params: tuple[Any, ...] | None = None) -> list[Any]:
        """Run ``sql`` as root on ``node`` (one reconnect on a lost control connection)."""
        for attempt in (1, 2):
            conn = self._ctl(node)
            try:
                cur = conn.cursor()
                try:
                    cur.execute(sql, params)
                    rows = cur.fetchall() if cur.with_rows else []
                finally:
                    cur.close()
                return list(rows)
            except (mysql.connector.errors.InterfaceError, mysql.connector.errors.OperationalError):
                self._drop_ctl(node)
                if attempt == 2 or not node.alive():
                    raise
        raise AssertionError("unreachable")

    def _drop_ctl(self, node: MariaDBNode) -> None:
        conn = self._ctl_conns.pop(node.index, None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _drop_ctl_conns(self) -> None:
        for node in self._nodes:
            self._drop_ctl(node)

    def __iter__(self) -> Iterator[NodeInfo]:
        return iter(self.nodes)
