"""200 connections of the default chain on one emulated Aurora PostgreSQL cluster.

One topology monitor serves them all and holds the only extra server connection; a writer
crash fails every one of them over; closing them and :func:`awsdb.release_resources` return
the process's threads and file descriptors and the servers' backends to their baseline.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb.monitors import MonitorHealth
from awsdb.topology import TopologyMonitor
from awsdb_testing.pg import PgBinaries, PgCluster, PgClusterConfig

pytestmark = pytest.mark.pg

CONNECTIONS = 200
WORKERS = 8
APP = "scale"  # application_name of the application's connections
MONITOR_APP = "scale-monitor"  # ... and of the topology monitor's (and its probes')
EFM_APP = "scale-efm"  # ... and of efm's probes (none: no call outlasts the grace period)
# The design's promise: one monitoring connection per cluster in the steady state; while
# the monitor looks for a new writer it probes every instance on a connection of its own.
STEADY_EXTRA = 1
NODES = 3
_WAIT_S = 60.0


@pytest.fixture(scope="module")
def big_cluster(pg_binaries: PgBinaries, awsdb_leak_check: None) -> Iterator[PgCluster]:
    """A 3-node cluster whose servers accept 300 connections each (names installed)."""
    cluster = PgCluster(PgClusterConfig(bins=pg_binaries, max_connections=300, first_octet=41))
    try:
        cluster.start()
        with cluster.names_installed():
            yield cluster
    finally:
        cluster.close()


def _connect(cluster: PgCluster) -> Any:
    # no plugins=: the default chain (initial_connection, aurora_connection_tracker, failover)
    return awsdb.connect(
        psycopg.Connection.connect,
        f"host={cluster.names.writer_endpoint} port={cluster.nodes[0].port} user=app dbname=app",
        autocommit=True,
        application_name=APP,
        topology_refresh_ms=300,
        failover_timeout_sec=60,
        **{
            "topology-monitoring-application_name": MONITOR_APP,
            "monitoring-application_name": EFM_APP,
        },
    )


def _backends(cluster: PgCluster) -> Counter[str]:
    """The ``app`` role's client backends on every running node, by application_name."""
    counts: Counter[str] = Counter()
    for node in cluster.nodes:
        if node.instance_id not in cluster.pids():
            continue
        try:
            with cluster.superuser_connect(node.instance_id) as admin:
                rows = admin.execute(
                    "SELECT application_name, count(*) FROM pg_catalog.pg_stat_activity "
                    "WHERE usename = 'app' AND backend_type = 'client backend' "
                    "GROUP BY application_name"
                ).fetchall()
        except psycopg.OperationalError:
            continue  # the node went down while asked
        for name, count in rows:
            counts[str(name)] += int(count)
    return counts


def _extra(counts: Counter[str]) -> int:
    return sum(counts.values()) - counts[APP]


def _open_fds() -> set[tuple[str, str]]:
    """The process's open descriptors with what they point at (a socket's inode, a path)."""
    fds = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
        except OSError:
            continue  # closed meanwhile (or the listing's own descriptor)
    return fds


def _wait_until(check: Callable[[], bool], what: str) -> None:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > _WAIT_S:
            pytest.fail(f"not within {_WAIT_S:g} s: {what}")
        time.sleep(0.05)


def _monitors(conn: Any) -> dict[Any, MonitorHealth | None]:
    monitors = conn.plugin_service.services.monitors
    keys = monitors.keys()  # a MonitorService, not a dict: keys() is its public listing
    return {key: monitors.health(key) for key in keys}


def _assert_one_topology_monitor(conn: Any) -> None:
    """One topology monitor serves the cluster; the others are efm's (one per instance)."""
    monitors = _monitors(conn)
    topology = {k: h for k, h in monitors.items() if k[0] == "topology"}
    assert len(topology) == 1, monitors
    ((key, health),) = topology.items()
    assert health is not None and health.alive
    assert health.refs >= CONNECTIONS  # every connection's plugins lease the one monitor
    assert isinstance(conn.plugin_service.services.monitors.get(key), TopologyMonitor)
    others = [k for k in monitors if k[0] != "topology"]
    assert all(k[0] == "efm" for k in others), others
    assert len({k[1] for k in others}) == len(others) <= NODES, others


def _instance(conn: Any) -> str:
    row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
    return str(row[0])


@dataclass
class _Peaks:
    """Highest server-side connection and thread counts seen while the test runs."""

    backends: int = 0
    extra: int = 0
    threads: int = 0
    fds: int = 0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def sample(self, cluster: PgCluster) -> None:
        counts = _backends(cluster)
        self.backends = max(self.backends, sum(counts.values()))
        self.extra = max(self.extra, _extra(counts))
        self.threads = max(self.threads, threading.active_count() - 1)  # not the sampler
        self.fds = max(self.fds, len(_open_fds()))

    def run(self, cluster: PgCluster) -> None:
        while not self._stop.wait(0.02):
            self.sample(cluster)

    def stop(self) -> None:
        self._stop.set()


def _fail_over(conn: Any) -> str:
    """The next call of ``conn`` reports the failover; the one after runs on the new writer."""
    with pytest.raises((awsdb.FailoverSuccessError, awsdb.TransactionResolutionUnknownError)):
        conn.execute("SELECT 1")
    return _instance(conn)


def test_200_connections_one_monitor_fail_over_and_release_everything(
    big_cluster: PgCluster, record_property: Callable[[str, object], None]
) -> None:
    cluster = big_cluster
    started = time.monotonic()
    awsdb.release_resources()
    gc.collect()
    threads_before = set(threading.enumerate())
    fds_before = _open_fds()
    backends_before = _backends(cluster)
    assert sum(backends_before.values()) == 0, backends_before

    peaks = _Peaks()
    sampler = threading.Thread(target=peaks.run, args=(cluster,), name="scale-sampler")
    sampler.start()
    conns: list[Any] = []
    try:
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="scale-open") as pool:
            conns = list(pool.map(lambda _: _connect(cluster), range(CONNECTIONS)))
        _assert_one_topology_monitor(conns[0])

        # every connection works, on the writer
        with ThreadPoolExecutor(WORKERS) as pool:
            on = Counter(pool.map(_instance, conns))
        assert on == {"instance-1": CONNECTIONS}

        # server side: the application's connections plus the monitoring connection
        _wait_until(
            lambda: _backends(cluster)[APP] == CONNECTIONS,
            f"{CONNECTIONS} application backends",
        )
        _wait_until(lambda: _extra(_backends(cluster)) <= STEADY_EXTRA, "one monitor backend")
        steady = _backends(cluster)
        assert steady == {APP: CONNECTIONS, MONITOR_APP: STEADY_EXTRA}, steady

        cluster.failover()
        new_writer = cluster.writer().instance_id
        assert new_writer != "instance-1"
        with ThreadPoolExecutor(WORKERS) as pool:
            after = Counter(pool.map(_fail_over, conns))
        assert after == {new_writer: CONNECTIONS}
        _assert_one_topology_monitor(conns[0])
        _wait_until(
            lambda: _extra(_backends(cluster)) <= STEADY_EXTRA,
            "the monitor's probes are gone after the failover",
        )
        settled = _backends(cluster)
        assert settled == {APP: CONNECTIONS, MONITOR_APP: STEADY_EXTRA}, settled
    finally:
        for conn in conns:
            conn.close()
        peaks.stop()
        sampler.join()
    peaks.sample(cluster)
    # the monitoring connection, plus at most one probe per instance during the search
    assert peaks.extra <= STEADY_EXTRA + NODES, peaks

    awsdb.release_resources()
    del conns
    gc.collect()
    # nothing this test started is left (what ended meanwhile was not the test's)
    assert set(threading.enumerate()) - threads_before == set()
    assert _open_fds() - fds_before == set()
    _wait_until(
        lambda: _backends(cluster) == backends_before,
        "the servers' backends are back to the baseline",
    )
    elapsed = time.monotonic() - started
    for name, value in (
        ("elapsed_s", round(elapsed, 2)),
        ("peak_backends", peaks.backends),
        ("peak_extra_backends", peaks.extra),
        ("peak_threads", peaks.threads),
        ("peak_fds", peaks.fds),
        ("threads_before", len(threads_before)),
        ("fds_before", len(fds_before)),
    ):
        record_property(name, value)
    print(
        f"scale: elapsed {elapsed:.2f} s, peaks {peaks}, baseline threads "
        f"{len(threads_before)} fds {len(fds_before)}"
    )
