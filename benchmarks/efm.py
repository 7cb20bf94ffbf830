"""Enhanced failure monitoring: detection time and per-statement overhead.

Needs root (network namespaces): each server (a one-node PostgreSQL 15 and a one-node
MariaDB, from awsdb-testing) runs in its own namespace and the fault is an nftables rule that
silently drops the client's packets, so the kernel behaves as in a real partition (TCP
keepalives do fire, unlike behind a userspace proxy).

Detection: a long query (``pg_sleep(90)`` / ``SELECT SLEEP(90)``) runs; the drop starts at a
fixed offset into it inside the grace period (1 s for 6000/1000/1, 5 s for 30000/5000/3),
or after it (grace + 1 s + k/n of the interval for repetition k of n, so that the fault
meets every phase of the probe cycle); the figure is the time from the drop to the
query's exception.
Variants: awsdb with ``plugins="efm"`` and the configuration's settings; on PostgreSQL, when
it is importable, the published AWS Advanced Python Wrapper with
``plugins="host_monitoring_v2"`` and the same settings (a test-only peer installed by
``benchmarks/run_efm_vs_aws_wrapper.sh`` in a throw-away environment, never a dependency of
awsdb); and the plain driver with aggressive TCP keepalives (idle 1 s, interval 1 s, 3
probes; mysql-connector has no keepalive option, so they are set on its socket). A call
still blocked 45 s after the drop counts as "not detected" (then aborted). Every repetition
starts from fresh state (awsdb's ``release_resources``, and the AWS wrapper's own), so the
monitor opens its probe connection at the end of the grace period.

Overhead: ``SELECT 1`` + ``fetchall()`` per statement, raw driver vs awsdb ``plugins=""``
vs ``plugins="efm"`` (default settings: calls shorter than 30 s are never probed), rounds
interleaved in random order, median over rounds; and the noise-free part, awsdb's own cost
per statement over a driver cursor that does no I/O (the fake driver of awsdb-testing).

Usage: ``uv run python benchmarks/efm.py [--reps N] [--slow-reps N] [--rounds N]
[--only pg|mysql] [--variants NAME,...]``;
results go to ``benchmarks/results/efm.json`` (``--out`` to change; ``--skip-detection``
for the overhead figures alone).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import random
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mysql.connector
import psycopg
from _paired import NullCursor

import awsdb
from awsdb_testing.mysql.cluster import MariaDBCluster
from awsdb_testing.netns import NetnsNetwork, netns_available
from awsdb_testing.pg import PgCluster, PgClusterConfig

RESULTS = Path(__file__).resolve().parent / "results" / "efm.json"
AWS_WRAPPER = "aws wrapper host_monitoring_v2"
CONFIGS = {"6000/1000/1": (6000, 1000, 1, 1.0), "30000/5000/3": (30000, 5000, 3, 5.0)}
GIVE_UP_S = 45.0
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 1, "keepalives_interval": 1, "keepalives_count": 3}


class Server:
    """One server in a namespace: how to connect, the long query, the fault."""

    def __init__(
        self,
        kind: str,
        net: NetnsNetwork,
        host: str,
        port: int,
        kwargs: dict[str, Any],
    ) -> None:
        self.kind = kind
        self.net = net
        self.host = host
        self.port = port
        self.kwargs = kwargs
        self.target: Callable[..., Any] = (
            psycopg.Connection.connect if kind == "pg" else mysql.connector.connect
        )
        self.long_sql = "SELECT pg_sleep(90)" if kind == "pg" else "SELECT SLEEP(90)"

    def fault(self) -> None:
        """Drop the client's packets to the server (kernel level)."""
        self.net.drop(1, port=self.port)

    def heal(self) -> None:
        """Remove the drop rule."""
        self.net.heal(1)

    def raw(self, keepalive: bool = False) -> Any:
        """A plain driver connection (with aggressive keepalives if asked)."""
        if self.kind == "pg":
            kwargs: dict[str, Any] = {"host": self.host, "port": self.port, **self.kwargs}
            if keepalive:
                kwargs.update(KEEPALIVE)
            return psycopg.connect(**kwargs)
        conn: Any = mysql.connector.connect(host=self.host, port=self.port, **self.kwargs)
        if keepalive:
            sock: socket.socket = conn._socket.sock
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
        return conn

    def wrapped(self, plugins: str, **props: Any) -> Any:
        """An awsdb connection."""
        return awsdb.connect(
            self.target, host=self.host, port=self.port, plugins=plugins, **self.kwargs, **props
        )

    def aws_wrapper(self, **props: Any) -> Any:
        """The published AWS wrapper with ``host_monitoring_v2`` (PostgreSQL only)."""
        from aws_advanced_python_wrapper import AwsWrapperConnection

        dsn = " ".join(f"{k}={v}" for k, v in {"host": self.host, "port": self.port}.items())
        dsn += " " + " ".join(f"{k}={v}" for k, v in self.kwargs.items())
        return AwsWrapperConnection.connect(
            psycopg.Connection.connect, dsn, plugins="host_monitoring_v2", **props
        )

    def abort(self, conn: Any) -> None:
        """Shut the socket of a raw or wrapped connection down (the give-up path)."""
        raw = getattr(conn, "target_connection", conn)
        with contextlib.suppress(Exception):
            if self.kind == "pg":
                sock = socket.socket(fileno=raw.fileno())
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                finally:
                    sock.detach()
            else:
                raw._socket.sock.shutdown(socket.SHUT_RDWR)


def _query(conn: Any, sql: str) -> Any:
    cur = conn.cursor()
    try:
        cur.execute(sql)
        return cur.fetchall()
    finally:
        cur.close()


def detect_once(server: Server, conn: Any, offset_s: float) -> float | None:
    """Seconds from the fault (``offset_s`` into the long query) to its exception."""
    fault_at: list[float] = []
    done = threading.Event()

    def fault() -> None:
        server.fault()
        fault_at.append(time.monotonic())
        if not done.wait(GIVE_UP_S):
            server.abort(conn)

    timer = threading.Timer(offset_s, fault)
    detected: float | None = None
    try:
        _query(conn, "SELECT 1")
        timer.start()
        _query(conn, server.long_sql)
    except Exception:
        now = time.monotonic()
        if fault_at and now - fault_at[0] < GIVE_UP_S:
            detected = now - fault_at[0]
    finally:
        done.set()
        timer.join()
        server.heal()
        with contextlib.suppress(Exception):
            conn.close()
        awsdb.release_resources()
        _release_aws_wrapper()
    return detected


def _aws_wrapper_available() -> bool:
    try:
        import aws_advanced_python_wrapper  # noqa: F401
    except ImportError:
        return False
    return True


def _release_aws_wrapper() -> None:
    """The AWS wrapper's ``release_resources`` (if loaded), given at most 10 s: its monitor
    thread may still be blocked connecting into the dropped host."""
    import sys

    module = sys.modules.get("aws_advanced_python_wrapper")
    if module is None:
        return
    t = threading.Thread(target=module.release_resources, name="aws-wrapper-release", daemon=True)
    t.start()
    t.join(10.0)


def bench_detection(
    server: Server, reps: int, slow_reps: int, only: set[str] | None = None
) -> list[dict[str, Any]]:
    """Every configuration, both offsets: awsdb EFM, the AWS wrapper's EFM (PostgreSQL,
    when installed) and the keepalive baseline (``only``: these variants alone)."""
    rows: list[dict[str, Any]] = []
    for name, (grace, interval, count, inside) in CONFIGS.items():
        n = reps if grace <= 6000 else slow_reps
        # after the grace period the fault lands at evenly spread phases of the probe cycle
        after = [grace / 1000 + 1 + interval / 1000 * k / n for k in range(n)]
        for phase, offsets in (("inside grace", [inside] * n), ("after grace", after)):
            efm_props = {
                "failure_detection_time_ms": grace,
                "failure_detection_interval_ms": interval,
                "failure_detection_count": count,
            }
            variants: dict[str, Callable[[], Any]] = {
                "awsdb efm": functools.partial(server.wrapped, "efm", **efm_props),
            }
            if server.kind == "pg" and _aws_wrapper_available():
                variants[AWS_WRAPPER] = functools.partial(server.aws_wrapper, **efm_props)
            variants["driver + keepalives"] = functools.partial(server.raw, keepalive=True)
            for variant, make in variants.items():
                if only is not None and variant not in only:
                    continue
                if variant == "driver + keepalives" and name != "6000/1000/1":
                    continue  # keepalives do not depend on the EFM settings
                times = [detect_once(server, make(), offset) for offset in offsets]
                got = [t for t in times if t is not None]
                row = {
                    "driver": server.kind,
                    "config": name,
                    "phase": phase,
                    "offsets_s": offsets,
                    "variant": variant,
                    "reps": n,
                    "detected": len(got),
                    "median_s": statistics.median(got) if got else None,
                    "min_s": min(got) if got else None,
                    "max_s": max(got) if got else None,
                    "times_s": times,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def bench_overhead(server: Server, rounds: int, per_round: int) -> dict[str, Any]:
    """``SELECT 1`` per statement: raw vs awsdb without plugins vs awsdb with efm."""
    conns = {
        "raw": server.raw(),
        'awsdb plugins=""': server.wrapped(""),
        'awsdb plugins="efm"': server.wrapped("efm"),
    }
    cursors = {k: c.cursor() for k, c in conns.items()}

    def run(cur: Any) -> float:
        t0 = time.perf_counter()
        for _ in range(per_round):
            cur.execute("SELECT 1")
            cur.fetchall()
        return (time.perf_counter() - t0) / per_round

    for cur in cursors.values():
        run(cur)
    samples: dict[str, list[float]] = {k: [] for k in cursors}
    for _ in range(rounds):
        order = list(cursors)
        random.shuffle(order)
        for k in order:
            samples[k].append(run(cursors[k]))
    for cur in cursors.values():
        cur.close()
    for conn in conns.values():
        conn.close()
    awsdb.release_resources()
    med = {k: statistics.median(v) for k, v in samples.items()}
    out = {
        "driver": server.kind,
        "per_statement_us": {k: v * 1e6 for k, v in med.items()},
        "ratio_to_raw": {k: v / med["raw"] for k, v in med.items()},
        "efm_vs_no_plugins": med['awsdb plugins="efm"'] / med['awsdb plugins=""'],
    }
    print(json.dumps(out), flush=True)
    return out


def bench_own_cost(rounds: int, n: int = 20000) -> dict[str, float]:
    """Nanoseconds awsdb adds per ``execute`` + ``fetchall`` over a no-I/O cursor, without
    plugins and with ``efm`` (two monitored calls per statement, never probed)."""
    from awsdb._cursor import AwsWrapperCursor
    from awsdb_testing import fake_driver

    dsn = "host=h1 port=5432 user=app"
    conns = {k: awsdb.connect(fake_driver.connect, dsn, plugins=k) for k in ("", "efm")}
    null = NullCursor()
    curs: dict[str, Any] = {"raw": null}
    curs.update({f'plugins="{k}"': AwsWrapperCursor(c, null) for k, c in conns.items()})

    def run(cur: Any) -> float:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            cur.execute("SELECT 1")
            cur.fetchall()
        return (time.perf_counter_ns() - t0) / n

    samples: dict[str, list[float]] = {k: [] for k in curs}
    for _ in range(rounds):
        order = list(curs)
        random.shuffle(order)
        for k in order:
            samples[k].append(run(curs[k]))
    for conn in conns.values():
        conn.close()
    awsdb.release_resources()
    med = {k: statistics.median(v) for k, v in samples.items()}
    out = {k: v - med["raw"] for k, v in med.items() if k != "raw"}
    print(json.dumps({"own_cost_ns": out}), flush=True)
    return out


@contextlib.contextmanager
def servers() -> Iterator[list[Server]]:
    """A PostgreSQL and a MariaDB node, each in its own namespace."""
    with contextlib.ExitStack() as stack:
        pg_net = stack.enter_context(NetnsNetwork(1))
        pg = stack.enter_context(PgCluster(PgClusterConfig(nodes=1, network=pg_net)))
        node = pg.node(1)
        mdb_net = stack.enter_context(NetnsNetwork(1))
        mdb = MariaDBCluster(1, network=mdb_net).start()
        stack.callback(mdb.close)
        host, port = mdb.server_address(1)
        yield [
            Server("pg", pg_net, node.host, node.port, {"user": "app", "dbname": "app"}),
            Server(
                "mysql",
                mdb_net,
                host,
                port,
                {"user": "app", "password": "app", "database": "appdb", "use_pure": True},
            ),
        ]


def main() -> None:
    """Run everything and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--slow-reps", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--per-round", type=int, default=500)
    parser.add_argument("--only", choices=["pg", "mysql"], default=None)
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument(
        "--variants",
        default=None,
        help=f'comma-separated subset of "awsdb efm", "{AWS_WRAPPER}", "driver + keepalives"',
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    ok, reason = netns_available()
    if not ok:
        raise SystemExit(f"benchmarks/efm.py needs network namespaces: {reason}")
    results: dict[str, Any] = {"detection": [], "overhead": []}
    only = {v.strip() for v in args.variants.split(",")} if args.variants else None
    if not args.skip_overhead:
        results["own_cost_ns"] = bench_own_cost(args.rounds)
    with servers() as both:
        for server in both:
            if args.only and server.kind != args.only:
                continue
            if not args.skip_overhead:
                results["overhead"].append(bench_overhead(server, args.rounds, args.per_round))
            if not args.skip_detection:
                results["detection"] += bench_detection(server, args.reps, args.slow_reps, only)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
