"""Fetch throughput of awsdb_e6data vs the published e6data-python-connector, same engine.

Starts the test engine in a subprocess (so that engine encoding and client decoding run on
separate cores, as against a real engine), loads ROWS rows of mixed types, then alternates
fetches with both clients and reports rows/s and their ratio. It also measures the peak
Python heap while streaming the result with ``fetchall_buffer()``.

    uv run python benchmarks/e6data_fetch.py [--rows 1000000] [--rounds 3] [--batch 10000]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from typing import Any

SETUP = (
    "CREATE TABLE bench AS SELECT i::BIGINT AS id, (i % 1000)::INTEGER AS n, i * 0.5 AS d, "
    "'name-' || i AS s, DATE '2020-01-01' + (i % 3000)::INTEGER AS day, "
    "TIMESTAMP '2020-01-01' + to_microseconds(i * 1000) AS ts, "
    "(i / 100)::DECIMAL(12, 2) AS amount, i % 2 = 0 AS flag, "
    "CASE WHEN i % 10 = 0 THEN NULL ELSE i END AS maybe FROM range({rows}) r(i)"
)
QUERY = "SELECT * FROM bench"


def start_engine(rows: int, batch: int) -> tuple[subprocess.Popen[str], int]:
    """Start the engine subprocess and return it with its port."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "awsdb_e6data.engine",
            "--port",
            "0",
            "--batch-size",
            str(batch),
            "--setup-sql",
            SETUP.format(rows=rows),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"port=(\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"engine did not start: {line!r}")
    return proc, int(match.group(1))


def ours(port: int) -> int:
    """Fetch everything with awsdb_e6data; return the row count."""
    import awsdb_e6data

    with awsdb_e6data.connect(
        "127.0.0.1", port, "user", "secret", catalog="e6data", database="main"
    ) as conn:
        cur = conn.cursor()
        cur.execute(QUERY)
        return sum(len(batch) for batch in cur.fetchall_buffer())


def published(port: int) -> int:
    """Fetch everything with e6data-python-connector 3.0.2; return the row count."""
    from e6data_python_connector import e6data_grpc

    conn = e6data_grpc.Connection(
        host="127.0.0.1",
        port=port,
        username="user",
        password="secret",
        catalog="e6data",
        database="main",
    )
    try:
        cur = conn.cursor(catalog_name="e6data", db_name="main")
        cur.execute(QUERY)
        n = sum(len(batch) for batch in cur.fetchall_buffer())
        cur.clear()
        return n
    finally:
        conn.close()


def timed(fn: Any, port: int) -> tuple[float, int]:
    """(seconds, rows) of one fetch."""
    t0 = time.perf_counter()
    n = fn(port)
    return time.perf_counter() - t0, n


def peak_stream_memory(port: int) -> tuple[int, int, int]:
    """(peak heap bytes while streaming, largest batch bytes estimate, batches)."""
    import awsdb_e6data

    with awsdb_e6data.connect(
        "127.0.0.1", port, "user", "secret", catalog="e6data", database="main"
    ) as conn:
        cur = conn.cursor()
        cur.execute(QUERY)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        batches = 0
        first_batch_peak = 0
        for _ in cur.fetchall_buffer():
            batches += 1
            if batches == 2:
                first_batch_peak = tracemalloc.get_traced_memory()[1] - base
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        return peak, first_batch_peak, batches


def main() -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    proc, port = start_engine(args.rows, args.batch)
    try:
        results: dict[str, list[float]] = {"awsdb_e6data": [], "e6data-python-connector": []}
        for _ in range(args.rounds):
            for name, fn in (("awsdb_e6data", ours), ("e6data-python-connector", published)):
                secs, n = timed(fn, port)
                assert n == args.rows, (name, n)
                results[name].append(secs)
        peak, early, batches = peak_stream_memory(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    best = {k: min(v) for k, v in results.items()}
    print(f"rows={args.rows} batch={args.batch} rounds={args.rounds} cpus={os.cpu_count()}")
    print("| client | best s | median s | rows/s (best) |")
    print("|---|---|---|---|")
    for name, runs in results.items():
        med = sorted(runs)[len(runs) // 2]
        print(f"| {name} | {best[name]:.2f} | {med:.2f} | {args.rows / best[name]:,.0f} |")
    ratio = best["e6data-python-connector"] / best["awsdb_e6data"]
    print(f"\nratio (published / ours, best): {ratio:.2f}x")
    print(
        f"fetchall_buffer(): {batches} batches, peak heap after 2 batches {early / 1e6:.1f} MB, "
        f"peak over the whole stream {peak / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
