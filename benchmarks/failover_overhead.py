"""Per-statement cost of the cluster plugin chain on the emulated Aurora PostgreSQL cluster.

awsdb connects through the writer endpoint with the default chain (``plugins`` unset: the
installed subset of initial_connection, aurora_connection_tracker, failover, efm) or the
chain named by ``--plugins``; the topology monitor runs. The raw side is **the same
physical psycopg connection** (``conn.target_connection``), so both sides talk to one
server backend: two separate connections to one server differ by up to 30 % on a busy
machine, which would swamp a few-percent overhead.

Three statements:

- ``cur.execute("SELECT 1")`` + ``cur.fetchall()`` on a cursor opened once;
- ``conn.execute("SELECT 1").fetchall()``;
- ``cursor()`` + ``execute("SELECT 1")`` + ``fetchall()`` + ``close()``.

Beside them, the wrapper's own cost per statement: the same calls through the connection's
compiled chains over a driver cursor that does no I/O (no server, no noise of the machine's
scheduling). The machine's load average is recorded before and after the run.

Blocks of ``--per-block`` statements alternate raw / awsdb (order flipped every pair);
the figure is the median of the per-pair ratios, which cancels slow drifts of the machine.
Besides wall time, the client thread's CPU time is reported: it is what the wrapper adds
and is far less sensitive to the server being scheduled late on a busy machine.
With ``--runs N`` the whole measurement is repeated N times on the same connection and each
figure is the median over the runs (every run is kept in the JSON).
Usage: ``uv run python benchmarks/failover_overhead.py [--pairs 200] [--per-block 100]
[--runs 1] [--plugins CODES] [--label NAME]``; results go to
``benchmarks/results/failover_overhead[-NAME].json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from _paired import NullCursor, block, paired

import awsdb
from awsdb_testing.pg import PgCluster, PgClusterConfig


def _shortcut(conn: Any) -> Callable[[], None]:
    def run() -> None:
        conn.execute("SELECT 1").fetchall()

    return run


def _open_cursor(conn: Any) -> Callable[[], None]:
    cur = conn.cursor()

    def run() -> None:
        cur.execute("SELECT 1")
        cur.fetchall()

    return run


def _own_cost(wrapped: Any, n: int = 20_000, rounds: int = 15) -> float:
    """Nanoseconds the chains add per ``execute`` + ``fetchall`` over a no-I/O cursor."""
    null = NullCursor()
    sides = {"raw": null, "awsdb": wrapped._wrap(null)}
    samples: dict[str, list[float]] = {"raw": [], "awsdb": []}
    for i in range(rounds):
        for name in sorted(sides, reverse=bool(i % 2)):
            cur = sides[name]

            def run(cur: Any = cur) -> None:
                cur.execute("SELECT 1")
                cur.fetchall()

            samples[name].append(block(run, n)[1] * 1000.0)
    return statistics.median(samples["awsdb"]) - statistics.median(samples["raw"])


def _cursor_cycle(conn: Any) -> Callable[[], None]:
    def run() -> None:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        cur.fetchall()
        cur.close()

    return run


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per statement and figure, the median over the runs."""
    out: dict[str, Any] = {
        "own_cost_ns": statistics.median(r["own_cost_ns"] for r in runs),
    }
    for bench, _ in _BENCHES:
        keys = runs[0][bench]
        out[bench] = {k: statistics.median(r[bench][k] for r in runs) for k in keys}
    return out


_BENCHES = (("open_cursor", _open_cursor), ("shortcut", _shortcut), ("cursor", _cursor_cycle))
_LABELS = (
    ("open_cursor", "`cur.execute(SELECT 1)` + `fetchall` on an open cursor"),
    ("shortcut", "`conn.execute(SELECT 1).fetchall()`"),
    ("cursor", "`cursor()` + `execute` + `fetchall` + `close`"),
)


def main() -> None:
    """Paired blocks on one backend; prints a Markdown table of ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--per-block", type=int, default=100)
    parser.add_argument("--plugins", default=None, help="plugin codes; default chain if unset")
    parser.add_argument("--label", default="", help="suffix of the results file")
    parser.add_argument("--runs", type=int, default=1, help="repeat; figures are medians")
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
        result: dict[str, Any] = {
            "chain": chain,
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "loadavg_before": list(os.getloadavg()),
            "runs": [],
        }
        for _ in range(args.runs):
            run: dict[str, Any] = {"loadavg": list(os.getloadavg())}
            for bench, make in _BENCHES:
                run[bench] = paired(make(raw), make(wrapped), args.pairs, args.per_block)
            run["own_cost_ns"] = _own_cost(wrapped)
            result["runs"].append(run)
        result["loadavg_after"] = list(os.getloadavg())
        result.update(_medians(result["runs"]))
        wrapped.close()
    awsdb.release_resources()
    print(f"chain: {', '.join(chain) or '(none)'}; medians of {args.runs} run(s)")
    print(
        "| benchmark | raw | awsdb | wall ratio (median of pairs, IQR) "
        "| client CPU ratio | client CPU added |"
    )
    print("|---|---|---|---|---|---|")
    for bench, label in _LABELS:
        m = result[bench]
        print(
            f"| {label} | {m['raw_us']:.1f} µs | {m['awsdb_us']:.1f} µs | "
            f"{m['ratio']:.3f}× ({m['ratio_p25']:.3f}–{m['ratio_p75']:.3f}) | "
            f"{m['cpu_ratio']:.3f}× | {m['cpu_added_us']:+.1f} µs |"
        )
    print(
        f"wrapper's own cost (no-I/O cursor, execute + fetchall): {result['own_cost_ns']:+.0f} ns"
    )
    before, after = result["loadavg_before"], result["loadavg_after"]
    print(f"load average: {before[0]:.1f} before, {after[0]:.1f} after")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    name = f"failover_overhead-{args.label}.json" if args.label else "failover_overhead.json"
    (out / name).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
