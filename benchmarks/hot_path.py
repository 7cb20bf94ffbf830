"""Core hot path against raw psycopg 3, in one process, interleaved rounds.

On a throw-away local PostgreSQL (started by this script on loopback) it times, for the raw
driver, awsdb with ``plugins=""`` and awsdb with one pass-through plugin subscribed to
``Cursor.execute`` only:

- ``cursor()`` + ``execute("SELECT 1")`` + ``close()``;
- ``conn.execute("SELECT 1").fetchall()`` (the psycopg shortcut);
- buffered ``cur.fetchone()`` over 10,000 rows (the attribute is looked up on every call,
  as applications write it; only the fetch loop is timed);
- ``fetchall()`` of 10,000 buffered rows (only the fetch is timed);

and ``connect`` + ``close`` with 0, 1 and 3 pass-through plugins (subscribed to ``connect``
and ``Cursor.execute``) against a raw ``psycopg.connect`` + ``close``.

Each round runs every variant once, in a shuffled order; a figure is the median over rounds,
reported as a ratio to the raw driver, with the client CPU time added per operation beside
it. Usage: ``uv run python benchmarks/hot_path.py [--rounds N] [--label NAME]``. Results go
to ``benchmarks/results/hot_path[-NAME].json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packages" / "core" / "tests"))

import awsdb  # noqa: E402
from awsdb import hookimpl  # noqa: E402
from awsdb.plugin import Plugin, PluginSpec  # noqa: E402

ROWS = 10_000


class _ExecutePass(Plugin):
    """Subscribed to ``Cursor.execute`` only; passes the call through."""

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


class _ConnectPass(_ExecutePass):
    """Subscribed to ``connect`` and ``Cursor.execute``; passes both through."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"connect", "Cursor.execute"})

    @hookimpl
    def connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        return call_next(host, props, is_initial)


def _register() -> None:
    awsdb.register_plugin(PluginSpec(code="hot_exec", factory=_ExecutePass, weight=100))
    for i, weight in enumerate((100, 200, 300)):
        awsdb.register_plugin(
            PluginSpec(code=f"hot_connect_{i}", factory=_ConnectPass, weight=weight)
        )


class _Sample:
    """Wall and client-CPU time of one timed block, per operation, in µs."""

    __slots__ = ("cpu", "wall")

    def __init__(self, wall: float, cpu: float) -> None:
        self.wall = wall
        self.cpu = cpu


def _timed(fn: Callable[[], None], n: int) -> _Sample:
    cpu = time.thread_time_ns()
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    wall = time.perf_counter_ns() - start
    return _Sample(wall / n / 1000.0, (time.thread_time_ns() - cpu) / n / 1000.0)


def _interleave(
    variants: dict[str, Callable[[], _Sample]], rounds: int
) -> dict[str, dict[str, float]]:
    walls: dict[str, list[float]] = {k: [] for k in variants}
    cpus: dict[str, list[float]] = {k: [] for k in variants}
    order = list(variants)
    rng = random.Random(7)
    for _ in range(rounds):
        rng.shuffle(order)  # no variant always runs first (or right after another)
        for name in order:
            gc.collect()
            s = variants[name]()
            walls[name].append(s.wall)
            cpus[name].append(s.cpu)
    wall = {k: statistics.median(v) for k, v in walls.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    return {
        "wall_us": wall,
        "cpu_us": cpu,
        "ratio": {k: v / wall["raw"] for k, v in wall.items()},
        "cpu_delta_us": {k: v - cpu["raw"] for k, v in cpu.items()},
    }


def _cursor_execute_close(conn: Any) -> Callable[[], None]:
    def op() -> None:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        cur.close()

    return op


def _conn_execute_fetchall(conn: Any) -> Callable[[], None]:
    def op() -> None:
        conn.execute("SELECT 1").fetchall()

    return op


def _fetchone_rows(cur: Any, sql: str) -> Callable[[], _Sample]:
    def run() -> _Sample:
        cur.execute(sql)
        cpu = time.thread_time_ns()
        start = time.perf_counter_ns()
        for _ in range(ROWS):
            cur.fetchone()
        wall = time.perf_counter_ns() - start
        return _Sample(wall / ROWS / 1000.0, (time.thread_time_ns() - cpu) / ROWS / 1000.0)

    return run


def _fetchall_rows(cur: Any, sql: str) -> Callable[[], _Sample]:
    def run() -> _Sample:
        cur.execute(sql)
        cpu = time.thread_time_ns()
        start = time.perf_counter_ns()
        rows = cur.fetchall()
        wall = time.perf_counter_ns() - start
        assert len(rows) == ROWS
        return _Sample(wall / 1000.0, (time.thread_time_ns() - cpu) / 1000.0)

    return run


def bench(dsn: str, kwargs: dict[str, Any], rounds: int, n: int) -> dict[str, Any]:
    import psycopg

    target = psycopg.Connection.connect
    conns = {
        "raw": psycopg.Connection.connect(**kwargs, autocommit=True),
        "awsdb_no_plugins": awsdb.connect(target, dsn, plugins="", autocommit=True),
        "awsdb_execute_plugin": awsdb.connect(target, dsn, plugins="hot_exec", autocommit=True),
    }
    results: dict[str, Any] = {}
    try:
        for conn in conns.values():  # warm up (and specialise) every path
            for _ in range(300):
                _cursor_execute_close(conn)()
                _conn_execute_fetchall(conn)()
        ops = {k: _cursor_execute_close(c) for k, c in conns.items()}
        results["cursor_execute_close"] = _interleave(
            {k: (lambda op=op: _timed(op, n)) for k, op in ops.items()}, rounds
        )
        ops = {k: _conn_execute_fetchall(c) for k, c in conns.items()}
        results["conn_execute_select1_fetchall"] = _interleave(
            {k: (lambda op=op: _timed(op, n)) for k, op in ops.items()}, rounds
        )
        sql = f"SELECT g, 'row ' || g FROM generate_series(1, {ROWS}) AS g"
        curs = {k: c.cursor() for k, c in conns.items()}
        for cur in curs.values():
            _fetchone_rows(cur, sql)()
        results["fetchone_10k_per_row"] = _interleave(
            {k: _fetchone_rows(c, sql) for k, c in curs.items()}, rounds
        )
        results["fetchall_10k"] = _interleave(
            {k: _fetchall_rows(c, sql) for k, c in curs.items()}, rounds
        )
    finally:
        for conn in conns.values():
            conn.close()
    results["connect_close"] = bench_connect(dsn, kwargs, rounds, max(n // 10, 50))
    return results


def bench_connect(dsn: str, kwargs: dict[str, Any], rounds: int, n: int) -> dict[str, float]:
    import psycopg

    target = psycopg.Connection.connect

    def raw() -> None:
        psycopg.Connection.connect(**kwargs).close()

    def wrapped(plugins: str) -> Callable[[], None]:
        def op() -> None:
            awsdb.connect(target, dsn, plugins=plugins).close()

        return op

    variants = {
        "raw": raw,
        "awsdb_0_plugins": wrapped(""),
        "awsdb_1_plugin": wrapped("hot_connect_0"),
        "awsdb_3_plugins": wrapped("hot_connect_0,hot_connect_1,hot_connect_2"),
    }
    for op in variants.values():
        for _ in range(20):
            op()
    return _interleave({k: (lambda op=op: _timed(op, n)) for k, op in variants.items()}, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("-n", type=int, default=1000, help="statements per round")
    parser.add_argument("--label", default="", help="suffix of the results file")
    args = parser.parse_args()
    from _servers import postgres_server

    _register()
    with postgres_server() as pg:
        results: dict[str, Any] = {"rounds": args.rounds, "n": args.n}
        results.update(bench(pg.dsn, pg.kwargs(), args.rounds, args.n))
    awsdb.release_resources()
    name = f"hot_path-{args.label}.json" if args.label else "hot_path.json"
    out = ROOT / "benchmarks" / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for line in _table(results):
        print(line)


_ROWS = (
    ("cursor_execute_close", "`cursor()` + `execute(SELECT 1)` + `close()`"),
    ("conn_execute_select1_fetchall", '`conn.execute("SELECT 1").fetchall()`'),
    ("fetchone_10k_per_row", "buffered `fetchone()`, 10k rows, per row"),
    ("fetchall_10k", "`fetchall()` of 10k buffered rows"),
)


def _table(r: dict[str, Any]) -> Iterator[str]:
    yield (
        '| benchmark | raw | awsdb `plugins=""` | awsdb, 1 plugin on `Cursor.execute` |'
        "\n|---|---|---|---|"
    )
    for key, label in _ROWS:
        d = r[key]
        cells = [
            f"{d['ratio'][k]:.3f}× ({d['cpu_delta_us'][k]:+.2f} µs CPU)"
            for k in ("awsdb_no_plugins", "awsdb_execute_plugin")
        ]
        yield f"| {label} | {d['wall_us']['raw']:.2f} µs | {cells[0]} | {cells[1]} |"
    c = r["connect_close"]
    yield "\n| connect + close | raw | 0 plugins | 1 plugin | 3 plugins |\n|---|---|---|---|---|"
    cells = [
        f"+{c['wall_us'][k] - c['wall_us']['raw']:.0f} µs ({c['ratio'][k]:.3f}×)"
        for k in ("awsdb_0_plugins", "awsdb_1_plugin", "awsdb_3_plugins")
    ]
    yield f"| wall | {c['wall_us']['raw']:.0f} µs | {' | '.join(cells)} |"
    cells = [
        f"{c['cpu_delta_us'][k]:+.0f} µs"
        for k in ("awsdb_0_plugins", "awsdb_1_plugin", "awsdb_3_plugins")
    ]
    yield f"| client CPU added | {c['cpu_us']['raw']:.0f} µs | {' | '.join(cells)} |"


if __name__ == "__main__":
    main()
