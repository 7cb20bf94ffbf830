"""``awsdb demo``: kill the writer of a local cluster under a write workload, show recovery.

A 3-node PostgreSQL cluster emulating Aurora starts from the snapshot cache; each client
runner writes in a loop through the cluster's writer endpoint name; the controller kills
the writer with ``kill -9``, promotes a reader and flips the writer endpoint name after an
emulated DNS TTL. A rich timeline shows what each client saw and how long it took to write
again. With awsdb-plugin-failover installed, awsdb with the failover plugin runs beside plain
psycopg on the same endpoint; more clients are added by passing :class:`ClientRunner` objects
to :func:`run_demo`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import psycopg
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from awsdb_testing.pg import PgCluster, PgClusterConfig

__all__ = [
    "AwsdbFailoverClient",
    "ClientRunner",
    "ClientStats",
    "DemoContext",
    "PlainPsycopgClient",
    "Timeline",
    "TimelineEvent",
    "default_clients",
    "run_demo",
]


@dataclass
class TimelineEvent:
    """One line of the timeline: seconds since the demo's t0, who, what."""

    t: float
    source: str
    kind: str  # "info" | "ok" | "error" | "retry" | "recovered" | "controller"
    detail: str


class Timeline:
    """A thread-safe event log shared by the controller and the client runners."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[TimelineEvent] = []
        self.t0 = time.monotonic()

    def now(self) -> float:
        """Seconds since the demo started."""
        return time.monotonic() - self.t0

    def add(self, source: str, kind: str, detail: str) -> None:
        """Append an event stamped with the current time."""
        with self._lock:
            self._events.append(TimelineEvent(self.now(), source, kind, detail))

    def add_at(self, t: float, source: str, kind: str, detail: str) -> None:
        """Insert an event with an explicit timeline time (keeps the log ordered)."""
        with self._lock:
            self._events.append(TimelineEvent(t, source, kind, detail))
            self._events.sort(key=lambda ev: ev.t)

    def events(self) -> list[TimelineEvent]:
        """A copy of all events so far, in time order."""
        with self._lock:
            return list(self._events)


@dataclass
class ClientStats:
    """What one client runner observed."""

    ok: int = 0
    errors: int = 0
    attempts_after_kill: int = 0
    first_error_after_kill: float | None = None
    first_write_after_kill: float | None = None
    state: str = "starting"

    def wrote(self, ctx: DemoContext, name: str, was_failing: bool) -> None:
        """Count a successful write; note the first one after the failure."""
        self.ok += 1
        self.state = "writing"
        if self.first_error_after_kill is not None and self.first_write_after_kill is None:
            self.first_write_after_kill = ctx.timeline.now()
            if was_failing:
                ctx.timeline.add(name, "recovered", "first successful write")

    def failed(self, ctx: DemoContext) -> None:
        """Count a failed write; note the first one after the kill."""
        self.errors += 1
        if ctx.kill_at is not None and self.first_error_after_kill is None:
            self.first_error_after_kill = ctx.timeline.now()


@dataclass
class DemoContext:
    """What a client runner needs: the cluster, its names, the timeline, the kill time."""

    cluster: PgCluster
    timeline: Timeline
    stop: threading.Event = field(default_factory=threading.Event)
    kill_at: float | None = None  # timeline time of the kill, once it happened


class ClientRunner(Protocol):
    """A workload client shown as one column of the demo."""

    name: str
    stats: ClientStats

    def run(self, ctx: DemoContext) -> None:
        """Write in a loop until ``ctx.stop`` is set, recording events and stats."""


class PlainPsycopgClient:
    """Plain psycopg, as an application that connects to the cluster endpoint by DNS.

    psycopg resolves names through the system resolver, which knows nothing of the
    emulated Aurora names; this client therefore looks the writer endpoint up in the
    emulated DNS (the process resolver, flipped by the controller after the DNS TTL) and
    connects to the address it gets, as a DNS-based client would.
    """

    def __init__(self, name: str = "plain psycopg") -> None:
        self.name = name
        self.stats = ClientStats()

    def run(self, ctx: DemoContext) -> None:
        """Insert rows until stopped; reconnect through the endpoint name on errors."""
        from awsdb.resolver import get_resolver

        endpoint = ctx.cluster.names.writer_endpoint
        port = ctx.cluster.nodes[0].port
        conn: psycopg.Connection | None = None
        failing = False
        while not ctx.stop.is_set():
            try:
                if conn is None:
                    address = get_resolver().resolve(endpoint)
                    if ctx.kill_at is not None:
                        self.stats.attempts_after_kill += 1
                    self.stats.state = f"connecting to {address}"
                    conn = psycopg.connect(
                        host=address,
                        port=port,
                        user="app",
                        dbname="app",
                        connect_timeout=2,
                        autocommit=True,
                    )
                conn.execute("INSERT INTO t (v) VALUES ('demo')")
                self.stats.wrote(ctx, self.name, failing)
                failing = False
            except psycopg.Error as exc:
                self.stats.failed(ctx)
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                kind = "error" if not failing else "retry"
                if not failing or self.stats.errors % 5 == 0:
                    ctx.timeline.add(self.name, kind, f"{type(exc).__name__}: {message}"[:110])
                failing = True
                self.stats.state = "reconnecting"
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.1)
                continue
            time.sleep(0.02)
        if conn is not None:
            conn.close()
        self.stats.state = "stopped"


class AwsdbFailoverClient:
    """awsdb with the failover plugin, connected to the same writer endpoint name.

    One logical connection for the whole demo: when the writer dies the plugin finds the
    new writer from the cluster topology (no DNS wait), reconnects, and raises
    ``FailoverSuccessError``; the client writes again at once on the same connection.
    """

    def __init__(self, name: str = "awsdb failover") -> None:
        self.name = name
        self.stats = ClientStats()

    def run(self, ctx: DemoContext) -> None:
        """Insert rows until stopped; on a failover error write again on the same object."""
        import awsdb

        endpoint = ctx.cluster.names.writer_endpoint
        port = ctx.cluster.nodes[0].port
        conn = awsdb.connect(
            psycopg.Connection.connect,
            f"host={endpoint} port={port} user=app dbname=app connect_timeout=2",
            plugins="failover",
            autocommit=True,
            failover_timeout_sec=30,
        )
        failing = False
        try:
            while not ctx.stop.is_set():
                try:
                    conn.execute("INSERT INTO t (v) VALUES ('demo')")
                except awsdb.FailoverError as exc:
                    self.stats.failed(ctx)
                    kind = "error" if isinstance(exc, awsdb.FailoverFailedError) else "retry"
                    ctx.timeline.add(self.name, kind, f"{type(exc).__name__}: {exc}"[:110])
                    failing = True
                    self.stats.state = "failed over" if kind == "retry" else "failing"
                    continue
                self.stats.wrote(ctx, self.name, failing)
                failing = False
                time.sleep(0.02)
        finally:
            conn.close()
            self.stats.state = "stopped"


def default_clients() -> list[ClientRunner]:
    """Plain psycopg, plus awsdb with failover when awsdb-plugin-failover is installed."""
    from awsdb._service import get_services

    clients: list[ClientRunner] = [PlainPsycopgClient()]
    if "failover" in get_services().plugins.installed_codes():
        clients.append(AwsdbFailoverClient())
    return clients


def _render(ctx: DemoContext, clients: Sequence[ClientRunner], banner: str) -> Group:
    table = Table(title="timeline (seconds since start)", expand=True)
    table.add_column("t", justify="right", width=7)
    table.add_column("who", width=18)
    table.add_column("event")
    styles = {"error": "red", "retry": "yellow", "recovered": "green", "controller": "cyan"}
    for ev in ctx.timeline.events()[-18:]:
        table.add_row(f"{ev.t:6.2f}", ev.source, Text(ev.detail, style=styles.get(ev.kind, "")))
    status = Table.grid(padding=(0, 2))
    for c in clients:
        status.add_row(
            Text(c.name, style="bold"),
            f"writes ok {c.stats.ok}",
            f"errors {c.stats.errors}",
            c.stats.state,
        )
    return Group(Panel(banner, title="awsdb demo"), status, table)


def _summary(ctx: DemoContext, clients: Sequence[ClientRunner]) -> Table:
    table = Table(title="recovery after kill -9 of the writer")
    for col in ("client", "first error", "reconnect attempts", "first write", "downtime"):
        table.add_column(col)
    kill_at = ctx.kill_at or 0.0
    for c in clients:
        s = c.stats

        def rel(v: float | None) -> str:
            return "-" if v is None else f"+{v - kill_at:.2f} s"

        if s.first_error_after_kill is None:
            down = "no error seen"
        elif s.first_write_after_kill is None:
            down = "not recovered"
        else:
            down = f"{s.first_write_after_kill - kill_at:.2f} s"
        table.add_row(
            c.name,
            rel(s.first_error_after_kill),
            str(s.attempts_after_kill),
            rel(s.first_write_after_kill),
            down,
        )
    return table


def run_demo(
    *,
    live: bool = True,
    before_s: float = 2.0,
    dns_ttl_s: float = 2.0,
    timeout_s: float = 20.0,
    clients: Sequence[ClientRunner] | None = None,
    console: Console | None = None,
) -> int:
    """Run the demo; returns 0 when every client wrote again after the failover."""
    console = console or Console()
    runners: list[ClientRunner] = list(clients) if clients else default_clients()
    banner = (
        "Real PostgreSQL servers on 127.0.0.11-13 emulate an Aurora cluster (streaming "
        "replication, Aurora topology functions). Emulated: the host names (an in-process "
        f"resolver instead of DNS, writer endpoint flipped {dns_ttl_s:g} s after the "
        "failover, like a DNS TTL) and the failover controller (kill -9, pg_promote)."
    )
    console.print("[bold]starting a local 3-node cluster...[/bold]")
    cluster = PgCluster(PgClusterConfig(stale_dns_s=dns_ttl_s))
    timeline = Timeline()
    ctx = DemoContext(cluster, timeline)
    threads: list[threading.Thread] = []
    printed = 0

    def flush_plain() -> None:
        nonlocal printed
        events = timeline.events()
        for ev in events[printed:]:
            console.print(f"{ev.t:7.2f}  {ev.source:<18} {ev.detail}", highlight=False)
        printed = len(events)

    try:
        cluster.start()
        cluster.install_names()
        timeline.t0 = time.monotonic()
        start_s = cluster.timings.get("start", 0.0)
        timeline.add("controller", "controller", f"cluster up in {start_s:.2f} s")
        for r in runners:
            th = threading.Thread(target=r.run, args=(ctx,), name=f"demo-{r.name}", daemon=True)
            threads.append(th)
            th.start()
        live_view = Live(
            _render(ctx, runners, banner), console=console, refresh_per_second=10, transient=False
        )
        if live:
            live_view.start()
        else:
            console.print(banner)

        def tick(until: float, stop_when_recovered: bool = False) -> None:
            endpoint = cluster.names.writer_endpoint
            last_ip = cluster.host_map()[endpoint]
            while timeline.now() < until:
                ip = cluster.host_map()[endpoint]
                if ip != last_ip:
                    timeline.add("controller", "controller", f"DNS: writer endpoint -> {ip}")
                    last_ip = ip
                if live:
                    live_view.update(_render(ctx, runners, banner))
                else:
                    flush_plain()
                if stop_when_recovered and all(_recovered(r) for r in runners):
                    return
                time.sleep(0.05)

        tick(timeline.now() + before_s)
        old = cluster.writer()
        ctx.kill_at = timeline.now()
        timeline.add("controller", "controller", f"kill -9 writer {old.instance_id} ({old.host})")
        report = cluster.failover()
        labels = {
            "promoted": f"promoted {report.new_writer}",
            "writable": f"{report.new_writer} accepted its first write",
            "converged": "all nodes report the new writer",
        }
        for step, label in labels.items():
            if step in report.steps:
                timeline.add_at(ctx.kill_at + report.steps[step], "controller", "controller", label)
        tick(ctx.kill_at + timeout_s, stop_when_recovered=True)
        tick(timeline.now() + 1.0)
        ctx.stop.set()
        for th in threads:
            th.join(5)
        if live:
            live_view.update(_render(ctx, runners, banner))
            live_view.stop()
        else:
            flush_plain()
    finally:
        ctx.stop.set()
        cluster.close()
    console.print(_summary(ctx, runners))
    console.print(
        "Plain psycopg waits for the DNS flip: recovery = promotion + DNS TTL + reconnect."
    )
    return 0 if all(_recovered(r) for r in runners) else 1


def _recovered(runner: ClientRunner) -> bool:
    s = runner.stats
    return s.first_error_after_kill is None or s.first_write_after_kill is not None
