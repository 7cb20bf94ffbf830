"""EFM and failover together on the emulated Aurora PostgreSQL cluster.

The writer's traffic is black-holed (its proxy drops everything, so no reset ever reaches
the client) and the cluster fails over behind it: only failure detection can end the
blocked query; failover then moves the connection to the new writer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import awsdb

pytestmark = pytest.mark.pg


@pytest.fixture(autouse=True)
def _fresh_services() -> Iterator[None]:
    awsdb.release_resources()
    yield
    awsdb.release_resources()


def test_blackholed_writer_is_detected_and_failed_over(
    fresh_pg_cluster: Any, pg_proxies: Any
) -> None:
    cluster = fresh_pg_cluster
    conn = awsdb.connect(
        psycopg.Connection.connect,
        f"host={cluster.names.writer_endpoint} port={pg_proxies.port} user=app dbname=app",
        plugins="failover,efm",
        autocommit=True,
        failure_detection_time_ms=1000,
        failure_detection_interval_ms=300,
        failure_detection_count=2,
        failover_timeout_sec=30,
    )
    outcome: list[BaseException] = []

    def long_query() -> None:
        try:
            conn.execute("SELECT pg_sleep(30)")
        except BaseException as exc:
            outcome.append(exc)

    try:
        assert conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone() == (
            "instance-1",
        )
        worker = threading.Thread(target=long_query)
        worker.start()
        time.sleep(1.5)  # past the grace period: the monitor is probing
        pg_proxies.writer_proxy.blackhole()  # the endpoint awsdb connected through
        cluster.failover(target="instance-2")
        worker.join(25)
        assert not worker.is_alive(), "the blocked query was never ended"
        assert len(outcome) == 1 and isinstance(outcome[0], awsdb.FailoverSuccessError)
        row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
        assert row == ("instance-2",)
    finally:
        pg_proxies.heal_all()
        conn.close()
