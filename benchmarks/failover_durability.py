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
from pathlib import Path
from typing import Any

import psycopg

import awsdb
from awsdb_testing.durability import DURABLE_TABLE, DurableWriter, tally, wait_progress
from awsdb_testing.pg import PgCluster, PgClusterConfig


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
            c.execute(DURABLE_TABLE)
        endpoint, port = cluster.names.writer_endpoint, cluster.nodes[0].port

        def connect() -> Any:
            return awsdb.connect(
                psycopg.Connection.connect,
                f"host={endpoint} port={port} user=app dbname=app connect_timeout=3",
                plugins="failover",
                failover_timeout_sec=60,
            )

        writers = [DurableWriter(i + 1, connect) for i in range(args.writers)]
        for w in writers:
            w.start()
        failovers: list[dict[str, Any]] = []
        try:
            wait_progress(writers, [0] * len(writers), None, 60)
            for _ in range(args.failovers):
                since = [len(w.acked) for w in writers]
                report = cluster.failover()
                killed_at = report.started_at
                # the first commit on the new writer (a backend of the killed server can
                # still acknowledge a commit for a moment after the signal)
                new_host = cluster.names.instance(report.new_writer)
                wait_progress(writers, since, new_host, 90)
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

    verdict = tally(writers, present)
    counts = {
        "writers": len(writers),
        "failovers": len(failovers),
        "acked": len(verdict.acked),
        "acked_present": len(verdict.acked) - len(verdict.lost),
        "lost": len(verdict.lost),
        "failed": len(verdict.failed),
        "phantom": len(verdict.phantom),
        "ambiguous": len(verdict.ambiguous),
        "ambiguous_present": verdict.ambiguous_present,
        "ambiguous_absent": sum(not any(i in present for i in t) for t in verdict.ambiguous),
        "torn": len(verdict.torn),
        "wrong_commit_error": len(verdict.wrong_commit_errors),
        "other_errors": len(verdict.other_errors),
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
