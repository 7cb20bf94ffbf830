"""Building a PostgreSQL cluster: from scratch (initdb, base backups) or from a snapshot.

Snapshots are cached on tmpfs per cluster shape (:func:`snapshot_cache_root`), so that most
clusters start by copying data directories instead of running initdb. The functions work on
a :class:`~awsdb_testing.pg.cluster.PgCluster`, whose ``start``, ``snapshot`` and
``restore`` call them.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from awsdb_testing._procs import chown_tree, remove_tree, run_as_kwargs
from awsdb_testing.pg.emulation import EMULATION_SQL, EMULATION_VERSION, SHADOW_SETTINGS_SQL
from awsdb_testing.pg.node import PgNode, common_settings

if TYPE_CHECKING:
    from awsdb_testing.pg.cluster import PgCluster

__all__ = [
    "build_fresh",
    "cache_key",
    "copy_nodes",
    "ensure_cached_snapshot",
    "purge_snapshot_cache",
    "restore_from",
    "snapshot_cache_root",
    "start_all",
    "wait_streaming",
]


def snapshot_cache_root() -> Path:
    """Where cached cluster snapshots live: ``/dev/shm/awsdb-pgcache-<uid>/``.

    Set ``AWSDB_PG_CACHE_DIR`` to use another directory.
    """
    env = os.environ.get("AWSDB_PG_CACHE_DIR")
    if env:
        return Path(env)
    parent = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    return parent / f"awsdb-pgcache-{os.getuid()}"


def purge_snapshot_cache() -> None:
    """Delete every cached snapshot (they are rebuilt on next use)."""
    remove_tree(snapshot_cache_root())


def cache_key(cluster: PgCluster) -> str:
    """The cache entry name of this cluster's shape (PostgreSQL, emulation, nodes)."""
    return f"pg{cluster.bins.version}-emu{EMULATION_VERSION}-n{cluster.config.nodes}"


def ensure_cached_snapshot(cluster: PgCluster) -> Path:
    """The cached snapshot for ``cluster``'s shape, built by a throw-away cluster if missing."""
    from awsdb_testing.pg.cluster import PgCluster, PgClusterConfig

    root = snapshot_cache_root()
    snap = root / cache_key(cluster)
    if (snap / "meta.json").exists():
        return snap
    root.mkdir(mode=0o755, exist_ok=True)
    for old in root.glob(f"pg{cluster.bins.version}-emu*-n{cluster.config.nodes}"):
        if old.name != snap.name:  # built by an older emulation version
            remove_tree(old)
    tmp = _mkdtemp_in(root)
    if cluster.user is not None:
        os.chown(root, cluster.user.uid, cluster.user.gid)
        os.chown(tmp, cluster.user.uid, cluster.user.gid)
    try:
        builder = PgCluster(
            PgClusterConfig(
                nodes=cluster.config.nodes,
                first_octet=cluster.config.first_octet,
                port=None if cluster.config.network is not None else cluster._nodes[0].port,
                base_dir=tmp / "build",
                use_cache=False,
                bins=cluster.bins,
            )
        )
        (tmp / "build").mkdir()
        builder.start()
        try:
            writer = builder._nodes[0]
            for n in builder._nodes:  # writer first: standbys get its shutdown checkpoint
                n.stop()
            copy_nodes(tmp / "build", tmp / "snap", builder._nodes)
            (tmp / "snap" / "meta.json").write_text(json.dumps({"writer": writer.index}))
        finally:
            builder.close()
        with contextlib.suppress(OSError):  # another process may have won the race
            os.rename(tmp / "snap", snap)
    finally:
        remove_tree(tmp)
    if not (snap / "meta.json").exists():
        raise RuntimeError(f"could not create the snapshot cache {snap}")
    return snap


def copy_nodes(src_base: Path, dst_base: Path, nodes: list[PgNode]) -> None:
    """Copy the data directories of ``nodes`` from ``src_base`` to ``dst_base`` (``cp -a``)."""
    dst_base.mkdir(parents=True, exist_ok=True)
    for n in nodes:
        (dst_base / f"n{n.index}").mkdir(exist_ok=True)
    procs = [
        subprocess.Popen(
            ["cp", "-a", str(src_base / f"n{n.index}" / "data"), str(dst_base / f"n{n.index}")]
        )
        for n in nodes
    ]
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError(f"copying {src_base} to {dst_base} failed")
    for n in nodes:
        with contextlib.suppress(FileNotFoundError):
            (dst_base / f"n{n.index}" / "data" / "postmaster.pid").unlink()


def restore_from(cluster: PgCluster, snap: Path) -> None:
    """Replace every node's data with the snapshot ``snap`` and start the cluster."""
    assert cluster.base is not None
    meta = json.loads((snap / "meta.json").read_text())
    for n in cluster._nodes:
        remove_tree(n.dir)
    copy_nodes(snap, cluster.base, cluster._nodes)
    if cluster.user is not None:
        for n in cluster._nodes:
            os.chown(n.dir, cluster.user.uid, cluster.user.gid)
    writer = cluster._node(int(meta["writer"]))
    start_all(cluster, writer, reset_membership=True)


def start_all(cluster: PgCluster, writer: PgNode, reset_membership: bool = False) -> None:
    """Start every node (``writer`` as primary, the others as its standbys); wait for streaming."""
    for n in cluster._nodes:
        n.write_node_conf()
        if n is not writer:
            n.make_standby_of(writer)
    for n in cluster._nodes:
        n.spawn()
    for n in cluster._nodes:
        n.wait_ready()
    with writer.connect() as conn:
        conn.execute("SET synchronous_commit = local")
        if reset_membership:
            cluster._write_membership(conn, writer.instance_id)
            conn.execute("UPDATE aurora_emu.config SET live = true")
        wait_streaming(conn, [n for n in cluster._nodes if n is not writer])
        cluster._wait_replayed(conn)
    cluster._endpoint_writer = writer.instance_id


def wait_streaming(conn: psycopg.Connection, replicas: list[PgNode], timeout: float = 30.0) -> None:
    """Wait until every replica in ``replicas`` streams from the primary behind ``conn``."""
    want = {n.instance_id for n in replicas}
    deadline = time.monotonic() + timeout
    while want:
        rows = conn.execute(
            "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'"
        ).fetchall()
        if want <= {r[0] for r in rows}:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"replicas not streaming: {sorted(want)}")
        time.sleep(0.01)


def build_fresh(cluster: PgCluster, base: Path) -> None:
    """Build the cluster from scratch: initdb, the emulation objects, base backups."""
    t0 = time.monotonic()
    primary, replicas = cluster._nodes[0], cluster._nodes[1:]
    primary.dir.mkdir(parents=True, exist_ok=True)
    chown_tree(primary.dir, cluster.user)
    primary.run_tool(
        [
            cluster.bins.tool("initdb"),
            "-D",
            str(primary.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--wal-segsize=1",
        ]
    )
    cluster.timings["initdb"] = time.monotonic() - t0
    with (primary.data / "postgresql.conf").open("a") as fh:
        fh.write("\n# awsdb-testing\n" + common_settings())
    (primary.data / "pg_hba.conf").write_text(
        "local all all trust\n"
        "local replication all trust\n"
        "host all all 127.0.0.0/8 trust\n"
        "host replication all 127.0.0.0/8 trust\n"
        "host all all 10.231.0.0/16 trust\n"
        "host replication all 10.231.0.0/16 trust\n"
    )
    primary.write_node_conf()
    primary.start()
    with primary.connect("template1") as conn:
        conn.execute(EMULATION_SQL)
        conn.execute(SHADOW_SETTINGS_SQL)
    with primary.connect("postgres") as conn:
        conn.execute("CREATE ROLE app LOGIN")
        conn.execute("CREATE DATABASE app OWNER app")
    with primary.connect() as conn:
        conn.execute("GRANT ALL ON TABLE public.t TO app")
        conn.execute("GRANT ALL ON SEQUENCE public.t_id_seq TO app")
        cluster._write_membership(conn, primary.instance_id)
    t1 = time.monotonic()
    procs = []
    for n in replicas:
        n.dir.mkdir(parents=True, exist_ok=True)
        chown_tree(n.dir, cluster.user)
        procs.append(
            subprocess.Popen(
                [
                    cluster.bins.tool("pg_basebackup"),
                    "-D",
                    str(n.data),
                    "-h",
                    str(primary.sock),
                    "-p",
                    str(primary.port),
                    "-U",
                    "postgres",
                    "-R",
                    "-X",
                    "stream",
                    "--checkpoint=fast",
                    "--no-sync",
                    "--no-manifest",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd="/",
                **run_as_kwargs(cluster.user),
            )
        )
    for p in procs:
        out, _ = p.communicate(timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"pg_basebackup failed: {out.decode(errors='replace')}")
    cluster.timings["basebackup"] = time.monotonic() - t1
    for n in replicas:
        n.write_node_conf()
        n.make_standby_of(primary)
        n.spawn()
    for n in replicas:
        n.wait_ready()
    with primary.connect() as conn:
        wait_streaming(conn, replicas)
    cluster.timings["fresh"] = time.monotonic() - t0


def _mkdtemp_in(root: Path) -> Path:
    path = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    path.chmod(0o755)
    return path
