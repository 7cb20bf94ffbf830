"""MariaDB cluster harness benchmark: create, restore, failover under writes, proxy overhead.

Run: ``uv run python benchmarks/cluster_mysql.py [--failovers 50] [--out PATH]``.
Writes a Markdown table to ``benchmarks/results/cluster_mysql.md`` (and prints it). Numbers
are for budgets only; the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import mysql.connector

from awsdb.resolver import get_resolver
from awsdb_testing.mysql import MariaDBCluster
from awsdb_testing.proxy import FaultProxy


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    return (
        f"median {statistics.median(values):.3f}, min {min(values):.3f}, max {max(values):.3f}"
        f" (n={len(values)})"
    )


class _Writer(threading.Thread):
    """Inserts rows through the writer endpoint name (resolved like DNS), reconnecting on
    every error; counts successes and errors."""

    def __init__(self, cluster: MariaDBCluster) -> None:
        super().__init__(daemon=True, name="bench-writer")
        self.cluster = cluster
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.stop_flag = threading.Event()

    def run(self) -> None:
        conn: Any = None
        cur: Any = None
        while not self.stop_flag.is_set():
            try:
                if conn is None:
                    host = get_resolver().resolve(self.cluster.writer_endpoint)
                    conn = mysql.connector.connect(
                        host=host,
                        port=self.cluster.port,
                        user="app",
                        password="app",
                        database="appdb",
                        use_pure=True,
                        autocommit=True,
                        connection_timeout=2,
                        read_timeout=2,
                    )
                    cur = conn.cursor()
                cur.execute("INSERT INTO marker (v) VALUES ('w')")
                self.ok += 1
            except mysql.connector.Error as exc:
                key = f"{type(exc).__name__} {exc.errno}"
                self.errors[key] = self.errors.get(key, 0) + 1
                conn = None
                time.sleep(0.005)


def _rtt(host: str, port: int, n: int) -> float:
    conn = mysql.connector.connect(
        host=host, port=port, user="app", password="app", use_pure=True, autocommit=True
    )
    cur = conn.cursor()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        cur.execute("SELECT 1")
        cur.fetchall()
        samples.append(time.perf_counter() - t0)
    conn.close()
    return statistics.median(samples) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--creates", type=int, default=3)
    parser.add_argument("--restores", type=int, default=5)
    parser.add_argument("--failovers", type=int, default=50)
    parser.add_argument("--rtt", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cluster_mysql.md"))
    args = parser.parse_args()

    creates: list[float] = []
    install: list[float] = []
    for _ in range(args.creates):
        with MariaDBCluster() as c:
            creates.append(c.timings["create"])
            install.append(c.timings.get("install_db", 0.0))

    results: dict[str, Any] = {}
    with MariaDBCluster() as cluster:
        snapshot = cluster.snapshot()
        restores = [cluster.restore() for _ in range(args.restores)]

        # proxy overhead on a SELECT 1 round trip (median of args.rtt)
        direct = _rtt(*cluster.server_address(1), args.rtt)
        rewriting = _rtt(*cluster.proxy(1).address, args.rtt)
        with FaultProxy(cluster.server_address(1)) as plain:
            plain_us = _rtt(*plain.address, args.rtt)

        cluster.install_names()
        writer = _Writer(cluster)
        writer.start()
        time.sleep(0.5)
        steps: dict[str, list[float]] = {}
        rejoins: list[float] = []
        repaired = 0
        t_all = time.monotonic()
        for _ in range(args.failovers):
            report = cluster.failover()
            for key, value in report.steps.items():
                steps.setdefault(key, []).append(value)
            repaired += len(report.repaired)
            rejoins.append(cluster.rejoin(report.old_writer))
            time.sleep(0.2)  # let the workload reconnect and write
        elapsed = time.monotonic() - t_all
        writer.stop_flag.set()
        writer.join(10)
        cluster.wait_converged(30)
        counts = set()
        for node in cluster.nodes:
            conn = cluster.superuser_connect(node.instance_id)
            cur = conn.cursor()
            cur.execute("SELECT COUNT(*) FROM appdb.marker")
            counts.add(cur.fetchall()[0][0])
            conn.close()
        results = {
            "snapshot": snapshot,
            "restores": restores,
            "direct_us": direct,
            "rewriting_us": rewriting,
            "plain_us": plain_us,
            "steps": steps,
            "rejoins": rejoins,
            "repaired": repaired,
            "elapsed": elapsed,
            "writes_ok": writer.ok,
            "write_errors": writer.errors,
            "row_counts_agree": len(counts) == 1,
        }

    lines = [
        "# MariaDB cluster harness (awsdb-testing)",
        "",
        f"Machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}; "
        "3 nodes on tmpfs, noisy shared host. Seconds unless marked.",
        "",
        "| measurement | result |",
        "| --- | --- |",
        f"| create 3-node cluster, fresh (mariadb-install-db once + copies) | {_stats(creates)} |",
        f"| of which mariadb-install-db | {_stats(install)} |",
        f"| snapshot (clean stop, copy, start) | {results['snapshot']:.3f} |",
        f"| restore from snapshot (kill, copy back, start, replicas caught up) | "
        f"{_stats(results['restores'])} |",
    ]
    for key in ("killed", "promoted", "writable", "repointed", "converged", "replicated"):
        lines.append(f"| failover under writes: {key} | {_stats(results['steps'].get(key, []))} |")
    lines += [
        f"| rejoin old writer (GTID current_pos) | {_stats(results['rejoins'])} |",
        f"| {args.failovers} consecutive failovers + rejoins, total | {results['elapsed']:.1f} |",
        f"| replicas re-cloned during failovers | {results['repaired']} |",
        f"| workload writes ok / errors | {results['writes_ok']} / "
        f"{sum(results['write_errors'].values())} {json.dumps(results['write_errors'])} |",
        f"| row counts equal on all nodes afterwards | {results['row_counts_agree']} |",
        f"| SELECT 1 round trip direct (µs, median of {args.rtt}) | {results['direct_us']:.0f} |",
        f"| SELECT 1 through a plain fault proxy (µs) | {results['plain_us']:.0f} |",
        f"| SELECT 1 through the rewriting proxy (µs) | {results['rewriting_us']:.0f} |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
