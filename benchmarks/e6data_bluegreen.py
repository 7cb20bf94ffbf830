"""Blue/green switchover under load: 8 threads issue queries while the engine goes
{blue} -> {blue, green} announcing green -> {green}; counts failed queries per client.

    uv run python benchmarks/e6data_bluegreen.py [--threads 8] [--phase-seconds 3]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any

from awsdb_e6data.engine import Engine

QUERY = "SELECT i, i * 2 AS twice FROM range(200) r(i)"


def ours_factory(port: int) -> Callable[[], Any]:
    """A query function per thread using awsdb_e6data (one connection per thread)."""
    import awsdb_e6data

    def make() -> Callable[[], int]:
        conn = awsdb_e6data.connect(
            "127.0.0.1", port, "user", "secret", catalog="e6data", database="main"
        )

        def run() -> int:
            cur = conn.cursor()
            cur.execute(QUERY)
            n = len(cur.fetchall())
            cur.close()
            return n

        return run

    return make


def published_factory(port: int) -> Callable[[], Any]:
    """The same with e6data-python-connector 3.0.2."""
    from e6data_python_connector import e6data_grpc

    def make() -> Callable[[], int]:
        conn = e6data_grpc.Connection(
            host="127.0.0.1",
            port=port,
            username="user",
            password="secret",
            catalog="e6data",
            database="main",
        )

        def run() -> int:
            cur = conn.cursor(catalog_name="e6data", db_name="main")
            cur.execute(QUERY)
            n = len(cur.fetchall())
            cur.clear()
            return n

        return run

    return make


def workload(
    name: str, factory: Callable[[int], Callable[[], Any]], threads: int, phase: float
) -> dict[str, Any]:
    """Run the switchover scenario against a fresh engine; return the counts."""
    engine = Engine(port=0, batch_size=50).start()
    make = factory(engine.port)
    stop = threading.Event()
    ok = [0]
    failed: list[str] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        run = make()
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                n = run()
                assert n == 200, n
                with lock:
                    ok[0] += 1
                    latencies.append(time.perf_counter() - t0)
            except Exception as exc:
                with lock:
                    failed.append(f"{type(exc).__name__}: {str(exc)[:80]}")

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    try:
        for t in pool:
            t.start()
        time.sleep(phase)
        engine.control.set_phase({"blue", "green"}, announce="green")
        time.sleep(phase)
        engine.control.set_phase({"green"})
        time.sleep(phase)
    finally:
        stop.set()
        for t in pool:
            t.join(timeout=30)
        colours = {
            c.headers.get("strategy")
            for c in engine.control.calls_of("prepareStatementV2")[-threads:]
        }
        engine.stop()
    latencies.sort()
    return {
        "client": name,
        "ok": ok[0],
        "failed": len(failed),
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "final_colours": ",".join(sorted(c or "-" for c in colours)),
        "first_errors": sorted(set(failed))[:3],
    }


def main() -> None:
    """Run both clients and print a markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--phase-seconds", type=float, default=3.0)
    parser.add_argument("--skip-published", action="store_true")
    args = parser.parse_args()
    runs = [("awsdb_e6data", ours_factory)]
    if not args.skip_published:
        runs.append(("e6data-python-connector", published_factory))
    results = [workload(n, f, args.threads, args.phase_seconds) for n, f in runs]
    print(
        f"threads={args.threads} phase={args.phase_seconds}s "
        "({blue} -> {blue,green}+announce green -> {green})"
    )
    print("| client | queries ok | failed | p50 ms | p99 ms | colour at the end |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['client']} | {r['ok']} | {r['failed']} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['final_colours']} |"
        )
    for r in results:
        for err in r["first_errors"]:
            print(f"- {r['client']}: {err}")


if __name__ == "__main__":
    main()
