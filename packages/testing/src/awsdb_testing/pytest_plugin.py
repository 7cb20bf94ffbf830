"""pytest plugin of awsdb-testing: fixtures for local emulated clusters (requested explicitly).

Nothing starts unless a test requests a fixture. PostgreSQL fixtures:

- ``pg_binaries`` (session): the server binaries; skips when none are found, fails under
  ``CI=true`` so that a missing server never turns into a green run.
- ``pg_snapshot`` (session): the cached tmpfs snapshot the clusters start from.
- ``pg_cluster`` (session): a shared 3-node cluster for tests that change neither roles nor
  data (node 1 is the writer, live mode).
- ``fresh_pg_cluster`` (function): the shared cluster for a destructive test; afterwards
  every server is SIGKILLed and the snapshot restored (node 1 writer again).
- ``pg_names`` (function): the shared cluster's Aurora-shaped names installed in the
  process resolver for the duration of the test.
- ``pg_proxies`` (function): a fault proxy in front of every node (plus writer and reader
  endpoint proxies that follow failovers), with the names published for the proxies.
- ``pg_netns_cluster`` (session, root only): a cluster whose nodes live in their own
  network namespaces, for kernel-level faults (link down, nft drop/reject).
- ``awsdb_leak_check`` (session): after the run, fails if a server PID started during the
  session is still alive, a ``/dev/shm/PostgreSQL.*`` segment appeared, or a run
  directory is left. Every cluster fixture depends on it.

MariaDB fixtures (from ``awsdb_testing.mysql.fixtures``): ``mdb_cluster`` (session),
``fresh_mdb_cluster`` and ``mdb_proxies`` (function), and ``netns_network`` (root only).

All servers are also killed by PID by an ``atexit`` safety net when the run is interrupted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from awsdb_testing._procs import get_registry, kill_tree, leak_report, shm_segments

if TYPE_CHECKING:
    from awsdb_testing.mysql.cluster import MariaDBCluster
    from awsdb_testing.netns import NetnsNetwork
    from awsdb_testing.pg import PgBinaries, PgCluster
    from awsdb_testing.pg.proxies import PgProxies
    from awsdb_testing.proxy import FaultProxy

__all__ = [
    "awsdb_leak_check",
    "fresh_mdb_cluster",
    "fresh_pg_cluster",
    "in_ci",
    "mdb_cluster",
    "mdb_proxies",
    "netns_network",
    "pg_binaries",
    "pg_cluster",
    "pg_names",
    "pg_netns_cluster",
    "pg_proxies",
    "pg_snapshot",
]


def in_ci() -> bool:
    """True when running under CI (``CI=true``): missing engines fail instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def awsdb_leak_check() -> Iterator[None]:
    """Fail the session if a server process, shared-memory segment or run dir is left."""
    registry = get_registry()
    shm_before = shm_segments()
    pids_before = set(registry.ever_started())
    yield
    # alive and still ours: a PID the kernel gave to another program since is not a leak
    started = [p for p in registry.ever_started() if p not in pids_before and registry.ours(p)]
    paths = list(registry.paths())
    problems = leak_report(started, paths=paths, shm_before=shm_before)
    if problems:
        for pid in started:
            kill_tree(pid, timeout=5.0)
        registry.kill_all()
        pytest.fail("awsdb-testing leak check: " + "; ".join(problems))


@pytest.fixture(scope="session")
def pg_binaries() -> PgBinaries:
    """The PostgreSQL binaries (skip, or fail under ``CI=true``, when there are none)."""
    from awsdb_testing.pg import PgBinariesNotFoundError, find_pg_binaries

    try:
        return find_pg_binaries()
    except PgBinariesNotFoundError as exc:
        if in_ci():
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pg_cluster(pg_binaries: PgBinaries, awsdb_leak_check: None) -> Iterator[PgCluster]:
    """A shared 3-node Aurora-PostgreSQL emulation, started from the snapshot cache."""
    from awsdb_testing.pg import PgCluster, PgClusterConfig

    cluster = PgCluster(PgClusterConfig(bins=pg_binaries))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def pg_snapshot(pg_cluster: PgCluster) -> Path:
    """The snapshot the shared cluster was started from (and is restored from)."""
    snap = pg_cluster.snapshot_path
    assert snap is not None
    return snap


@pytest.fixture
def fresh_pg_cluster(pg_cluster: PgCluster) -> Iterator[PgCluster]:
    """The shared cluster for a destructive test; restored from the snapshot afterwards."""
    try:
        yield pg_cluster
    finally:
        pg_cluster.uninstall_names()
        pg_cluster.restore()


@pytest.fixture
def pg_names(pg_cluster: PgCluster) -> Iterator[dict[str, str]]:
    """The shared cluster's Aurora-shaped host names, installed in the resolver."""
    with pg_cluster.names_installed() as mapping:
        yield mapping


@pytest.fixture
def pg_proxies(pg_cluster: PgCluster) -> Iterator[PgProxies]:
    """One fault proxy per node of the shared cluster, plus writer/reader endpoint proxies.

    The Aurora-shaped names are published in the resolver mapped to the proxies, so awsdb
    under test connects only through them. Afterwards the proxies are stopped and the names
    removed. Combine with ``fresh_pg_cluster`` for tests that also change roles or data.
    """
    from awsdb_testing.pg.proxies import pg_proxies as start_pg_proxies

    with start_pg_proxies(pg_cluster) as proxies:
        yield proxies


@pytest.fixture(scope="session")
def pg_netns_cluster(
    pg_binaries: PgBinaries, awsdb_leak_check: None
) -> Iterator[tuple[NetnsNetwork, PgCluster]]:
    """A 3-node PostgreSQL cluster with each node in its own network namespace (root only).

    Skipped cleanly without root, ``ip netns`` or ``nft`` (failed under ``CI=true`` only
    when running as root, since CI runs as root). Tests that fault it restore it with
    ``net.heal()`` and ``cluster.restore()``.
    """
    from awsdb_testing.netns import NetnsNetwork, netns_available
    from awsdb_testing.pg import PgCluster, PgClusterConfig

    ok, reason = netns_available()
    if not ok:
        if in_ci() and os.geteuid() == 0:
            pytest.fail(reason)
        pytest.skip(reason)
    with NetnsNetwork(3) as net:
        cluster = PgCluster(PgClusterConfig(bins=pg_binaries, network=net))
        try:
            cluster.start()
            yield net, cluster
        finally:
            cluster.close()


# --- MariaDB fixtures --- (wrappers around awsdb_testing.mysql.fixtures)


def _require(reason: str | None) -> None:
    if reason is not None:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def mdb_cluster(awsdb_leak_check: None) -> Iterator[MariaDBCluster]:
    """A shared 3-node MariaDB cluster emulating Aurora MySQL (with rewriting proxies)."""
    from awsdb_testing.mysql import fixtures

    _require(fixtures.mariadb_missing_reason())
    with fixtures.mdb_cluster() as cluster:
        yield cluster


@pytest.fixture
def fresh_mdb_cluster(mdb_cluster: MariaDBCluster) -> Iterator[MariaDBCluster]:
    """The shared MariaDB cluster for a destructive test; its snapshot is restored after."""
    from awsdb_testing.mysql import fixtures

    with fixtures.mdb_fresh(mdb_cluster) as cluster:
        yield cluster


@pytest.fixture
def mdb_proxies(mdb_cluster: MariaDBCluster) -> Iterator[list[FaultProxy]]:
    """The MariaDB cluster's per-node fault proxies, healed and re-aimed afterwards."""
    from awsdb_testing.mysql import fixtures

    with fixtures.mdb_proxies(mdb_cluster) as proxies:
        yield proxies


@pytest.fixture
def netns_network() -> Iterator[NetnsNetwork]:
    """Three network namespaces on a bridge (root only; skipped cleanly otherwise)."""
    from awsdb_testing.mysql import fixtures

    reason = fixtures.netns_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with fixtures.netns_network() as net:
        yield net


# --- plugin test kit ---
# Fixtures of the fake driver and the hook recorder. Nothing else is registered: the
# conformance suite is opt-in (subclass awsdb_testing.conformance.PluginConformance).

if TYPE_CHECKING:
    from awsdb_testing.fake_driver import FakeDriver
    from awsdb_testing.recorder import HookLog


@pytest.fixture
def fake_driver() -> FakeDriver:
    """A fresh :class:`~awsdb_testing.fake_driver.FakeDriver` (empty script); its dialect is
    registered with awsdb's current services, so it works with plugin autoload off too."""
    from awsdb_testing import fake_dialect
    from awsdb_testing.fake_driver import FakeDriver

    fake_dialect.register()
    return FakeDriver()


@pytest.fixture
def hook_log() -> HookLog:
    """A :class:`~awsdb_testing.recorder.HookLog` fed by a ``HookRecorder`` registered under
    the plugin code ``recorder`` (weight 1, outermost): add ``recorder`` to ``plugins=``."""
    import awsdb
    from awsdb_testing.recorder import HookLog, HookRecorder

    log = HookLog()
    awsdb.register_plugin(HookRecorder.spec(log, code="recorder", weight=1))
    return log
