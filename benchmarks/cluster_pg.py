"""Benchmark of the local PostgreSQL cluster harness.

Measures: cluster creation from the snapshot cache and fresh (initdb + base backups),
failover timings on an idle cluster, and N consecutive kill failovers under a continuous
write workload (each followed by a pg_rewind rejoin of the old writer), and the overhead
of the fault proxies (per node, and the writer endpoint proxy chained to a node proxy).

    uv run python benchmarks/cluster_pg.py [--failovers 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from typing import Any

import psycopg

from awsdb_testing.pg import PgCluster, PgClusterConfig


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def bench_create(runs: int) -> dict[str, Any]:
    cached, fresh = [], []
    for _ in range(runs):
        with PgCluster(PgClusterConfig()) as c:
            cached.append(c.timings["start"])
        with PgCluster(PgClusterConfig(use_cache=False)) as c:
            fresh.append(c.timings["start"])
    return {"from_snapshot_s": _stats(cached), "fresh_s": _stats(fresh)}


def bench_failovers(count: int) -> dict[str, Any]:
    writable: list[float] = []
    converged: list[float] = []
    replicated: list[float] = []
    rejoin: list[float] = []
    repaired: list[str] = []
    ok = errors = 0
    error_kinds: dict[str, int] = {}
    stop = threading.Event()
    with PgCluster(PgClusterConfig()) as cluster:
        lock = threading.Lock()

        def workload() -> None:
            nonlocal ok, errors
            conn: psycopg.Connection | None = None
            while not stop.is_set():
                try:
                    if conn is None:
                        kw = cluster.app_conninfo_kwargs(cluster.writer())
                        conn = psycopg.connect(**kw, autocommit=True, connect_timeout=2)
                    conn.execute("INSERT INTO t (v) VALUES ('bench')")
                    with lock:
                        ok += 1
                except (psycopg.Error, LookupError) as exc:
                    with lock:
                        errors += 1
                        name = type(exc).__name__
                        error_kinds[name] = error_kinds.get(name, 0) + 1
                    conn = None
                    time.sleep(0.01)

        thread = threading.Thread(target=workload, name="bench-writer", daemon=True)
        thread.start()
        t_start = time.monotonic()
        for i in range(count):
            time.sleep(0.3)
            report = cluster.failover()
            writable.append(report.steps["writable"])
            converged.append(report.steps["converged"])
            replicated.append(report.steps["replicated"])
            repaired += report.repaired
            t0 = time.monotonic()
            method = cluster.rejoin(report.old_writer)
            rejoin.append(time.monotonic() - t0)
            if method != "rewind":
                repaired.append(f"{report.old_writer}:rejoin-{method}")
            print(
                f"{i + 1:3d} {report.old_writer}->{report.new_writer} "
                f"writable {report.steps['writable']:.3f} converged {report.steps['converged']:.3f}"
                f" rejoin {rejoin[-1]:.2f} {report.repaired or ''}",
                flush=True,
            )
        stop.set()
        thread.join(10)
        elapsed = time.monotonic() - t_start
    return {
        "failovers": count,
        "writable_s": _stats(writable),
        "converged_s": _stats(converged),
        "replicated_s": _stats(replicated),
        "rejoin_s": _stats(rejoin),
        "repairs": repaired,
        "workload_ok": ok,
        "workload_errors": errors,
        "error_kinds": error_kinds,
        "elapsed_s": elapsed,
    }


def _connect_and_rtt(kwargs: dict[str, Any], rounds: int) -> tuple[float, float]:
    """Median connect time and median ``SELECT 1`` round trip, in microseconds."""
    connects, rtts = [], []
    for _ in range(max(1, rounds // 50)):
        t0 = time.perf_counter()
        conn = psycopg.connect(**kwargs, autocommit=True)
        connects.append(time.perf_counter() - t0)
        conn.close()
    with psycopg.connect(**kwargs, autocommit=True) as conn:
        for _ in range(rounds):
            t0 = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            rtts.append(time.perf_counter() - t0)
    return statistics.median(connects) * 1e6, statistics.median(rtts) * 1e6


def bench_proxies(rounds: int) -> dict[str, Any]:
    """Overhead of the per-node fault proxy and of the writer endpoint proxy chain."""
    from awsdb_testing.pg.proxies import pg_proxies

    with PgCluster(PgClusterConfig()) as cluster, pg_proxies(cluster) as proxies:
        direct = _connect_and_rtt(cluster.app_conninfo_kwargs(1), rounds)
        node = _connect_and_rtt(proxies.conninfo_kwargs(1), rounds)
        endpoint = _connect_and_rtt(proxies.endpoint_conninfo_kwargs("writer"), rounds)
    return {
        "rounds": rounds,
        "direct": {"connect_us": direct[0], "select1_us": direct[1]},
        "node_proxy": {"connect_us": node[0], "select1_us": node[1]},
        "writer_endpoint_proxy": {"connect_us": endpoint[0], "select1_us": endpoint[1]},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--create-runs", type=int, default=5)
    parser.add_argument("--failovers", type=int, default=50)
    parser.add_argument("--proxy-rounds", type=int, default=2000)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = {
        "create": bench_create(args.create_runs),
        "proxies": bench_proxies(args.proxy_rounds),
        "load": bench_failovers(args.failovers),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
