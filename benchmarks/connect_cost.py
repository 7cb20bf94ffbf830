"""The wrapper's own cost per connect, without network or server: the fake DB-API driver.

``awsdb.connect`` + ``close`` through ``awsdb_testing.fake_driver`` with 0, 1 and 3
pass-through plugins (subscribed to ``connect`` and ``Cursor.execute``) against the fake
driver's own ``connect`` + ``close``. With no I/O in the way, the difference is exactly what
awsdb adds: property parsing, plugin resolution and validation, chain compilation, the
host provider. Rounds are interleaved; a figure is the median over rounds of the mean per
connect. Usage: ``uv run python benchmarks/connect_cost.py [--rounds N] [--label NAME]``;
results go to ``benchmarks/results/connect_cost[-NAME].json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hot_path

import awsdb
from awsdb_testing import fake_driver

DSN = "host=h1 port=5432 user=app"


def _raw() -> None:
    fake_driver.connect(host="h1", port=5432, user="app").close()


def _wrapped(plugins: str) -> Callable[[], None]:
    def run() -> None:
        awsdb.connect(fake_driver.connect, DSN, plugins=plugins).close()

    return run


def main() -> None:
    """Run the interleaved rounds and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=500)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    hot_path._register()
    variants = {
        "raw": _raw,
        "0 plugins": _wrapped(""),
        "1 plugin": _wrapped("hot_connect_0"),
        "3 plugins": _wrapped("hot_connect_0,hot_connect_1,hot_connect_2"),
    }
    for fn in variants.values():  # warm caches: plugin classes are validated once
        for _ in range(200):
            fn()
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            gc.disable()
            start = time.perf_counter_ns()
            for _ in range(args.per_round):
                fn()
            samples[name].append((time.perf_counter_ns() - start) / args.per_round / 1000)
            gc.enable()
    median = {k: statistics.median(v) for k, v in samples.items()}
    raw = median["raw"]
    print("| connect + close (fake driver) | µs per connect | added by awsdb |")
    print("|---|---|---|")
    for name, value in median.items():
        print(f"| {name} | {value:.1f} | {'—' if name == 'raw' else f'+{value - raw:.1f} µs'} |")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    suffix = f"-{args.label}" if args.label else ""
    (out / f"connect_cost{suffix}.json").write_text(
        json.dumps({"median_us": median, "rounds": args.rounds}, indent=2) + "\n"
    )
    awsdb.release_resources()


if __name__ == "__main__":
    main()
