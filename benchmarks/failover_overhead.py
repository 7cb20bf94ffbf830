"""Per-statement cost of the cluster plugin chain on the emulated Aurora PostgreSQL cluster.

awsdb connects through the writer endpoint with the default chain (``plugins`` unset: the
installed subset of initial_connection, aurora_connection_tracker, failover, efm) or the
chain named by ``--plugins``; the topology monitor runs. The raw side is **the same
physical psycopg connection** (``conn.target_connection``), so both sides talk to one
server backend: two separate connections to one server differ by up to 30 % on a busy
machine, which would swamp a few-percent overhead.

Two statements:

- ``conn.execute("SELECT 1").fetchall()``;
- ``cursor()`` + ``execute("SELECT 1")`` + ``fetchall()`` + ``close()``.

Blocks of ``--per-block`` statements alternate raw / awsdb (order flipped every pair);
the figure is the median of the per-pair ratios, which cancels slow drifts of the machine.
Besides wall time, the client thread's CPU time is reported: it is what the wrapper adds
and is far less sensitive to the server being scheduled late on a busy machine.
Usage: ``uv run python benchmarks/failover_overhead.py [--pairs 200] [--per-block 100]
[--plugins CODES]``; results go to ``benchmarks/results/failover_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from _paired import paired

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
    """Paired blocks on one backend; prints a Markdown table of ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--per-block", type=int, default=100)
    parser.add_argument("--plugins", default=None, help="plugin codes; default chain if unset")
    args = parser.parse_args()
    with PgCluster(PgClusterConfig()) as cluster, cluster.names_installed():
        writer = cluster.writer()
        extra: dict[str, Any] = {} if args.plugins is None else {"plugins": args.plugins}
        wrapped = awsdb.connect(
            psycopg.Connection.connect,
            f"host={cluster.names.writer_endpoint} port={writer.port} user=app dbname=app",
            autocommit=True,
            **extra,
        )
        chain = [type(p).__name__ for p in wrapped.plugin_service.plugins]
        raw = wrapped.target_connection
        result: dict[str, Any] = {"chain": chain}
        for bench, make in (("shortcut", _shortcut), ("cursor", _cursor_cycle)):
            result[bench] = paired(make(raw), make(wrapped), args.pairs, args.per_block)
        wrapped.close()
    awsdb.release_resources()
    print(f"chain: {', '.join(chain) or '(none)'}")
    print(
        "| benchmark | raw | awsdb | wall ratio (median of pairs, IQR) "
        "| client CPU ratio | client CPU added |"
    )
    print("|---|---|---|---|---|---|")
    for bench, label in (
        ("shortcut", "`conn.execute(SELECT 1).fetchall()`"),
        ("cursor", "`cursor()` + `execute` + `fetchall` + `close`"),
    ):
        m = result[bench]
        print(
            f"| {label} | {m['raw_us']:.1f} µs | {m['awsdb_us']:.1f} µs | "
            f"{m['ratio']:.3f}× ({m['ratio_p25']:.3f}–{m['ratio_p75']:.3f}) | "
            f"{m['cpu_ratio']:.3f}× | {m['cpu_added_us']:+.1f} µs |"
        )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "failover_overhead.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
