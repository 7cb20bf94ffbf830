"""Failover time on the emulated Aurora PostgreSQL cluster: awsdb against plain psycopg.

One logical connection commits a row every ~20 ms while the writer is SIGKILLed and a
replica promoted. The figure per failover is *first good commit after the kill minus the
moment the new writer stopped being in recovery* (a probe polls every replica each
millisecond with ``pg_is_in_recovery()``): the time the client loses beyond what the
database itself needs. The commit gap (last commit before
the kill to first after it) is reported beside it. Clients:

- ``awsdb``: ``plugins="failover"`` on the writer endpoint; ``FailoverSuccessError`` /
  ``TransactionResolutionUnknownError`` → run the transaction again at once;
- ``psycopg``: a libpq multi-host conninfo with ``target_session_attrs=read-write`` and
  a reconnect loop on ``OperationalError`` (the best a plain driver can do).

Rounds alternate between the clients; after each failover the old writer rejoins as a
replica. Usage: ``uv run python benchmarks/failover.py [--failovers 10] [--label NAME]``;
results go to ``benchmarks/results/failover[-NAME].json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

import awsdb
from awsdb_testing.pg import PgCluster, PgClusterConfig

PERIOD_S = 0.02


def _awsdb_client(cluster: PgCluster) -> Callable[[], Any]:
    def connect() -> Any:
        return awsdb.connect(
            psycopg.Connection.connect,
            f"host={cluster.names.writer_endpoint} port={cluster.nodes[0].port} "
            "user=app dbname=app connect_timeout=2",
            plugins="failover",
            failover_timeout_sec=60,
        )

    return connect


def _raw_client(cluster: PgCluster) -> Callable[[], Any]:
    hosts = ",".join(n.host for n in cluster.nodes)
    ports = ",".join(str(n.port) for n in cluster.nodes)

    def connect() -> Any:
        return psycopg.connect(
            f"host={hosts} port={ports} user=app dbname=app connect_timeout=2 "
            "target_session_attrs=read-write"
        )

    return connect


class _Trace(logging.Handler):
    """Monotonic times of the monitor's verified writer and of the failover's end."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.verified: list[float] = []
        self.failed_over: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        now = time.monotonic()
        msg = record.getMessage()
        if msg.startswith("verified writer"):
            self.verified.append(now)
        elif msg.startswith("failover of"):
            self.failed_over.append(now)

    def __enter__(self) -> _Trace:
        for name in ("awsdb.topology", "awsdb.failover"):
            logger = logging.getLogger(name)
            logger.addHandler(self)
            logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in ("awsdb.topology", "awsdb.failover"):
            logging.getLogger(name).removeHandler(self)


def _first_after(times: list[float], t: float) -> float | None:
    return next((x for x in times if x >= t), None)


class _Workload:
    """Commits every PERIOD_S on one logical connection; records commit times."""

    def __init__(self, connect: Callable[[], Any], wrapped: bool) -> None:
        self._connect = connect
        self._wrapped = wrapped
        self.commits: list[tuple[float, str]] = []  # (time, server address)
        self.errors = 0
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        conn = self._connect()
        n = 0
        try:
            while not self._stop.is_set():
                n += 1
                try:
                    if conn is None:
                        conn = self._connect()
                        self.reconnects += 1
                    row = conn.execute(
                        "INSERT INTO fo_bench (v) VALUES (%s) "
                        "RETURNING pg_catalog.host(pg_catalog.inet_server_addr())",
                        (n,),
                    ).fetchone()
                    conn.commit()
                    self.commits.append((time.monotonic(), str(row[0])))
                except (awsdb.FailoverSuccessError, awsdb.TransactionResolutionUnknownError):
                    self.errors += 1
                    continue  # the connection is on the new writer: go again at once
                except psycopg.OperationalError:
                    self.errors += 1
                    if not self._wrapped and conn is not None:
                        conn.close()
                        conn = None
                    continue
                self._stop.wait(PERIOD_S)
        finally:
            if conn is not None:
                conn.close()


class _WritableProbe:
    """Polls every replica each millisecond; records when each stops being in recovery."""

    def __init__(self, cluster: PgCluster) -> None:
        writer = cluster.writer().instance_id
        self._conns = {
            n.host: psycopg.connect(**cluster.app_conninfo_kwargs(n), autocommit=True)
            for n in cluster.nodes
            if n.instance_id != writer and n.pid is not None
        }
        self.writable_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.writable_at) < len(self._conns):
            for host, conn in self._conns.items():
                if host in self.writable_at:
                    continue
                row = conn.execute("SELECT pg_catalog.pg_is_in_recovery()").fetchone()
                if row is not None and row[0] is False:
                    self.writable_at[host] = time.monotonic()
            self._stop.wait(0.001)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for conn in self._conns.values():
            conn.close()


def _one_failover(cluster: PgCluster, client: str) -> dict[str, Any]:
    connect = _awsdb_client(cluster) if client == "awsdb" else _raw_client(cluster)
    work = _Workload(connect, wrapped=client == "awsdb")
    work.start()
    time.sleep(1.0)  # steady state: the topology monitor is warm
    probe = _WritableProbe(cluster)
    trace = _Trace().__enter__()
    node = cluster._node(cluster.writer().instance_id)
    kill = node.kill
    kill_times: list[float] = []

    def timed_kill() -> None:
        kill_times.append(time.monotonic())  # the controller's steps are timed from here
        kill()

    node.kill = timed_kill  # type: ignore[method-assign]
    try:
        report = cluster.failover(kill=True)
    finally:
        del node.kill
    killed_at = kill_times[0]
    writable_at = killed_at + (report.writable_s or 0.0)
    deadline = time.monotonic() + 30
    new_host = cluster._node(report.new_writer).host
    while time.monotonic() < deadline and not any(a == new_host for _, a in work.commits):
        time.sleep(0.01)
    work.stop()
    probe.stop()
    trace.__exit__()
    promoted_at = probe.writable_at.get(new_host, promoted_at_controller(killed_at, report))
    verified = _first_after(trace.verified, killed_at)
    failed_over = _first_after(trace.failed_over, killed_at)
    # the first commit on the new writer (a backend of the killed server may still commit
    # for a moment after the signal: those commits are not counted as recovered)
    first = next((t for t, a in work.commits if a == new_host), None)
    last = max((t for t, a in work.commits if a != new_host), default=None)
    lost = (first - writable_at) if first is not None else None
    lost_promoted = (first - promoted_at) if first is not None else None
    cluster.rejoin(report.old_writer)
    cluster.wait_converged(timeout=30)
    return {
        "client": client,
        "old_writer": report.old_writer,
        "new_writer": report.new_writer,
        "writable_s": report.writable_s,
        "client_lost_s": lost,
        "promoted_s": report.steps.get("promoted"),
        "after_promoted_s": lost_promoted,
        "gap_s": (first - last) if first is not None and last is not None else None,
        "verified_after_promoted_s": (verified - promoted_at) if verified is not None else None,
        "connected_after_promoted_s": (
            (failed_over - promoted_at) if failed_over is not None else None
        ),
        "errors": work.errors,
        "reconnects": work.reconnects,
    }


def promoted_at_controller(killed_at: float, report: Any) -> float:
    """The controller's own (coarser) promotion time, when the probe saw nothing."""
    return killed_at + float(report.steps.get("promoted", 0.0))


def main() -> None:
    """Run alternating failovers and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--failovers", type=int, default=10, help="per client")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with PgCluster(PgClusterConfig()) as cluster, cluster.names_installed():
        with psycopg.connect(**cluster.app_conninfo_kwargs(cluster.writer()), autocommit=True) as c:
            c.execute("CREATE TABLE IF NOT EXISTS fo_bench (id bigserial PRIMARY KEY, v int)")
        cluster.wait_converged(timeout=30)
        for i in range(args.failovers * 2):
            client = "awsdb" if i % 2 == 0 else "psycopg"
            row = _one_failover(cluster, client)
            rows.append(row)
            print(row, flush=True)
            awsdb.release_resources()
    print(
        "\n| client | failovers | first commit on the new writer after promotion, median "
        "| max | after the topology shows it, median | commit gap, median |"
    )
    print("|---|---|---|---|---|---|")
    summary: dict[str, Any] = {}
    for client in ("awsdb", "psycopg"):
        mine = [r for r in rows if r["client"] == client]
        lost = [r["after_promoted_s"] for r in mine if r["after_promoted_s"] is not None]
        gap = [r["gap_s"] for r in mine if r["gap_s"] is not None]
        shown = [r["client_lost_s"] for r in mine if r["client_lost_s"] is not None]
        summary[client] = {
            "n": len(mine),
            "after_promoted_median_s": statistics.median(lost) if lost else None,
            "after_promoted_max_s": max(lost) if lost else None,
            "gap_median_s": statistics.median(gap) if gap else None,
            "after_topology_median_s": statistics.median(shown) if shown else None,
            "never_recovered": len(mine) - len(lost),
        }
        st = summary[client]
        print(
            f"| {client} | {st['n']} | {st['after_promoted_median_s']:.3f} s | "
            f"{st['after_promoted_max_s']:.3f} s | {st['after_topology_median_s']:.3f} s | "
            f"{st['gap_median_s']:.3f} s |"
        )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    suffix = f"-{args.label}" if args.label else ""
    (out / f"failover{suffix}.json").write_text(
        json.dumps({"summary": summary, "rows": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
