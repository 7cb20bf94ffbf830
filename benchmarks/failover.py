"""Failover time on the emulated Aurora PostgreSQL cluster: awsdb, the published AWS wrapper
and plain psycopg.

One logical connection commits a row every ~20 ms while the writer is SIGKILLed and a
replica promoted. The figure per failover is *first good commit on the new writer minus the
moment the new writer stopped being in recovery* (a probe polls every replica each
millisecond with ``pg_is_in_recovery()``): the time the client loses beyond what the
database itself needs. The commit gap (last commit before the kill to first after it) is
reported beside it. Every client runs the same statement through a cursor
(``INSERT ... RETURNING`` the server address, ``fetchone``, ``commit``). Clients:

- ``awsdb``: ``plugins="failover"`` on the writer endpoint, ``failover_timeout_sec=60``;
  ``FailoverSuccessError`` / ``TransactionResolutionUnknownError`` → run the transaction
  again at once;
- ``aws-wrapper``: the published AWS Advanced Python Wrapper (``aws_advanced_python_wrapper``,
  3.1.0), a test-only peer that is never a dependency of awsdb: installed only by
  ``benchmarks/run_failover_vs_aws_wrapper.sh`` in a throw-away environment, skipped with a
  message when it is not importable. ``AwsWrapperConnection.connect(psycopg.Connection.connect,
  ..., plugins="failover_v2", wrapper_dialect="aurora-pg", failover_timeout_sec=60,
  cluster_id=<cluster name>)`` on the writer endpoint, its own ``FailoverSuccessError`` /
  ``TransactionResolutionUnknownError`` handled like awsdb's. Its other settings keep their
  defaults, which decide its speed here: ``topology_refresh_ms`` 30000 (regular refresh),
  ``cluster_topology_high_refresh_rate_ms`` 100 (the rate while a failover waits for the
  new writer; its panic-mode workers also poll every 100 ms), the topology monitor's
  connections with a 5 s connect / socket timeout, and ``cluster_instance_host_pattern``
  derived from the cluster endpoint (``?.c0ffee.us-east-1.rds.amazonaws.com``);
- ``psycopg``: a libpq multi-host conninfo with ``target_session_attrs=read-write`` and
  a reconnect loop on ``OperationalError`` (the best a plain driver can do).

The AWS wrapper resolves host names only through the system resolver (given IP addresses
it never loads the topology and cannot fail over), so it runs only with ``--hosts-file``:
the path of a hosts file bind-mounted over ``/etc/hosts`` in a private mount namespace
(``run_failover_vs_aws_wrapper.sh`` sets that up). The benchmark then writes the
Aurora-shaped names there (cluster ``cluster-c0ffee``, reader ``cluster-ro-c0ffee``,
``instance-N.c0ffee.us-east-1.rds.amazonaws.com`` on ``127.0.0.1N``, one port) and
rewrites the file in place whenever the writer endpoint follows a failover; glibc re-reads
it on every lookup. In that mode awsdb and the psycopg loop use the same names through the
same file (awsdb's own resolver overrides are not installed). Without ``--hosts-file`` the
names live in awsdb's resolver and the psycopg loop uses the loopback addresses.

Rounds go round-robin over the clients; after each failover the old writer rejoins as a
replica. Usage: ``uv run python benchmarks/failover.py [--failovers 10] [--label NAME]
[--clients awsdb,aws-wrapper,psycopg] [--hosts-file PATH] [--out PATH]``; results go to
``benchmarks/results/failover[-NAME].json`` unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

import awsdb
from awsdb_testing.pg import PgCluster, PgClusterConfig

PERIOD_S = 0.02
FAILOVER_TIMEOUT_S = 60
CLUSTER_HASH = "c0ffee"
AWSDB = "awsdb"
AWS_WRAPPER = "aws-wrapper"
PSYCOPG = "psycopg"
CLIENTS = (AWSDB, AWS_WRAPPER, PSYCOPG)
_HOSTS_MARK = "# failover benchmark names (generated)\n"
_SQL = (
    "INSERT INTO fo_bench (v) VALUES (%s) RETURNING pg_catalog.host(pg_catalog.inet_server_addr())"
)


@dataclass(frozen=True)
class _Client:
    """How one client connects and which of its errors mean "the connection carries on"."""

    name: str
    connect: Callable[[], Any]
    failover_errors: tuple[type[BaseException], ...]  # retry at once on the same object
    other_errors: tuple[type[BaseException], ...]
    keeps_connection: bool  # a wrapper keeps its logical connection after other errors


def _awsdb_client(cluster: PgCluster) -> _Client:
    def connect() -> Any:
        return awsdb.connect(
            psycopg.Connection.connect,
            f"host={cluster.names.writer_endpoint} port={cluster.nodes[0].port} "
            "user=app dbname=app connect_timeout=2",
            plugins="failover",
            failover_timeout_sec=FAILOVER_TIMEOUT_S,
        )

    return _Client(
        AWSDB,
        connect,
        (awsdb.FailoverSuccessError, awsdb.TransactionResolutionUnknownError),
        (psycopg.Error, awsdb.Error),
        keeps_connection=True,
    )


def _aws_wrapper_client(cluster: PgCluster) -> _Client:
    from aws_advanced_python_wrapper import AwsWrapperConnection
    from aws_advanced_python_wrapper.errors import (
        FailoverSuccessError,
        TransactionResolutionUnknownError,
    )
    from aws_advanced_python_wrapper.pep249 import Error

    def connect() -> Any:
        return AwsWrapperConnection.connect(
            psycopg.Connection.connect,
            f"host={cluster.names.writer_endpoint} port={cluster.nodes[0].port} "
            "user=app dbname=app connect_timeout=2",
            plugins="failover_v2",
            wrapper_dialect="aurora-pg",
            failover_timeout_sec=FAILOVER_TIMEOUT_S,
            cluster_id=cluster.names.name,
        )

    return _Client(
        AWS_WRAPPER,
        connect,
        (FailoverSuccessError, TransactionResolutionUnknownError),
        (psycopg.Error, Error),
        keeps_connection=True,
    )


def _raw_client(cluster: PgCluster, by_name: bool) -> _Client:
    nodes = cluster.nodes
    hosts = ",".join(cluster.names.instance(n.instance_id) if by_name else n.host for n in nodes)
    ports = ",".join(str(n.port) for n in nodes)

    def connect() -> Any:
        return psycopg.connect(
            f"host={hosts} port={ports} user=app dbname=app connect_timeout=2 "
            "target_session_attrs=read-write"
        )

    return _Client(PSYCOPG, connect, (), (psycopg.OperationalError,), keeps_connection=False)


def _aws_wrapper_available() -> bool:
    try:
        import aws_advanced_python_wrapper  # noqa: F401
    except ImportError:
        return False
    return True


def _release_aws_wrapper() -> None:
    """The AWS wrapper's ``release_resources`` (if loaded), given at most 30 s."""
    module = sys.modules.get("aws_advanced_python_wrapper")
    if module is None:
        return
    t = threading.Thread(target=module.release_resources, name="aws-wrapper-release", daemon=True)
    t.start()
    t.join(30.0)


class _HostsFile:
    """The cluster's names in a hosts file that is bind-mounted over ``/etc/hosts``.

    The file is rewritten in place (same inode, which the bind mount pins) whenever the
    cluster's endpoint targets change. Every address is ``127.0.0.1N`` and the lines keep
    their order, so each rewrite has the same length and a reader never sees a torn file.
    """

    def __init__(self, path: Path, cluster: PgCluster) -> None:
        self._path = path
        self._cluster = cluster
        self._lock = threading.Lock()
        self._base = path.read_text().split(_HOSTS_MARK)[0]
        if self._base and not self._base.endswith("\n"):
            self._base += "\n"

    def write(self) -> None:
        """Write the current name → address map."""
        mapping = self._cluster.host_map()
        body = "".join(f"{mapping[name]} {name}\n" for name in sorted(mapping))
        data = (self._base + _HOSTS_MARK + body).encode()
        with self._lock:
            fd = os.open(self._path, os.O_WRONLY)
            try:
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            finally:
                os.close(fd)

    @staticmethod
    def lookup(name: str) -> str | None:
        """``getent ahostsv4 name``'s first address (glibc, as every client resolves it)."""
        out = subprocess.run(
            ["getent", "ahostsv4", name], capture_output=True, text=True, check=False
        )
        return out.stdout.split()[0] if out.returncode == 0 and out.stdout else None

    def check(self) -> dict[str, tuple[str, str | None]]:
        """Names whose lookup differs from the cluster's map: name → (expected, got)."""
        wrong = {}
        for name, address in self._cluster.host_map().items():
            got = self.lookup(name)
            if got != address:
                wrong[name] = (address, got)
        return wrong


@contextlib.contextmanager
def _names(cluster: PgCluster, hosts_file: Path | None) -> Iterator[_HostsFile | None]:
    """The cluster's names: in the hosts file (kept current), or in awsdb's resolver."""
    if hosts_file is None:
        with cluster.names_installed():
            yield None
        return
    hosts = _HostsFile(hosts_file, cluster)
    hosts.write()
    cluster.add_endpoint_listener(hosts.write)
    try:
        wrong = hosts.check()
        if wrong:
            raise SystemExit(
                f"{hosts_file} is not what the system resolver answers (is it bind-mounted "
                f"over /etc/hosts in this mount namespace?): {wrong}"
            )
        yield hosts
    finally:
        cluster.remove_endpoint_listener(hosts.write)


class _Trace(logging.Handler):
    """Monotonic times at which a wrapper's monitor verified the new writer and at which its
    failover installed the new connection (awsdb's and the AWS wrapper's log records)."""

    # logger name → (level it needs, {message prefix: event})
    _LOGGERS = {
        "awsdb.topology": (logging.DEBUG, {"verified writer": "verified"}),
        "awsdb.failover": (logging.DEBUG, {"failover of": "failed_over"}),
        "aws_advanced_python_wrapper.cluster_topology_monitor": (
            logging.DEBUG,
            {"[HostMonitor] Writer detected": "verified"},
        ),
        "aws_advanced_python_wrapper.failover_v2_plugin": (
            logging.INFO,
            {"[Failover] Connected to": "failed_over"},
        ),
    }

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.verified: list[float] = []
        self.failed_over: list[float] = []
        self._levels: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        now = time.monotonic()
        prefixes = self._LOGGERS.get(record.name, (0, {}))[1]
        msg = record.getMessage()
        for prefix, event in prefixes.items():
            if msg.startswith(prefix):
                getattr(self, event).append(now)

    def __enter__(self) -> _Trace:
        for name, (level, _) in self._LOGGERS.items():
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.addHandler(self)
            logger.setLevel(level)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self._LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(self)
            logger.setLevel(self._levels.pop(name, logging.NOTSET))


def _first_after(times: list[float], t: float) -> float | None:
    return next((x for x in times if x >= t), None)


class _Workload:
    """Commits every PERIOD_S on one logical connection; records commit times."""

    def __init__(self, client: _Client) -> None:
        self._client = client
        self.commits: list[tuple[float, str]] = []  # (time, server address)
        self.failover_errors = 0
        self.errors = 0
        self.reconnects = 0
        self.last_error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(FAILOVER_TIMEOUT_S + 10)

    def _once(self, conn: Any, n: int) -> str:
        cur = conn.cursor()
        try:
            cur.execute(_SQL, (n,))
            row = cur.fetchone()
        finally:
            with contextlib.suppress(Exception):
                cur.close()
        conn.commit()
        return str(row[0])

    def _run(self) -> None:
        client = self._client
        conn: Any = client.connect()
        n = 0
        failures = 0  # consecutive errors that were not failover signals
        try:
            while not self._stop.is_set():
                n += 1
                try:
                    if conn is None:
                        conn = client.connect()
                        self.reconnects += 1
                    address = self._once(conn, n)
                    self.commits.append((time.monotonic(), address))
                    failures = 0
                except client.failover_errors:
                    self.failover_errors += 1
                    continue  # the connection is on the new writer: go again at once
                except client.other_errors as e:
                    self.errors += 1
                    failures += 1
                    self.last_error = f"{type(e).__name__}: {e}"[:300]
                    if conn is not None and (not client.keeps_connection or failures >= 3):
                        with contextlib.suppress(Exception):
                            conn.close()
                        conn = None
                    continue
                self._stop.wait(PERIOD_S)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
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


def _one_failover(cluster: PgCluster, client: _Client, hosts: _HostsFile | None) -> dict[str, Any]:
    work = _Workload(client)
    work.start()
    time.sleep(1.0)  # steady state: the topology monitors are warm
    if not work.commits:
        time.sleep(2.0)
    probe = _WritableProbe(cluster)
    trace = _Trace().__enter__()
    try:
        report = cluster.failover(kill=True)
        killed_at = report.started_at
        writable_at = killed_at + (report.writable_s or 0.0)
        new_host = cluster._node(report.new_writer).host
        deadline = time.monotonic() + FAILOVER_TIMEOUT_S + 5
        while time.monotonic() < deadline and not any(a == new_host for _, a in work.commits):
            time.sleep(0.01)
    finally:
        work.stop()
        probe.stop()
        trace.__exit__()
    endpoint = cluster.names.writer_endpoint
    endpoint_followed = hosts.lookup(endpoint) == new_host if hosts is not None else None
    promoted_at = probe.writable_at.get(new_host, _promoted_at_controller(killed_at, report))
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
        "client": client.name,
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
        "failover_errors": work.failover_errors,
        "errors": work.errors,
        "reconnects": work.reconnects,
        "last_error": work.last_error or None,
        "writer_endpoint_followed": endpoint_followed,
    }


def _promoted_at_controller(killed_at: float, report: Any) -> float:
    """The controller's own (coarser) promotion time, when the probe saw nothing."""
    return killed_at + float(report.steps.get("promoted", 0.0))


def _p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _summary(rows: list[dict[str, Any]], clients: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in clients:
        mine = [r for r in rows if r["client"] == name]
        lost = [r["after_promoted_s"] for r in mine if r["after_promoted_s"] is not None]
        gap = [r["gap_s"] for r in mine if r["gap_s"] is not None]
        shown = [r["client_lost_s"] for r in mine if r["client_lost_s"] is not None]
        summary[name] = {
            "n": len(mine),
            "after_promoted_median_s": statistics.median(lost) if lost else None,
            "after_promoted_p90_s": _p90(lost) if lost else None,
            "after_promoted_max_s": max(lost) if lost else None,
            "gap_median_s": statistics.median(gap) if gap else None,
            "after_topology_median_s": statistics.median(shown) if shown else None,
            "never_recovered": len(mine) - len(lost),
        }
    for st in summary.values():
        for ref in (PSYCOPG, AWS_WRAPPER):
            base = summary.get(ref, {}).get("after_promoted_median_s")
            mine_median = st["after_promoted_median_s"]
            st[f"median_ratio_to_{ref}"] = (
                mine_median / base if base and mine_median is not None else None
            )
    return summary


def _fmt(value: float | None, unit: str = " s", digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def _print_table(summary: dict[str, Any]) -> None:
    print(
        "\n| client | failovers | first commit on the new writer after promotion: median "
        "| p90 | max | ratio to psycopg | ratio to aws-wrapper | commit gap, median "
        "| never recovered |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, st in summary.items():
        print(
            f"| {name} | {st['n']} | {_fmt(st['after_promoted_median_s'])} | "
            f"{_fmt(st['after_promoted_p90_s'])} | {_fmt(st['after_promoted_max_s'])} | "
            f"{_fmt(st['median_ratio_to_psycopg'], '×', 2)} | "
            f"{_fmt(st['median_ratio_to_aws-wrapper'], '×', 2)} | "
            f"{_fmt(st['gap_median_s'])} | {st['never_recovered']} |"
        )


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    """Run round-robin failovers per client and print a Markdown table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--failovers", type=int, default=10, help="per client")
    parser.add_argument("--label", default="")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated")
    parser.add_argument(
        "--hosts-file",
        type=Path,
        default=None,
        help="a hosts file bind-mounted over /etc/hosts in this mount namespace",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    unknown = sorted(set(clients) - set(CLIENTS))
    if unknown:
        parser.error(f"unknown clients {unknown}; choose from {list(CLIENTS)}")
    if AWS_WRAPPER in clients and not _aws_wrapper_available():
        print(
            "skipping aws-wrapper: aws_advanced_python_wrapper is not installed "
            "(benchmarks/run_failover_vs_aws_wrapper.sh runs it in a throw-away environment)",
            flush=True,
        )
        clients.remove(AWS_WRAPPER)
    if AWS_WRAPPER in clients and args.hosts_file is None:
        print(
            "skipping aws-wrapper: it resolves names only through the system resolver and "
            "needs --hosts-file (benchmarks/run_failover_vs_aws_wrapper.sh sets one up)",
            flush=True,
        )
        clients.remove(AWS_WRAPPER)
    if not clients:
        parser.error("no client left to measure")
    config = PgClusterConfig(cluster_hash=CLUSTER_HASH if args.hosts_file else None)
    rows: list[dict[str, Any]] = []
    load_before = _load()
    t0 = time.monotonic()
    with PgCluster(config) as cluster, _names(cluster, args.hosts_file) as hosts:
        with psycopg.connect(**cluster.app_conninfo_kwargs(cluster.writer()), autocommit=True) as c:
            c.execute("CREATE TABLE IF NOT EXISTS fo_bench (id bigserial PRIMARY KEY, v int)")
        cluster.wait_converged(timeout=30)
        makers: dict[str, Callable[[], _Client]] = {
            AWSDB: lambda: _awsdb_client(cluster),
            AWS_WRAPPER: lambda: _aws_wrapper_client(cluster),
            PSYCOPG: lambda: _raw_client(cluster, by_name=hosts is not None),
        }
        for i in range(args.failovers * len(clients)):
            name = clients[i % len(clients)]
            row = _one_failover(cluster, makers[name](), hosts)
            rows.append(row)
            print(row, flush=True)
            awsdb.release_resources()
            _release_aws_wrapper()
    summary = _summary(rows, clients)
    _print_table(summary)
    meta = {
        "clients": clients,
        "failovers_per_client": args.failovers,
        "names": "hosts file" if args.hosts_file else "awsdb resolver",
        "load_avg_before": load_before,
        "load_avg_after": _load(),
        "cpus": os.cpu_count(),
        "elapsed_s": round(time.monotonic() - t0, 1),
        "python": sys.version.split()[0],
        "psycopg": psycopg.__version__,
    }
    if AWS_WRAPPER in clients:
        from importlib.metadata import version

        meta["aws_advanced_python_wrapper"] = version("aws-advanced-python-wrapper")
    out = args.out
    if out is None:
        suffix = f"-{args.label}" if args.label else ""
        out = Path(__file__).resolve().parent / "results" / f"failover{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "summary": summary, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
