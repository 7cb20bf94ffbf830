"""Durability through failover on the emulated Aurora PostgreSQL cluster, in durable mode.

Eight writer threads, each on its own awsdb connection (``plugins="failover"`` on the writer
endpoint), commit transactions of one or two rows with unique ids while the writer is
SIGKILLed ``--failovers`` times in a row (the most advanced replica is promoted; the old
writer rejoins as a replica after each). The cluster runs with synchronous replication
(``PgClusterConfig(durable=True)``), standing in for Aurora's shared storage: an
acknowledged commit is on a standby, so any loss would be the client's.

What each thread was told decides what the final writer must hold:

- ``acked``: ``commit()`` returned: every row must be present (``lost`` counts those that
  are not);
- ``failed``: a failover error was raised by a statement before the commit (the transaction
  was rolled back): no row may be present (``phantom`` counts those that are);
- ``ambiguous``: ``commit()`` raised ``TransactionResolutionUnknownError``: either outcome
  is allowed, all or nothing (``ambiguous_present`` / ``ambiguous_absent``; ``torn`` counts
  partial ones); any other error from ``commit()`` is counted in ``wrong_commit_error``.

Failover times, per failover, from the SIGKILL: the controller's ``writable`` (its first
write committed on the new writer, after ``pg_promote(wait => true)`` returned, which polls
every 100 ms), the first acknowledged commit of any thread on the new writer, and the
moment the last of the eight threads had its first acknowledged commit on the new writer.

Usage: ``uv run python benchmarks/failover_durability.py [--failovers 10] [--writers 8]
[--label NAME]``; results go to ``benchmarks/results/failover_durability[-NAME].json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

import awsdb
from awsdb_testing.pg import PgCluster, PgClusterConfig

_ID_STRIDE = 10_000_000


class _Writer:
    """One awsdb connection committing one- and two-row transactions until stopped."""

    def __init__(self, index: int, connect: Callable[[], Any]) -> None:
        self.index = index
        self._connect = connect
        self.acked: list[tuple[float, str, tuple[int, ...]]] = []  # (ack time, host, ids)
        self.failed: list[tuple[int, ...]] = []
        self.ambiguous: list[tuple[int, ...]] = []
        self.wrong_commit_errors: list[str] = []
        self.other_errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"durable-writer-{index}")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(120)

    def _run(self) -> None:
        conn = self._connect()
        n = 0
        try:
            while not self._stop.is_set():
                n += 2
                base = self.index * _ID_STRIDE + n
                ids = (base,) if n % 4 else (base, base + 1)
                try:
                    for i in ids:
                        conn.execute("INSERT INTO dur (id, w) VALUES (%s, %s)", (i, self.index))
                except (awsdb.FailoverSuccessError, awsdb.TransactionResolutionUnknownError):
                    self.failed.append(ids)
                    continue
                except awsdb.Error as exc:
                    self.other_errors.append(f"execute: {type(exc).__name__}: {exc}")
                    self.failed.append(ids)
                    time.sleep(0.05)
                    continue
                try:
                    conn.commit()
                except awsdb.TransactionResolutionUnknownError:
                    self.ambiguous.append(ids)
                    continue
                except Exception as exc:
                    self.wrong_commit_errors.append(f"{type(exc).__name__}: {exc}")
                    self.ambiguous.append(ids)
                    time.sleep(0.05)
                    continue
                host = conn.plugin_service.current_host
                self.acked.append((time.monotonic(), host.host if host else "", ids))
        finally:
            conn.close()


def _wait_progress(
    writers: list[_Writer], since: list[int], host: str | None, timeout: float
) -> None:
    """Until every writer acknowledged a commit after ``since`` (on ``host`` if given)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(
            any(host is None or h == host for _, h, _ in w.acked[s:])
            for w, s in zip(writers, since, strict=True)
        ):
            return
        time.sleep(0.02)
    raise RuntimeError("writers made no progress after a failover")


def _timed_failover(cluster: PgCluster) -> tuple[Any, float]:
    """``cluster.failover()`` and the monotonic time of its SIGKILL."""
    node = cluster._node(cluster.writer().instance_id)
    kill = node.kill
    kill_times: list[float] = []

    def timed_kill() -> None:
        kill_times.append(time.monotonic())
        kill()

    node.kill = timed_kill  # type: ignore[method-assign]
    try:
        report = cluster.failover()
    finally:
        del node.kill
    return report, kill_times[0]


def main() -> None:
    """Run the failovers, check the data, print the counts and times."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--failovers", type=int, default=10)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    awsdb.release_resources()
    with PgCluster(PgClusterConfig(durable=True)) as cluster, cluster.names_installed():
        with psycopg.connect(**cluster.app_conninfo_kwargs(cluster.writer()), autocommit=True) as c:
            c.execute("CREATE TABLE dur (id bigint PRIMARY KEY, w int NOT NULL)")
        endpoint, port = cluster.names.writer_endpoint, cluster.nodes[0].port

        def connect() -> Any:
            return awsdb.connect(
                psycopg.Connection.connect,
                f"host={endpoint} port={port} user=app dbname=app connect_timeout=3",
                plugins="failover",
                failover_timeout_sec=60,
            )

        writers = [_Writer(i + 1, connect) for i in range(args.writers)]
        for w in writers:
            w.start()
        failovers: list[dict[str, Any]] = []
        try:
            _wait_progress(writers, [0] * len(writers), None, 60)
            for _ in range(args.failovers):
                since = [len(w.acked) for w in writers]
                report, killed_at = _timed_failover(cluster)
                # the first commit on the new writer (a backend of the killed server can
                # still acknowledge a commit for a moment after the signal)
                new_host = cluster.names.instance(report.new_writer)
                _wait_progress(writers, since, new_host, 90)
                firsts = [
                    next(t for t, h, _ in w.acked[s:] if h == new_host)
                    for w, s in zip(writers, since, strict=True)
                ]
                failovers.append(
                    {
                        "old_writer": report.old_writer,
                        "new_writer": report.new_writer,
                        "writable_s": report.writable_s,
                        "first_commit_s": min(firsts) - killed_at,
                        "all_writers_s": max(firsts) - killed_at,
                        "per_writer_s": [t - killed_at for t in firsts],
                        "repaired": report.repaired,
                        "rejoin": cluster.rejoin(report.old_writer),
                    }
                )
                print(
                    {k: v for k, v in failovers[-1].items() if k != "per_writer_s"},
                    flush=True,
                )
        finally:
            for w in writers:
                w.stop()
        cluster.wait_converged(timeout=30)
        with cluster.superuser_connect(cluster.writer()) as conn:
            present = {int(r[0]) for r in conn.execute("SELECT id FROM dur").fetchall()}
    awsdb.release_resources()

    acked = [ids for w in writers for _, _, ids in w.acked]
    failed = [ids for w in writers for ids in w.failed]
    ambiguous = [ids for w in writers for ids in w.ambiguous]
    counts = {
        "writers": len(writers),
        "failovers": len(failovers),
        "acked": len(acked),
        "acked_present": sum(all(i in present for i in t) for t in acked),
        "lost": sum(not all(i in present for i in t) for t in acked),
        "failed": len(failed),
        "phantom": sum(any(i in present for i in t) for t in failed),
        "ambiguous": len(ambiguous),
        "ambiguous_present": sum(all(i in present for i in t) for t in ambiguous),
        "ambiguous_absent": sum(not any(i in present for i in t) for t in ambiguous),
        "torn": sum(0 < sum(i in present for i in t) < len(t) for t in ambiguous),
        "wrong_commit_error": sum(len(w.wrong_commit_errors) for w in writers),
        "other_errors": sum(len(w.other_errors) for w in writers),
        "rows_present": len(present),
    }

    def med(key: str) -> float:
        return float(statistics.median(f[key] for f in failovers))

    per_writer = [t for f in failovers for t in f["per_writer_s"]]
    times = {
        "writable_median_s": med("writable_s"),
        "first_commit_median_s": med("first_commit_s"),
        "first_commit_max_s": max(f["first_commit_s"] for f in failovers),
        "all_writers_median_s": med("all_writers_s"),
        "all_writers_max_s": max(f["all_writers_s"] for f in failovers),
        "per_writer_median_s": statistics.median(per_writer),
    }
    print("\n| count | value |\n|---|---|")
    for key, value in counts.items():
        print(f"| {key} | {value} |")
    print("\n| time from the SIGKILL | value |\n|---|---|")
    for key, value in times.items():
        print(f"| {key} | {value:.3f} s |")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    suffix = f"-{args.label}" if args.label else ""
    (out / f"failover_durability{suffix}.json").write_text(
        json.dumps({"counts": counts, "times": times, "failovers": failovers}, indent=2) + "\n"
    )
    if counts["lost"] or counts["phantom"] or counts["torn"] or counts["wrong_commit_error"]:
        raise SystemExit("durability violated")


if __name__ == "__main__":
    main()
