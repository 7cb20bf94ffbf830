"""Blue/green switchover on the emulated Aurora PostgreSQL deployment, with and without `bg`.

Two parts, run in one process:

1. **Switchover workload.** One query every 20 ms per thread (1 thread, then 8 threads),
   each thread on its own connection (``cursor()`` + ``execute`` + ``fetchall`` +
   ``close``; after a failure the thread reconnects), through awsdb with ``plugins="bg"``
   and through awsdb with ``plugins=""`` (the plain driver with the same name resolution).
   During each run the controller moves the deployment through the phases (1 s each); at
   IN_PROGRESS, 0.5 s after the status changed, it ends every blue session and refuses blue
   logins, as a real switchover drops connections; at POST the blue names move to green.
   The variants alternate (bg / plain, order flipped every round) on one deployment, which
   is switched back between runs. Reported: failed queries, downtime (longest time a thread
   went from its first failed query to its next successful one) and the slowest successful
   query (a suspended one included).
2. **Overhead outside a switchover** (the deployment in CREATED, both status monitors
   running): ``SELECT 1`` through awsdb with ``bg`` against the raw psycopg connection
   underneath it (the same server backend), in alternating blocks (median of the per-pair
   ratios); and the wrapper's own cost per statement, over a driver cursor that does no I/O
   (bg's hook on its real deployment) and over ``awsdb_testing.fake_driver`` connections.

Usage: ``uv run python benchmarks/bluegreen.py [--rounds 2] [--pairs 100] [--per-block 100]``;
results go to ``benchmarks/results/bluegreen.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from _paired import NullCursor, block, paired

import awsdb
from awsdb_testing.fake_driver import FakeDriver
from awsdb_testing.fake_script import Script
from awsdb_testing.pg.bluegreen import PgBlueGreen, SwitchoverWorkload, WorkloadResult

QUERY = "SELECT host(inet_server_addr())"
FAST = {"bg_interval_increased_ms": 100}  # notice SWITCHOVER_INITIATED within 0.1 s


def _connect(bg: PgBlueGreen, plugins: str, *, fast: bool = True) -> Any:
    extra: dict[str, Any] = FAST if plugins and fast else {}
    return awsdb.connect(
        psycopg.Connection.connect,
        host=bg.blue_names.writer_endpoint,
        port=bg.blue.nodes[0].port,
        user="app",
        dbname="app",
        autocommit=True,
        connect_timeout=5,
        plugins=plugins,
        **extra,
    )


def _switchover_run(bg: PgBlueGreen, plugins: str, threads: int) -> WorkloadResult:
    workload = SwitchoverWorkload(lambda: _connect(bg, plugins), QUERY, threads=threads)
    workload.start()
    try:
        workload.wait_ok(10 * threads)
        bg.switchover(phase_s=1.0, disrupt=True, lead_s=0.5)
        workload.wait_ok(20 * threads, timeout_s=60)
    finally:
        result = workload.stop()
    bg.rollback()
    awsdb.release_resources()  # the next run starts without monitors
    return result


def bench_switchover(bg: PgBlueGreen, rounds: int) -> dict[str, Any]:
    """Failed queries, downtime and max latency per (threads, variant), over ``rounds``."""
    out: dict[str, Any] = {}
    for threads in (1, 8):
        runs: dict[str, list[WorkloadResult]] = {"bg": [], "plain": []}
        for i in range(rounds):
            order = ("bg", "plain") if i % 2 == 0 else ("plain", "bg")
            for variant in order:
                runs[variant].append(_switchover_run(bg, "bg" if variant == "bg" else "", threads))
        for variant, results in runs.items():
            out[f"{threads}t_{variant}"] = {
                "threads": threads,
                "variant": variant,
                "runs": len(results),
                "failed": [r.failed for r in results],
                "ok": [r.ok for r in results],
                "downtime_s": [round(r.downtime_s, 3) for r in results],
                "max_latency_s": [round(r.max_latency_s, 3) for r in results],
                "errors": sorted({e.split(":")[0] for r in results for e in r.errors}),
            }
    return out


# ---------------------------------------------------------------------- overhead


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


def _statement(cur: Any) -> Callable[[], None]:
    def run() -> None:
        cur.execute("SELECT 1")
        cur.fetchall()

    return run


def _interleaved_ns(fns: dict[str, Callable[[], None]], rounds: int, n: int) -> dict[str, float]:
    """Median over ``rounds`` of ns per call, the variants' order rotating every round."""
    samples: dict[str, list[float]] = {k: [] for k in fns}
    keys = list(fns)
    for i in range(rounds):
        for k in keys[i % len(keys) :] + keys[: i % len(keys)]:
            samples[k].append(block(fns[k], n)[0] * 1000.0)
    return {k: statistics.median(v) for k, v in samples.items()}


def bench_overhead(bg: PgBlueGreen, pairs: int, per_block: int) -> dict[str, Any]:
    """``SELECT 1`` with bg (CREATED, monitors running) against the raw connection below."""
    from awsdb._cursor import AwsWrapperCursor

    wrapped = _connect(bg, "bg", fast=False)  # default poll periods (1 s in CREATED)
    deadline = time.monotonic() + 30
    plugin = wrapped.plugin_service.plugins[0]
    dep = getattr(plugin, "deployment", None)
    while dep is None or dep.phase().name != "CREATED":
        if time.monotonic() > deadline:
            raise RuntimeError("the monitors never read the deployment")
        time.sleep(0.05)
    raw = wrapped.target_connection
    bare = _connect(bg, "")
    result: dict[str, Any] = {"phase": dep.phase().name}
    for name, make in (("shortcut", _shortcut), ("cursor", _cursor_cycle)):
        result[name] = paired(make(raw), make(wrapped), pairs, per_block)
        # the same pairing for awsdb without plugins (its own raw connection below it)
        result[f"{name}_no_plugins"] = paired(
            make(bare.target_connection), make(bare), pairs, per_block
        )

    # the wrapper's own cost: bg's hook on its real (idle) deployment, over a no-I/O cursor
    null = NullCursor()
    own = _interleaved_ns(
        {
            "raw": _statement(null),
            "awsdb_no_plugins": _statement(AwsWrapperCursor(bare, null)),
            "awsdb_bg": _statement(AwsWrapperCursor(wrapped, null)),
        },
        rounds=21,
        n=20000,
    )
    result["own_cost_ns"] = {k: v - own["raw"] for k, v in own.items() if k != "raw"}

    # the same over awsdb_testing.fake_driver connections (no server at all)
    driver = FakeDriver(Script().on_sql("SELECT 1", [(1,)], columns=["?column?"]))
    fake_raw = driver.connect(host="db1")
    fake_bare = awsdb.connect(driver.connect, "host=db1", plugins="")
    fake_bg = awsdb.connect(driver.connect, "host=db1", plugins="bg", wrapper_dialect="pg")
    # follow the real (idle) deployment, so that bg runs the same check as on PostgreSQL
    fake_plugin: Any = fake_bg.plugin_service.plugins[0]
    fake_plugin._dep, fake_plugin._seen = dep, dep.version
    fake = _interleaved_ns(
        {
            "raw": _cursor_cycle(fake_raw),
            "awsdb_no_plugins": _cursor_cycle(fake_bare),
            "awsdb_bg": _cursor_cycle(fake_bg),
        },
        rounds=21,
        n=5000,
    )
    result["fake_driver_ns"] = fake
    result["fake_driver_added_ns"] = {k: v - fake["raw"] for k, v in fake.items() if k != "raw"}
    raw_ns = result["cursor"]["raw_us"] * 1000.0
    result["estimated_ratio_from_own_cost"] = {
        k: (raw_ns + v) / raw_ns for k, v in result["own_cost_ns"].items()
    }
    for c in (fake_bg, fake_bare, fake_raw, bare, wrapped):
        c.close()
    awsdb.release_resources()
    return result


def _table(sw: dict[str, Any], oh: dict[str, Any]) -> str:
    lines = [
        "| threads | variant | failed queries | downtime | max query latency |",
        "|---|---|---|---|---|",
    ]
    for key in ("1t_bg", "1t_plain", "8t_bg", "8t_plain"):
        m = sw[key]
        name = "awsdb `bg`" if m["variant"] == "bg" else "awsdb, no plugin"
        lines.append(
            f"| {m['threads']} | {name} | {', '.join(map(str, m['failed']))} | "
            f"{', '.join(f'{x:.2f} s' for x in m['downtime_s'])} | "
            f"{', '.join(f'{x:.2f} s' for x in m['max_latency_s'])} |"
        )
    lines += [
        "",
        "| benchmark (CREATED, monitors running) | raw | awsdb | wall ratio (median, IQR) "
        "| client CPU ratio | client CPU added |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (
        ("shortcut", "`conn.execute(SELECT 1).fetchall()`, awsdb `bg`"),
        ("shortcut_no_plugins", '`conn.execute(SELECT 1).fetchall()`, awsdb `plugins=""`'),
        ("cursor", "`cursor()` + `execute` + `fetchall` + `close`, awsdb `bg`"),
        ("cursor_no_plugins", '`cursor()` + `execute` + `fetchall` + `close`, awsdb `plugins=""`'),
    ):
        if key not in oh:
            continue
        m = oh[key]
        lines.append(
            f"| {label} | {m['raw_us']:.1f} µs | {m['awsdb_us']:.1f} µs | "
            f"{m['ratio']:.3f}× ({m['ratio_p25']:.3f}–{m['ratio_p75']:.3f}) | "
            f"{m['cpu_ratio']:.3f}× | {m['cpu_added_us']:+.2f} µs |"
        )
    own, fake = oh["own_cost_ns"], oh["fake_driver_added_ns"]
    est = oh["estimated_ratio_from_own_cost"]
    lines += [
        "",
        '| wrapper\'s own cost per statement | awsdb `plugins=""` | awsdb `bg` |',
        "|---|---|---|",
        f"| no-I/O cursor (`execute` + `fetchall`) | +{own['awsdb_no_plugins']:.0f} ns "
        f"({est['awsdb_no_plugins']:.4f}×) | +{own['awsdb_bg']:.0f} ns ({est['awsdb_bg']:.4f}×) |",
        f"| `awsdb_testing.fake_driver` (`cursor` + `execute` + `fetchall` + `close`) | "
        f"+{fake['awsdb_no_plugins']:.0f} ns | +{fake['awsdb_bg']:.0f} ns |",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run both parts; print Markdown tables and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2, help="switchover runs per variant")
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--per-block", type=int, default=100)
    parser.add_argument("--out", default="benchmarks/results/bluegreen.json")
    parser.add_argument(
        "--only", choices=("overhead", "switchover"), help="run one part, keep the other's JSON"
    )
    args = parser.parse_args()
    out = Path(args.out)
    result: dict[str, Any] = json.loads(out.read_text()) if args.only and out.exists() else {}
    with PgBlueGreen(nodes=1, blue_first_octet=171, green_first_octet=181) as bg:
        bg.install_names()
        if args.only != "switchover":
            result["overhead"] = bench_overhead(bg, args.pairs, args.per_block)
        if args.only != "overhead":
            result["switchover"] = bench_switchover(bg, args.rounds)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(_table(result["switchover"], result["overhead"]))


if __name__ == "__main__":
    main()
