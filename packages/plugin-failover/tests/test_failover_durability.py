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

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb_testing.durability import DURABLE_TABLE, DurableWriter, tally, wait_progress
from awsdb_testing.pg import PgCluster, PgClusterConfig

pytestmark = [pytest.mark.pg, pytest.mark.slow]

WRITERS = 8
FAILOVERS = 10


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


def test_no_acknowledged_commit_lost_no_failed_one_present(durable_cluster: PgCluster) -> None:
    cluster = durable_cluster
    with psycopg.connect(**cluster.app_conninfo_kwargs(cluster.writer()), autocommit=True) as c:
        c.execute(DURABLE_TABLE)
    endpoint = cluster.names.writer_endpoint
    port = cluster.nodes[0].port

    def connect() -> Any:
        return awsdb.connect(
            psycopg.Connection.connect,
            f"host={endpoint} port={port} user=app dbname=app connect_timeout=3",
            plugins="failover",
            failover_timeout_sec=60,
        )

    writers = [DurableWriter(i + 1, connect) for i in range(WRITERS)]
    for w in writers:
        w.start()
    new_writers: list[str] = []
    try:
        wait_progress(writers, [0] * WRITERS, None, 60)
        for _ in range(FAILOVERS):
            since = [len(w.acked) for w in writers]
            report = cluster.failover()  # the most advanced replica: durable promotion
            new_writers.append(report.new_writer)
            # every connection commits on the new writer
            wait_progress(writers, since, cluster.names.instance(report.new_writer), 90)
            cluster.rejoin(report.old_writer)
    finally:
        for w in writers:
            w.stop()
    cluster.wait_converged(timeout=30)
    with cluster.superuser_connect(cluster.writer()) as conn:
        present = {int(r[0]) for r in conn.execute("SELECT id FROM dur").fetchall()}

    verdict = tally(writers, present)
    assert len(set(new_writers)) > 1  # the writer role moved around the cluster
    assert len(verdict.acked) > WRITERS * (FAILOVERS + 1)
    assert verdict.failed or verdict.ambiguous  # the failovers hit transactions in flight
    assert verdict.lost == []
    assert verdict.phantom == []
    assert verdict.torn == []
    # every error raised by commit() was TransactionResolutionUnknownError
    assert verdict.wrong_commit_errors == []
    assert verdict.other_errors == []
