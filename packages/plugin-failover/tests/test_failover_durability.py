"""Durability through failover: 8 writers, 10 SIGKILL failovers in a row, durable cluster.

The emulated Aurora PostgreSQL cluster runs in durable mode (synchronous replication: an
acknowledged commit is on a standby, and the controller promotes the most advanced one), so
a lost acknowledged commit would be awsdb's fault. Each writer thread has its own awsdb
connection (``plugins="failover"``) and commits transactions of one or two rows with unique
ids. After the failovers the final writer must hold:

- every row of every acknowledged transaction;
- no row of a transaction the client was told failed (a failover error raised by a statement
  before the commit: the transaction was rolled back);
- for an ambiguous commit (an error raised by ``commit()``), the error is
  ``TransactionResolutionUnknownError`` and the transaction is all there or not at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb_testing.pg import PgCluster, PgClusterConfig

pytestmark = [pytest.mark.pg, pytest.mark.slow]

WRITERS = 8
FAILOVERS = 10
_ID_STRIDE = 10_000_000  # thread i uses ids i * stride + n


@dataclass
class _Outcomes:
    """What one writer thread was told, by transaction (a tuple of row ids)."""

    acked: list[tuple[int, ...]] = field(default_factory=list)
    acked_on: list[str] = field(default_factory=list)  # the instance each commit was on
    failed: list[tuple[int, ...]] = field(default_factory=list)
    ambiguous: list[tuple[int, ...]] = field(default_factory=list)
    wrong_commit_errors: list[str] = field(default_factory=list)
    other_errors: list[str] = field(default_factory=list)


class _Writer:
    """One awsdb connection committing one- and two-row transactions until stopped."""

    def __init__(self, index: int, connect: Any) -> None:
        self.index = index
        self._connect = connect
        self.out = _Outcomes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"durable-writer-{index}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(120)
        assert not self._thread.is_alive(), f"writer {self.index} did not stop"

    def _run(self) -> None:
        conn = self._connect()
        n = 0
        try:
            while not self._stop.is_set():
                n += 2
                base = self.index * _ID_STRIDE + n
                ids = (base,) if n % 4 else (base, base + 1)
                try:
                    for i in ids:
                        conn.execute("INSERT INTO dur (id, w) VALUES (%s, %s)", (i, self.index))
                except (awsdb.FailoverSuccessError, awsdb.TransactionResolutionUnknownError):
                    self.out.failed.append(ids)  # rolled back; the connection is on the new writer
                    continue
                except awsdb.Error as exc:
                    self.out.other_errors.append(f"execute: {type(exc).__name__}: {exc}")
                    self.out.failed.append(ids)
                    time.sleep(0.05)
                    continue
                try:
                    conn.commit()
                except awsdb.TransactionResolutionUnknownError:
                    self.out.ambiguous.append(ids)
                    continue
                except Exception as exc:
                    self.out.wrong_commit_errors.append(f"{type(exc).__name__}: {exc}")
                    self.out.ambiguous.append(ids)
                    time.sleep(0.05)
                    continue
                host = conn.plugin_service.current_host
                self.out.acked_on.append(host.host if host is not None else "")
                self.out.acked.append(ids)
        finally:
            conn.close()


@pytest.fixture
def durable_cluster(pg_binaries: Any, awsdb_leak_check: None) -> Iterator[PgCluster]:
    """A 3-node durable (synchronous replication) cluster of its own, names installed."""
    awsdb.release_resources()
    with (
        PgCluster(PgClusterConfig(durable=True, first_octet=61, bins=pg_binaries)) as cluster,
        cluster.names_installed(),
    ):
        yield cluster
    awsdb.release_resources()


def _wait_progress(
    writers: list[_Writer], since: list[int], host: str | None, timeout: float
) -> None:
    """Until every writer acknowledged a commit after ``since`` (on ``host`` if given)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(
            any(host is None or h == host for h in w.out.acked_on[s:])
            for w, s in zip(writers, since, strict=True)
        ):
            return
        time.sleep(0.02)
    raise AssertionError(
        f"writers made no progress on {host}: "
        + ", ".join(f"{w.index}: {len(w.out.acked)}" for w in writers)
        + f"; errors {[w.out.other_errors[-3:] for w in writers]}"
    )


def test_no_acknowledged_commit_lost_no_failed_one_present(durable_cluster: PgCluster) -> None:
    cluster = durable_cluster
    with psycopg.connect(**cluster.app_conninfo_kwargs(cluster.writer()), autocommit=True) as c:
        c.execute("CREATE TABLE dur (id bigint PRIMARY KEY, w int NOT NULL)")
    endpoint = cluster.names.writer_endpoint
    port = cluster.nodes[0].port

    def connect() -> Any:
        return awsdb.connect(
            psycopg.Connection.connect,
            f"host={endpoint} port={port} user=app dbname=app connect_timeout=3",
            plugins="failover",
            failover_timeout_sec=60,
        )

    writers = [_Writer(i + 1, connect) for i in range(WRITERS)]
    for w in writers:
        w.start()
    new_writers: list[str] = []
    try:
        _wait_progress(writers, [0] * WRITERS, None, 60)
        for _ in range(FAILOVERS):
            since = [len(w.out.acked_on) for w in writers]
            report = cluster.failover()  # the most advanced replica: durable promotion
            new_writers.append(report.new_writer)
            # every connection commits on the new writer
            _wait_progress(writers, since, cluster.names.instance(report.new_writer), 90)
            cluster.rejoin(report.old_writer)
    finally:
        for w in writers:
            w.stop()
    cluster.wait_converged(timeout=30)
    with cluster.superuser_connect(cluster.writer()) as conn:
        present = {int(r[0]) for r in conn.execute("SELECT id FROM dur").fetchall()}

    acked = [t for w in writers for t in w.out.acked]
    failed = [t for w in writers for t in w.out.failed]
    ambiguous = [t for w in writers for t in w.out.ambiguous]
    lost = [t for t in acked if not all(i in present for i in t)]
    phantom = [t for t in failed if any(i in present for i in t)]
    torn = [t for t in ambiguous if 0 < sum(i in present for i in t) < len(t)]
    wrong = [e for w in writers for e in w.out.wrong_commit_errors]

    assert len(set(new_writers)) > 1  # the writer role moved around the cluster
    assert len(acked) > WRITERS * (FAILOVERS + 1)
    assert failed or ambiguous  # the failovers hit transactions in flight
    assert lost == []
    assert phantom == []
    assert torn == []
    assert wrong == []  # every error raised by commit() was TransactionResolutionUnknownError
    assert [e for w in writers for e in w.out.other_errors] == []
