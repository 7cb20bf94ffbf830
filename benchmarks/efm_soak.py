"""Enhanced failure monitoring on a healthy cluster under load: no false positive.

A healthy emulated Aurora cluster (3 PostgreSQL nodes, or 3 MariaDB nodes behind the
harness's Aurora MySQL rewriting proxies) with its Aurora-shaped names in the resolver.
``--threads`` worker threads (16 by default), each with its own awsdb connection with
``plugins="efm"`` and ``--settings`` (6000/1000/1 by default), spread over the writer
endpoint, the reader endpoint and the instance endpoints, loop until ``--duration`` is
over: a burst of 20–400 short statements (``SELECT 1``, a small aggregate), then one long
statement (``pg_sleep`` / ``SLEEP`` of 2–8 s, uniformly; the ones longer than the grace
period are probed). ``--burners`` processes (2 by default) spin on the CPU the whole time,
so that the machine is busy and every probe competes for a core.

A false positive is any exception in a worker (an abort by EFM shows up as the driver's
network error) or any verdict of a monitor: the run must end with 0 of both. Reported:
statements run, probes, failed probes, verdicts, late probes (answered, but read after the
probe timeout: saved by the watchdog's one extension) and the probe latency (the
``SELECT 1`` of each successful probe, against its timeout).

Usage: ``uv run python benchmarks/efm_soak.py [--driver pg|mysql] [--duration 600]
[--threads 16] [--burners 2] [--settings 6000/1000/1] [--out FILE]``; results go to
``benchmarks/results/efm-soak-<driver>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awsdb
from awsdb_efm import HostMonitor

RESULTS = Path(__file__).resolve().parent / "results"
SHORT_PG = ("SELECT 1", "SELECT count(*) FROM generate_series(1, 2000)")
SHORT_MYSQL = ("SELECT 1", "SELECT COUNT(*) FROM information_schema.COLLATIONS")


@dataclass
class Worker:
    """One worker thread's counters."""

    name: str
    endpoint: str
    short: int = 0
    long: int = 0
    long_s: float = 0.0
    long_past_grace: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


class _Verdicts(logging.Handler):
    """Counts the monitors' "host is not answering" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def burners(count: int) -> Iterator[list[int]]:
    """``count`` processes spinning on the CPU; stopped (by PID) on exit."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


@contextlib.contextmanager
def cluster(driver: str) -> Iterator[tuple[Callable[..., Any], dict[str, Any], list[str], str]]:
    """The cluster, its names installed: (target, connect kwargs, endpoints, long SQL)."""
    if driver == "pg":
        import psycopg

        from awsdb_testing.pg import PgCluster, PgClusterConfig

        with PgCluster(PgClusterConfig(first_octet=61)) as pg, pg.names_installed():
            names = pg.names
            endpoints = [names.writer_endpoint, names.reader_endpoint]
            endpoints += [names.instance(n.instance_id) for n in pg.nodes]
            kwargs = {"port": pg.nodes[0].port, "user": "app", "dbname": "app"}
            yield psycopg.Connection.connect, kwargs, endpoints, "SELECT pg_sleep(%s)"
    else:
        import mysql.connector

        from awsdb_testing.mysql import MariaDBCluster

        with MariaDBCluster() as mdb, mdb.install_names():
            endpoints = [mdb.writer_endpoint, mdb.reader_endpoint]
            endpoints += [mdb.instance_name(n.instance_id) for n in mdb.nodes]
            kwargs = {
                "port": mdb.port,
                "user": "app",
                "password": "app",
                "database": "appdb",
                "use_pure": True,
            }
            yield mysql.connector.connect, kwargs, endpoints, "SELECT SLEEP(%s)"


def work(
    worker: Worker,
    conn: Any,
    short_sql: tuple[str, ...],
    long_sql: str,
    until: float,
    seed: int,
    grace_s: float,
) -> None:
    """Bursts of short statements and one long statement, until ``until``."""
    rng = random.Random(seed)
    cur = conn.cursor()
    while time.monotonic() < until:
        try:
            for _ in range(rng.randint(20, 400)):
                cur.execute(rng.choice(short_sql))
                cur.fetchall()
                worker.short += 1
            if time.monotonic() >= until:
                break
            secs = round(rng.uniform(2.0, 8.0), 2)
            cur.execute(long_sql % secs)
            cur.fetchall()
            worker.long += 1
            worker.long_s += secs
            worker.long_past_grace += secs > grace_s
        except Exception as exc:
            worker.errors.append(
                {"at": time.monotonic(), "type": type(exc).__name__, "message": str(exc)[:300]}
            )
            with contextlib.suppress(Exception):
                cur.close()
            cur = conn.cursor()
    cur.close()


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One soak run; returns the results."""
    grace, interval, count = (int(x) for x in args.settings.split("/"))
    efm: dict[str, Any] = {
        "failure_detection_time_ms": grace,
        "failure_detection_interval_ms": interval,
        "failure_detection_count": count,
    }
    verdicts = _Verdicts()
    logging.getLogger("awsdb.efm").addHandler(verdicts)
    awsdb.release_resources()
    with cluster(args.driver) as (target, kwargs, endpoints, long_sql):
        short_sql = SHORT_PG if args.driver == "pg" else SHORT_MYSQL
        workers = [Worker(f"w{i}", endpoints[i % len(endpoints)]) for i in range(args.threads)]
        conns = [
            awsdb.connect(target, host=w.endpoint, plugins="efm", autocommit=True, **kwargs, **efm)
            for w in workers
        ]
        services = conns[0].plugin_service.services
        with burners(args.burners) as burner_pids:
            started = time.monotonic()
            until = started + args.duration
            threads = [
                threading.Thread(
                    target=work,
                    args=(w, c, short_sql, long_sql, until, i, grace / 1000),
                    name=f"soak-{w.name}",
                    daemon=True,
                )
                for i, (w, c) in enumerate(zip(workers, conns, strict=True))
            ]
            for t in threads:
                t.start()
            load = []
            for t in threads:
                while t.is_alive() and time.monotonic() < until + 60:
                    t.join(10.0)
                    load.append(os.getloadavg()[0])
            elapsed = time.monotonic() - started
        keys = services.monitors.keys()
        monitors = [m for k in keys if isinstance(m := services.monitors.get(k), HostMonitor)]
        per_monitor = []
        latencies: list[float] = []
        for m in monitors:
            lat = list(m.probe_latencies)
            latencies += lat
            per_monitor.append(
                {
                    "host": m.host.url,
                    "probes": m.probes,
                    "failed_probes": m.failed_probes,
                    "verdicts": m.verdicts,
                    "late_probes": m.late_probes,
                    "max_probe_s": max(lat) if lat else None,
                }
            )
        for c in conns:
            c.close()
    awsdb.release_resources()
    logging.getLogger("awsdb.efm").removeHandler(verdicts)
    errors = [e | {"worker": w.name, "endpoint": w.endpoint} for w in workers for e in w.errors]
    load_stats: dict[str, float] | None = None
    if load:
        load_stats = {"min": min(load), "max": max(load), "median": statistics.median(load)}
    result: dict[str, Any] = {
        "driver": args.driver,
        "settings": args.settings,
        "probe_timeout_s": max(0.2, (interval - 100) / 2000),
        "threads": args.threads,
        "burners": args.burners,
        "burner_pids": burner_pids,
        "duration_s": round(elapsed, 1),
        "cpus": os.cpu_count(),
        "loadavg_1m": load_stats,
        "short_statements": sum(w.short for w in workers),
        "long_statements": sum(w.long for w in workers),
        "long_statements_past_grace": sum(w.long_past_grace for w in workers),
        "long_seconds": round(sum(w.long_s for w in workers), 1),
        "monitors": per_monitor,
        "probes": sum(m["probes"] for m in per_monitor),
        "failed_probes": sum(m["failed_probes"] for m in per_monitor),
        "verdicts": sum(m["verdicts"] for m in per_monitor),
        "late_probes": sum(m["late_probes"] for m in per_monitor),
        "verdict_warnings": verdicts.messages,
        "false_positives": len(errors),
        "errors": errors,
        "probe_latency_s": {
            "n": len(latencies),
            "median": statistics.median(latencies) if latencies else None,
            "p99": _quantile(latencies, 0.99),
            "p999": _quantile(latencies, 0.999),
            "max": max(latencies) if latencies else None,
        },
    }
    return result


def main() -> None:
    """Parse the arguments, run, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--driver", choices=["pg", "mysql"], default="pg")
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--burners", type=int, default=2)
    parser.add_argument("--settings", default="6000/1000/1")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = run(args)
    out = args.out or RESULTS / f"efm-soak-{args.driver}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k not in ("monitors", "errors")}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
