"""Cost of the ``stale_dns`` plugin on the emulated Aurora PostgreSQL cluster.

Connect + close through the writer endpoint, interleaved in rounds (the order shuffled
every round; a figure is the median over rounds of the mean per connect):

- ``raw``: psycopg to the writer instance's address, no awsdb;
- ``raw + role query``: the same plus ``pg_is_in_recovery()`` run the way the core's
  auxiliary query runs it (a local ``statement_timeout`` and the query in one
  simple-protocol message: one round trip), the floor of any role check on a new
  connection;
- ``awsdb plugins=""``: awsdb to the writer endpoint, no plugin;
- ``stale_dns, fresh DNS``: the endpoint resolves to the writer (the common case: the
  plugin resolves two names and asks the server its role, one round trip);
- ``stale_dns, stale DNS``: the endpoint resolves to a reader (the case it exists for:
  the role query, the topology read on the reader, a second connect to the writer and its
  close). The endpoint is pointed at the reader for this variant's block only;
- ``initial_connection``: the default chain's first plugin on the same endpoint, for
  comparison (the topology known: it connects to the writer instance and checks its role).

Wall time and the client thread's CPU time are both reported; on a busy machine the wall
time of a connect moves by tens of percent between rounds, the CPU time far less.

The topology monitor is kept alive by one open ``stale_dns`` connection, as an
application's pool would. Names resolve through the process resolver (no DNS server), so
the figures leave out what a real DNS lookup of two names costs.

Then the per-statement cost on an open connection (``conn.execute("SELECT 1").fetchall()``)
with ``stale_dns``, and with no plugin, each against the same physical connection used raw,
in paired blocks (``benchmarks/_paired.py``): the plugin reads the topology version before
every server call. Last, that hook alone (the layer the core binds,
``Plugin.bind_execute``) around a no-op call, without I/O or noise from the server: the
plugin's own cost per call.
Usage: ``uv run python benchmarks/stale_dns.py [--rounds 21] [--per-round 40]``; results go
to ``benchmarks/results/stale_dns.json``.
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
from _paired import block, paired

import awsdb
from awsdb_failover import StaleDnsPlugin
from awsdb_testing.pg import PgCluster, PgClusterConfig


def _variants(cluster: PgCluster) -> dict[str, tuple[Callable[[], None], str | None]]:
    """name → (connect + close, instance the writer endpoint must point at, if any)."""
    writer = cluster.writer()
    port = writer.port
    endpoint = f"host={cluster.names.writer_endpoint} port={port} user=app dbname=app"
    reader = cluster.readers()[0].instance_id

    def raw() -> None:
        psycopg.Connection.connect(
            host=writer.host, port=port, user="app", dbname="app", autocommit=True
        ).close()

    def raw_role() -> None:
        conn = psycopg.Connection.connect(
            host=writer.host, port=port, user="app", dbname="app", autocommit=True
        )
        cur = conn.execute(
            "SELECT pg_catalog.set_config('statement_timeout', '5000', true); "
            "SELECT pg_catalog.pg_is_in_recovery()"
        )
        cur.nextset()
        cur.fetchall()
        conn.close()

    def wrapped(plugins: str) -> Callable[[], None]:
        def run() -> None:
            awsdb.connect(
                psycopg.Connection.connect, endpoint, autocommit=True, plugins=plugins
            ).close()

        return run

    return {
        "raw": (raw, None),
        "raw + role query": (raw_role, None),
        'awsdb plugins=""': (wrapped(""), writer.instance_id),
        "stale_dns, fresh DNS": (wrapped("stale_dns"), writer.instance_id),
        "stale_dns, stale DNS": (wrapped("stale_dns"), reader),
        "initial_connection": (wrapped("initial_connection"), writer.instance_id),
    }


def _statement(conn: Any) -> Callable[[], None]:
    def run() -> None:
        conn.execute("SELECT 1").fetchall()

    return run


def _hook_cost_ns(conn: Any) -> float:
    """The plugin's own cost per server call, without I/O: its bound ``execute`` layer
    around a no-op, minus the no-op called directly (median of 21 blocks of 100,000)."""
    plugin = next(p for p in conn.plugin_service.plugins if isinstance(p, StaleDnsPlugin))

    def noop(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        return None

    layer = plugin.bind_execute("Cursor.execute", conn.target_connection, noop)
    assert layer is not None
    no_args: tuple[Any, ...] = ()
    no_kwargs: dict[str, Any] = {}

    def hooked() -> None:
        layer(None, no_args, no_kwargs)

    def direct() -> None:
        noop(None, no_args, no_kwargs)

    per: list[float] = []
    for _ in range(21):
        with_hook, _cpu = block(hooked, 100_000)
        without, _cpu = block(direct, 100_000)
        per.append((with_hook - without) * 1000)
    return statistics.median(per)


def main() -> None:
    """Interleaved connect rounds, then paired statement blocks; prints Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--per-round", type=int, default=40)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--per-block", type=int, default=100)
    args = parser.parse_args()
    with PgCluster(PgClusterConfig()) as cluster, cluster.names_installed():
        writer_id = cluster.writer().instance_id
        keep = awsdb.connect(
            psycopg.Connection.connect,
            f"host={cluster.names.writer_endpoint} port={cluster.writer().port} "
            "user=app dbname=app",
            autocommit=True,
            plugins="stale_dns",
        )
        variants = _variants(cluster)
        for fn, point in variants.values():  # warm: plugin classes, dialect cache, monitor
            if point is not None:
                cluster.point_writer_endpoint(point, delay_s=0)
            for _ in range(20):
                fn()
        samples: dict[str, list[float]] = {k: [] for k in variants}
        cpu: dict[str, list[float]] = {k: [] for k in variants}
        order = list(variants)
        rng = random.Random(7)
        for _ in range(args.rounds):
            rng.shuffle(order)
            for name in order:
                fn, point = variants[name]
                if point is not None:
                    cluster.point_writer_endpoint(point, delay_s=0)
                gc.disable()
                cpu0 = time.thread_time_ns()
                start = time.perf_counter_ns()
                for _ in range(args.per_round):
                    fn()
                samples[name].append((time.perf_counter_ns() - start) / args.per_round / 1000)
                cpu[name].append((time.thread_time_ns() - cpu0) / args.per_round / 1000)
                gc.enable()
        cluster.point_writer_endpoint(writer_id, delay_s=0)
        plain = awsdb.connect(
            psycopg.Connection.connect,
            f"host={cluster.names.writer_endpoint} port={cluster.writer().port} "
            "user=app dbname=app",
            autocommit=True,
            plugins="",
        )
        statement = {
            "stale_dns": paired(
                _statement(keep.target_connection), _statement(keep), args.pairs, args.per_block
            ),
            'plugins=""': paired(
                _statement(plain.target_connection), _statement(plain), args.pairs, args.per_block
            ),
        }
        hook_ns = _hook_cost_ns(keep)
        plain.close()
        keep.close()
    awsdb.release_resources()
    median = {k: statistics.median(v) for k, v in samples.items()}
    cpu_median = {k: statistics.median(v) for k, v in cpu.items()}
    raw = median["raw"]
    plain = median['awsdb plugins=""']
    plain_cpu = cpu_median['awsdb plugins=""']
    print(
        "| connect + close, writer endpoint | wall µs | vs raw | vs awsdb no plugin "
        "| client CPU µs | CPU vs awsdb no plugin |"
    )
    print("|---|---|---|---|---|---|")
    for name, value in median.items():
        c = cpu_median[name]
        print(
            f"| {name} | {value:.0f} | {value / raw:.2f}× | {value / plain:.2f}× | {c:.0f} | "
            f"{c - plain_cpu:+.0f} µs |"
        )
    print()
    print("| `execute(SELECT 1).fetchall()`, awsdb | raw | awsdb | wall ratio (IQR) | CPU added |")
    print("|---|---|---|---|---|")
    for name, m in statement.items():
        print(
            f"| {name} | {m['raw_us']:.1f} µs | {m['awsdb_us']:.1f} µs | "
            f"{m['ratio']:.3f}× ({m['ratio_p25']:.3f}–{m['ratio_p75']:.3f}) | "
            f"{m['cpu_added_us']:+.2f} µs |"
        )
    print()
    print(f"stale_dns execute hook, no I/O: {hook_ns:.0f} ns per server call")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "stale_dns.json").write_text(
        json.dumps(
            {
                "connect_median_us": median,
                "connect_cpu_median_us": cpu_median,
                "rounds": args.rounds,
                "per_round": args.per_round,
                "statement": statement,
                "hook_ns": hook_ns,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
