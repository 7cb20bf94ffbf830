"""No false positive on a healthy cluster under load (a short version of
``benchmarks/efm_soak.py``): workers mix bursts of short statements with long ones past
the grace period, through the cluster endpoints and the instances, with 6000/1000/1."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import psycopg
import pytest
from _efm_support import settings

import awsdb
from awsdb_efm import HostMonitor
from awsdb_testing.pg import PgCluster

pytestmark = [pytest.mark.pg, pytest.mark.slow]

WORKERS = 8
RUN_S = 18.0


def _work(conn: Any, seed: int, until: float, errors: list[BaseException]) -> None:
    rng = random.Random(seed)
    cur = conn.cursor()
    try:
        while time.monotonic() < until:
            for _ in range(rng.randint(20, 200)):
                cur.execute("SELECT count(*) FROM generate_series(1, 500)")
                cur.fetchall()
            cur.execute("SELECT pg_sleep(%s)", (round(rng.uniform(6.2, 8.0), 2),))
            cur.fetchall()
    except Exception as exc:
        errors.append(exc)
    finally:
        cur.close()


def test_no_false_positive_under_load(pg_cluster: PgCluster, pg_names: dict[str, str]) -> None:
    names = pg_cluster.names
    endpoints = [names.writer_endpoint, names.reader_endpoint]
    endpoints += [names.instance(n.instance_id) for n in pg_cluster.nodes]
    conns = [
        awsdb.connect(
            psycopg.Connection.connect,
            host=endpoints[i % len(endpoints)],
            port=pg_cluster.nodes[0].port,
            user="app",
            dbname="app",
            plugins="efm",
            autocommit=True,
            **settings(6000, 1000, 1),
        )
        for i in range(WORKERS)
    ]
    errors: list[BaseException] = []
    until = time.monotonic() + RUN_S
    threads = [
        threading.Thread(target=_work, args=(c, i, until, errors), name=f"awsdb-efm-test-{i}")
        for i, c in enumerate(conns)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        services = conns[0].plugin_service.services
        keys = services.monitors.keys()
        monitors = [m for k in keys if isinstance(m := services.monitors.get(k), HostMonitor)]
        assert errors == []
        assert len(monitors) == len(pg_cluster.nodes)  # one per instance, endpoints included
        assert sum(m.probes for m in monitors) > 0  # the long statements were probed
        assert sum(m.failed_probes for m in monitors) == 0
        assert sum(m.verdicts for m in monitors) == 0
    finally:
        for conn in conns:
            conn.close()
