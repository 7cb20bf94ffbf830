"""Per-statement cost of the failover plugin on the emulated Aurora PostgreSQL cluster.

Raw psycopg on the writer instance against awsdb with ``plugins="failover"`` (the topology
monitor running) on the writer endpoint, interleaved rounds, medians:

- ``conn.execute("SELECT 1").fetchall()``;
- ``cursor()`` + ``execute("SELECT 1")`` + ``fetchall()`` + ``close()``.

Usage: ``uv run python benchmarks/failover_overhead.py [--rounds 15] [--per-round 500]``;
results go to ``benchmarks/results/failover_overhead.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

import awsdb
from awsdb_testing.pg import PgCluster, PgClusterConfig


def _shortcut(conn: Any) -> Callable[[], None]:
    def run() -> None:
        conn.execute("SELECT 1").fetchall()

    return run


def _cursor_cycle(conn: Any) -> Callable[[], None]:
    def run() -> None:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        cur.fetchall()
        cur.close()

    return run


def main() -> None:
    """Interleaved rounds; prints a Markdown table of medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=500)
    args = parser.parse_args()
    with PgCluster(PgClusterConfig()) as cluster, cluster.names_installed():
        writer = cluster.writer()
        raw = psycopg.connect(**cluster.app_conninfo_kwargs(writer), autocommit=True)
        wrapped = awsdb.connect(
            psycopg.Connection.connect,
            f"host={cluster.names.writer_endpoint} port={writer.port} user=app dbname=app",
            plugins="failover",
            autocommit=True,
        )
        variants = {
            ("shortcut", "raw"): _shortcut(raw),
            ("shortcut", "awsdb"): _shortcut(wrapped),
            ("cursor", "raw"): _cursor_cycle(raw),
            ("cursor", "awsdb"): _cursor_cycle(wrapped),
        }
        samples: dict[tuple[str, str], list[float]] = {k: [] for k in variants}
        for fn in variants.values():
            for _ in range(200):
                fn()
        for _ in range(args.rounds):
            order = list(variants.items())
            random.shuffle(order)
            for key, fn in order:
                gc.disable()
                start = time.perf_counter_ns()
                for _ in range(args.per_round):
                    fn()
                samples[key].append((time.perf_counter_ns() - start) / args.per_round / 1000)
                gc.enable()
        wrapped.close()
        raw.close()
    awsdb.release_resources()
    median = {k: statistics.median(v) for k, v in samples.items()}
    print('| benchmark | raw | awsdb `plugins="failover"` |')
    print("|---|---|---|")
    result: dict[str, Any] = {}
    for bench, label in (
        ("shortcut", "`conn.execute(SELECT 1).fetchall()`"),
        ("cursor", "`cursor()` + `execute` + `fetchall` + `close`"),
    ):
        r, a = median[(bench, "raw")], median[(bench, "awsdb")]
        result[bench] = {"raw_us": r, "awsdb_us": a, "ratio": a / r}
        print(f"| {label} | {r:.1f} µs | {a / r:.3f}× ({a - r:+.1f} µs) |")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "failover_overhead.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
