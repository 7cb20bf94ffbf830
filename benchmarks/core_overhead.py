"""Wrapper overhead of awsdb-core against the raw drivers, in one process, interleaved.

Measures, for psycopg 3 on a local PostgreSQL and mysql-connector-python on a local
MariaDB (both started by this script on loopback):

- ``SELECT 1`` + ``fetchall()`` per statement: raw driver, awsdb with ``plugins=""``, and
  awsdb with three plugins subscribed to ``Cursor.execute`` that only pass through;
- buffered ``fetchone()`` over 10,000 rows (the rows are fetched by ``execute``; only the
  fetch loop is timed): raw vs awsdb with no plugin subscribed to fetch;
- ``import awsdb`` wall time in a fresh interpreter and the threads it leaves.

Rounds alternate between the variants; each figure is the median over rounds, reported as
a ratio to the raw driver. Usage: ``uv run python benchmarks/core_overhead.py [--rounds N]``.
Results go to ``benchmarks/results/core_overhead.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packages" / "core" / "tests"))

from _paired import NullCursor  # noqa: E402

import awsdb  # noqa: E402
from awsdb import hookimpl  # noqa: E402
from awsdb.plugin import Plugin, PluginSpec  # noqa: E402


class _PassThrough(Plugin):
    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute"})

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        return call_next(*args, **kwargs)


def _register() -> None:
    for i, weight in enumerate((100, 200, 300)):
        awsdb.register_plugin(
            PluginSpec(code=f"bench_pass_{i}", factory=_PassThrough, weight=weight)
        )


_CPU: dict[int, list[float]] = {}


def _time(fn: Callable[[], None], n: int) -> float:
    cpu = time.thread_time_ns()
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    wall = (time.perf_counter_ns() - start) / n / 1000.0  # µs per op
    _CPU.setdefault(id(fn), []).append((time.thread_time_ns() - cpu) / n / 1000.0)
    return wall


def _interleave(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {k: [] for k in variants}
    order = list(variants)
    rng = random.Random(1)
    for _ in range(rounds):
        rng.shuffle(order)  # no variant always runs first (or right after another)
        for name in order:
            samples[name].append(variants[name]())
    return {k: statistics.median(v) for k, v in samples.items()}


def _select_one(cur: Any) -> Callable[[], None]:
    def op() -> None:
        cur.execute("SELECT 1")
        cur.fetchall()

    return op


def _fetchone_loop(cur: Any, sql: str, rows: int) -> Callable[[], float]:
    def run() -> float:
        cur.execute(sql)
        fetch = cur.fetchone
        start = time.perf_counter_ns()
        for _ in range(rows):
            fetch()
        return (time.perf_counter_ns() - start) / rows / 1000.0

    return run


def bench_driver(
    name: str,
    connect_raw: Callable[[], Any],
    target: Any,
    dsn: str,
    extra: dict[str, Any],
    fetch_sql: str,
    rounds: int,
    n: int,
) -> dict[str, Any]:
    raw = connect_raw()
    bare = awsdb.connect(target, dsn, plugins="", **extra)
    three = awsdb.connect(target, dsn, plugins="bench_pass_0,bench_pass_1,bench_pass_2", **extra)
    opts = {"buffered": True} if name == "mysql" else {}
    cursors = {
        "raw": raw.cursor(**opts),
        "awsdb_no_plugins": bare.cursor(**opts),
        "awsdb_3_passthrough": three.cursor(**opts),
    }
    anchor = _anchor_connect(target, dsn, extra)
    if anchor is not None:
        cursors["aws_wrapper_no_plugins"] = anchor.cursor(**opts)
    for cur in cursors.values():  # warm up
        for _ in range(200):
            _select_one(cur)()
    ops = {k: _select_one(c) for k, c in cursors.items()}
    select = _interleave({k: (lambda op=op: _time(op, n)) for k, op in ops.items()}, rounds)
    cpu = {k: statistics.median(_CPU[id(op)]) for k, op in ops.items()}
    fetch = _interleave(
        {
            "raw": _fetchone_loop(cursors["raw"], fetch_sql, 10_000),
            "awsdb_no_plugins": _fetchone_loop(cursors["awsdb_no_plugins"], fetch_sql, 10_000),
        },
        rounds,
    )
    for c in (raw, bare, three, anchor):
        if c is not None:
            c.close()
    cost = bench_wrapper_cost(target, dsn, rounds)
    return {
        "wrapper_added_ns_per_statement": cost,
        "select1_estimated_ratio": {
            k: (select["raw"] * 1000.0 + v) / (select["raw"] * 1000.0) for k, v in cost.items()
        },
        "select1_fetchall_us": select,
        "select1_ratio": {k: v / select["raw"] for k, v in select.items()},
        "select1_client_cpu_us": cpu,
        "select1_client_cpu_delta_us": {k: v - cpu["raw"] for k, v in cpu.items()},
        "fetchone_10k_us_per_row": fetch,
        "fetchone_ratio": {k: v / fetch["raw"] for k, v in fetch.items()},
    }


def bench_wrapper_cost(target: Any, dsn: str, rounds: int, n: int = 20000) -> dict[str, float]:
    """Nanoseconds the wrapper adds per ``execute`` + ``fetchall`` over a no-I/O cursor."""
    from awsdb._cursor import AwsWrapperCursor

    bare = awsdb.connect(target, dsn, plugins="")
    three = awsdb.connect(target, dsn, plugins="bench_pass_0,bench_pass_1,bench_pass_2")
    null = NullCursor()
    curs = {
        "raw": null,
        "awsdb_no_plugins": AwsWrapperCursor(bare, null),
        "awsdb_3_passthrough": AwsWrapperCursor(three, null),
    }
    result = _interleave(
        {k: (lambda c=c: _time(_select_one(c), n) * 1000.0) for k, c in curs.items()}, rounds
    )
    bare.close()
    three.close()
    return {k: v - result["raw"] for k, v in result.items() if k != "raw"}


def _anchor_connect(target: Any, dsn: str, extra: dict[str, Any]) -> Any:
    """The AWS Advanced Python Wrapper with no plugins, when installed (test-only peer)."""
    try:
        from aws_advanced_python_wrapper import AwsWrapperConnection
    except ImportError:
        return None
    if "mysql" in getattr(target, "__module__", ""):
        kw = dict(_mysql_kwargs(dsn))
        return AwsWrapperConnection.connect(target, "", plugins="", **kw, **extra)
    return AwsWrapperConnection.connect(target, dsn, plugins="", **extra)


def _mysql_kwargs(url: str) -> dict[str, Any]:
    from urllib.parse import urlsplit

    u = urlsplit(url)
    return {
        "host": u.hostname,
        "port": u.port,
        "user": u.username,
        "password": u.password,
        "database": u.path.lstrip("/"),
        "use_pure": True,
    }


def bench_import(repeats: int = 15) -> dict[str, Any]:
    code = (
        "import time, threading; t = time.perf_counter(); import awsdb; "
        "print((time.perf_counter() - t) * 1000, threading.active_count())"
    )
    times, threads = [], set()
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        ms, th = out.stdout.split()
        times.append(float(ms))
        threads.add(int(th))
    return {"import_ms_median": statistics.median(times), "threads_after_import": sorted(threads)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("-n", type=int, default=2000, help="statements per round")
    args = parser.parse_args()
    from _servers import mariadb_server, postgres_server

    _register()
    results: dict[str, Any] = {"rounds": args.rounds, "n": args.n}
    with ExitStack() as stack:
        pg = stack.enter_context(postgres_server())
        import psycopg

        results["psycopg"] = bench_driver(
            "pg",
            lambda: psycopg.Connection.connect(**pg.kwargs()),
            psycopg.Connection.connect,
            pg.dsn,
            {},
            "SELECT generate_series(1, 10000)",
            args.rounds,
            args.n,
        )
        try:
            my = stack.enter_context(mariadb_server())
        except RuntimeError as exc:
            print(f"MariaDB skipped: {exc}")
        else:
            import mysql.connector

            results["mysql_connector"] = bench_driver(
                "mysql",
                lambda: mysql.connector.connect(**my.kwargs()),
                mysql.connector.connect,
                my.dsn,
                {},
                "SELECT seq FROM seq_1_to_10000",
                args.rounds,
                args.n,
            )
    results["import"] = bench_import()
    awsdb.release_resources()
    out = ROOT / "benchmarks" / "results" / "core_overhead.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for line in _table(results):
        print(line)


def _table(r: dict[str, Any]) -> Iterator[str]:
    yield (
        '| driver | benchmark | raw µs | awsdb `plugins=""` | awsdb 3 pass-through '
        '| AWS wrapper `plugins=""` |'
    )
    yield "|---|---|---|---|---|---|"
    for key, label in (
        ("psycopg", "psycopg 3 / PostgreSQL 15"),
        ("mysql_connector", "mysql-connector / MariaDB"),
    ):
        d = r.get(key)
        if not d:
            continue
        s, sr = d["select1_fetchall_us"], d["select1_ratio"]
        anchor = sr.get("aws_wrapper_no_plugins")
        peer = f"{anchor:.3f}×" if anchor is not None else "not installed"
        yield (
            f"| {label} | SELECT 1 + fetchall | {s['raw']:.1f} | {sr['awsdb_no_plugins']:.3f}× "
            f"| {sr['awsdb_3_passthrough']:.3f}× | {peer} |"
        )
        delta = d["select1_client_cpu_delta_us"]
        yield (
            f"| {label} | client CPU µs added per SELECT 1 "
            f"| {d['select1_client_cpu_us']['raw']:.1f} "
            f"| +{delta['awsdb_no_plugins']:.2f} µs | +{delta['awsdb_3_passthrough']:.2f} µs | "
            + (
                f"+{delta['aws_wrapper_no_plugins']:.2f} µs |"
                if "aws_wrapper_no_plugins" in delta
                else "not installed |"
            )
        )
        cost, est = d["wrapper_added_ns_per_statement"], d["select1_estimated_ratio"]
        yield (
            f"| {label} | wrapper's own cost per statement (no-I/O cursor) | — "
            f"| +{cost['awsdb_no_plugins']:.0f} ns ({est['awsdb_no_plugins']:.4f}×) "
            f"| +{cost['awsdb_3_passthrough']:.0f} ns ({est['awsdb_3_passthrough']:.4f}×) | — |"
        )
        f, fr = d["fetchone_10k_us_per_row"], d["fetchone_ratio"]
        yield (
            f"| {label} | buffered fetchone (10k rows) | {f['raw']:.3f} | "
            f"{fr['awsdb_no_plugins']:.3f}× | — | — |"
        )
    imp = r["import"]
    yield (
        f"\n`import awsdb`: {imp['import_ms_median']:.1f} ms median, "
        f"threads after import: {imp['threads_after_import']}"
    )


if __name__ == "__main__":
    main()
