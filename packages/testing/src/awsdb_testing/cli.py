"""``awsdb cluster up|down|status|failover|fault`` and ``awsdb demo``.

``awsdb cluster up`` starts a detached keeper process that owns the cluster (and, for
MariaDB, its in-process rewriting proxies) and serves the other sub-commands over a unix
socket. Its state lives in ``$AWSDB_STATE_DIR``, else ``$XDG_RUNTIME_DIR/awsdb``, else
``/tmp/awsdb-cluster-<user>``: ``<engine>.json`` (PIDs, addresses, names),
``<engine>.sock`` (control socket) and ``<engine>.log`` (keeper log).

``awsdb cluster down`` returns only once every server process of the cluster (each
postmaster or ``mariadbd`` and all their children) has left the process table. The keeper
is the reaper of the processes it started (``PR_SET_CHILD_SUBREAPER``), so the children of
a killed server are reaped by it rather than left to PID 1. If the keeper does not answer,
the command stops the keeper and then the recorded servers itself (SIGTERM, then SIGKILL
after a bounded wait), and it exits with status 1, naming each process that survived.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from awsdb_testing._procs import (
    become_subreaper,
    descendants_of,
    pid_alive,
    pid_present,
    remove_tree,
    stop_pids,
    wait_pid_gone,
)

__all__ = ["main", "register_cluster", "register_demo", "state_dir"]

_PROXY_ACTIONS = ("blackhole", "heal", "refuse", "reset_all", "latency")
_NODE_ACTIONS = ("pause", "resume", "kill", "stop", "start_node", "rejoin", "reclone")
_DOWN_GRACE_S = 30.0  # per escalation step (SIGTERM, then SIGKILL) of a shutdown
_DOWN_REPLY_S = 120.0  # how long `down` waits for the keeper's report


def state_dir() -> Path:
    """Where ``awsdb cluster`` keeps its state files (see the module docstring)."""
    env = os.environ.get("AWSDB_STATE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        return Path(xdg) / "awsdb"
    return Path("/tmp") / f"awsdb-cluster-{getpass.getuser()}"


def _paths(engine: str) -> tuple[Path, Path, Path]:
    base = state_dir()
    return base / f"{engine}.json", base / f"{engine}.sock", base / f"{engine}.log"


# ====================================================================== registration


def register_cluster(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``awsdb cluster ...`` to the ``awsdb`` command."""
    parser = subparsers.add_parser(
        "cluster", help="run a local emulated Aurora cluster (PostgreSQL or MariaDB)"
    )
    sub = parser.add_subparsers(dest="cluster_command", required=True)

    def engine_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--engine", choices=("pg", "mysql"), default="pg")

    up = sub.add_parser("up", help="start a cluster that keeps running after the command")
    engine_arg(up)
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--durable", action="store_true", help="synchronous replication (pg)")
    up.add_argument("--flavor", default="aurora-pg", help="aurora-pg | rds-pg | multi-az-pg")
    up.add_argument("--stale-dns", type=float, default=0.0, metavar="S")
    up.add_argument("--no-cache", action="store_true", help="build fresh, skip the snapshot")
    up.add_argument(
        "--proxies",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fault proxies in front of the pg nodes and endpoints (MariaDB always has them)",
    )
    up.add_argument("--timeout", type=float, default=120.0)
    up.set_defaults(func=_cmd_up)

    down = sub.add_parser("down", help="stop the cluster and delete its files")
    engine_arg(down)
    down.add_argument("--purge-cache", action="store_true", help="also drop the snapshot cache")
    down.set_defaults(func=_cmd_down)

    status = sub.add_parser("status", help="roles, addresses and names as the servers report")
    engine_arg(status)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_cmd_status)

    fo = sub.add_parser("failover", help="crash (or stop) the writer and promote a reader")
    engine_arg(fo)
    fo.add_argument("--target", help="instance id to promote (default: most advanced)")
    fo.add_argument("--stop", action="store_true", help="clean stop instead of kill -9")
    fo.add_argument("--no-writer-window", type=float, default=0.0, metavar="S")
    fo.add_argument("--json", action="store_true")
    fo.set_defaults(func=_cmd_failover)

    fault = sub.add_parser("fault", help="inject a fault on one node")
    engine_arg(fault)
    fault.add_argument("action", choices=(*_NODE_ACTIONS, *_PROXY_ACTIONS))
    fault.add_argument("node", help="instance id, instance host name or 1-based index")
    fault.add_argument("--seconds", type=float, default=0.0, help="latency value")
    fault.set_defaults(func=_cmd_fault)

    serve = sub.add_parser("_serve", help=argparse.SUPPRESS)
    engine_arg(serve)
    serve.add_argument("--options", default="{}")
    serve.set_defaults(func=_cmd_serve)


def register_demo(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``awsdb demo`` to the ``awsdb`` command."""
    parser = subparsers.add_parser(
        "demo", help="kill the writer of a local cluster under a write workload, show recovery"
    )
    parser.add_argument("--no-live", action="store_true", help="plain output (CI, no TTY)")
    parser.add_argument("--before", type=float, default=2.0, help="seconds of load before kill")
    parser.add_argument("--dns-ttl", type=float, default=2.0, help="emulated DNS flip delay")
    parser.add_argument("--timeout", type=float, default=20.0, help="max wait for recovery")
    parser.set_defaults(func=_cmd_demo)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m awsdb_testing.cli``) with just these commands."""
    parser = argparse.ArgumentParser(prog="awsdb")
    sub = parser.add_subparsers(dest="command", required=True)
    register_cluster(sub)
    register_demo(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


# ====================================================================== demo


def _cmd_demo(args: argparse.Namespace) -> int:
    from awsdb_testing.demo import run_demo

    return run_demo(
        live=not args.no_live and sys.stdout.isatty(),
        before_s=args.before,
        dns_ttl_s=args.dns_ttl,
        timeout_s=args.timeout,
    )


# ====================================================================== keeper process


def _open_cluster(engine: str, options: dict[str, Any]) -> Any:
    if engine == "pg":
        from awsdb_testing.pg import PgCluster, PgClusterConfig

        return PgCluster(
            PgClusterConfig(
                nodes=options.get("nodes", 3),
                durable=options.get("durable", False),
                flavor=options.get("flavor", "aurora-pg"),
                stale_dns_s=options.get("stale_dns", 0.0),
                use_cache=not options.get("no_cache", False),
            )
        )
    from awsdb_testing.mysql import MariaDBCluster

    return MariaDBCluster(
        nodes=options.get("nodes", 3),
        stale_dns_s=options.get("stale_dns", 0.0),
    )


class _Keeper:
    """What the keeper process owns: the cluster and, for PostgreSQL, its fault proxies."""

    def __init__(self, engine: str, cluster: Any, with_proxies: bool) -> None:
        self.engine = engine
        self.cluster = cluster
        self.with_proxies = with_proxies
        self.pg_proxies: Any = None
        self.lock = threading.Lock()
        self.down_event = threading.Event()
        self.closed_event = threading.Event()
        self.replied_event = threading.Event()
        self.down_requested = False
        self.down_report: dict[str, Any] = {}

    def start(self) -> None:
        self.cluster.start()
        if self.engine == "pg" and self.with_proxies:
            from awsdb_testing.pg.proxies import PgProxies

            self.pg_proxies = PgProxies(self.cluster).start()

    def close(self) -> None:
        if self.pg_proxies is not None:
            self.pg_proxies.stop()
            self.pg_proxies = None
        self.cluster.close()

    def shut_down(self) -> dict[str, Any]:
        """Close the cluster and wait until every process the keeper started is gone.

        The processes are collected before the cluster closes (a killed server's children
        are re-parented to the keeper, which reaps them); whatever still runs after the
        close gets SIGTERM, then SIGKILL. Returns how many there were and the survivors.
        """
        me = os.getpid()
        started = set(descendants_of(me))
        try:
            self.close()
        finally:
            started.update(descendants_of(me))  # anything forked while closing
            survivors = stop_pids(started, grace=_DOWN_GRACE_S, kill_timeout=_DOWN_GRACE_S)
            self.down_report = {
                "ok": not survivors,
                "processes": len(started),
                "survivors": [_describe_pid(pid) for pid in survivors],
            }
        return self.down_report

    def proxy(self, node: str | int) -> Any:
        """The fault proxy in front of ``node`` (``ValueError`` when there is none)."""
        if self.engine == "mysql":
            return self.cluster.proxy(node)
        if self.pg_proxies is None:
            raise ValueError(
                "this pg cluster runs without fault proxies (started with --no-proxies); "
                "use pause/resume or kill"
            )
        return self.pg_proxies.proxy(node)

    def proxy_addresses(self) -> dict[str, str]:
        """``instance id`` (or ``writer-endpoint`` / ``reader-endpoint``) → proxy address."""
        if self.engine == "mysql":
            pairs = [(n.instance_id, self.cluster.proxy(n.instance_id)) for n in self.cluster.nodes]
        elif self.pg_proxies is not None:
            pairs = [(n.instance_id, self.pg_proxies.proxy(n)) for n in self.cluster.nodes]
            pairs += [
                ("writer-endpoint", self.pg_proxies.writer_proxy),
                ("reader-endpoint", self.pg_proxies.reader_proxy),
            ]
        else:
            return {}
        return {key: f"{p.host}:{p.port}" for key, p in pairs}

    def host_map(self) -> dict[str, str]:
        """The names clients should use (through the proxies when there are any)."""
        if self.pg_proxies is not None:
            return dict(self.pg_proxies.host_map())
        return dict(self.cluster.host_map())

    def describe(self) -> dict[str, Any]:
        """Roles (asked from the servers), addresses, PIDs, names and DSNs."""
        cluster = self.cluster
        try:
            writer: str | None = cluster.writer().instance_id
        except LookupError:
            writer = None
        return {
            "engine": self.engine,
            "writer": writer,
            "readers": [n.instance_id for n in cluster.readers()],
            "nodes": [asdict(n) for n in cluster.nodes],
            "pids": dict(cluster.pids()),
            "base_dir": str(cluster.base_dir),
            "proxies": self.proxy_addresses(),
            "host_map": self.host_map(),
            "app_dsn": {n.instance_id: cluster.app_dsn(n.instance_id) for n in cluster.nodes},
        }

    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        """Serve one control request (``status``, ``failover`` or ``fault``)."""
        cmd = request.get("cmd")
        if cmd == "status":
            return self.describe()
        if cmd == "failover":
            report = self.cluster.failover(
                target=request.get("target"),
                kill=request.get("kill", True),
                no_writer_window_s=request.get("window", 0.0),
            )
            return {
                "old_writer": report.old_writer,
                "new_writer": report.new_writer,
                "method": report.method,
                "steps": report.steps,
                "repaired": report.repaired,
            }
        if cmd == "fault":
            action, node = request["action"], request["node"]
            if action in _PROXY_ACTIONS:
                proxy = self.proxy(node)
                if action == "latency":
                    proxy.latency(request.get("seconds", 0.0))
                    return {"ok": True}
                result = getattr(proxy, action)()
            else:
                result = getattr(self.cluster, action)(node)
            return {"ok": True, "result": result}
        raise ValueError(f"unknown command {cmd!r}")


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        keeper: _Keeper = getattr(self.server, "keeper")  # noqa: B009 - set by _cmd_serve
        line = self.rfile.readline()
        try:
            request = json.loads(line)
            if request.get("cmd") == "down":
                keeper.down_requested = True
                keeper.down_event.set()
                if keeper.closed_event.wait(_DOWN_REPLY_S):
                    reply = keeper.down_report
                else:
                    reply = {"error": f"the cluster did not stop in {_DOWN_REPLY_S:.0f} s"}
                self.wfile.write((json.dumps(reply, default=str) + "\n").encode())
                keeper.replied_event.set()
                return
            with keeper.lock:
                reply = keeper.dispatch(request)
        except Exception as exc:  # reported to the CLI, the keeper stays up
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        self.wfile.write((json.dumps(reply, default=str) + "\n").encode())


class _KeeperServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def _cmd_serve(args: argparse.Namespace) -> int:
    state_file, sock_path, _ = _paths(args.engine)
    options = json.loads(args.options)
    become_subreaper()  # the children of killed servers come back to the keeper to be reaped
    keeper = _Keeper(args.engine, _open_cluster(args.engine, options), options.get("proxies", True))
    signal.signal(signal.SIGTERM, lambda *_: keeper.down_event.set())
    with contextlib.suppress(FileNotFoundError):
        sock_path.unlink()
    server = _KeeperServer(str(sock_path), _Handler)
    server.keeper = keeper  # type: ignore[attr-defined]
    try:
        keeper.start()
        info = keeper.describe()
        info["keeper_pid"] = os.getpid()
        info["socket"] = str(sock_path)
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2, default=str))
        tmp.rename(state_file)
        thread = threading.Thread(target=server.serve_forever, name="awsdb-keeper", daemon=True)
        thread.start()
        while not keeper.down_event.wait(0.5):
            pass
        server.shutdown()
    finally:
        server.server_close()
        try:
            report = keeper.shut_down()
        finally:
            for path in (state_file, sock_path):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            keeper.closed_event.set()
        if keeper.down_requested:
            keeper.replied_event.wait(10.0)
    if report["survivors"]:
        print(f"processes still present: {', '.join(report['survivors'])}", file=sys.stderr)
        return 1
    return 0


def _describe_pid(pid: int) -> str:
    """``"<pid> (<command>, <state>)"`` for reports about processes that did not go away."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state = stat.rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError):
        return str(pid)
    return f"{pid} ({name}, {'zombie' if state == 'Z' else 'state ' + state})"


def _request(engine: str, payload: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    _, sock_path, _ = _paths(engine)
    if not sock_path.exists():
        raise SystemExit(f"no {engine} cluster is running (start one with `awsdb cluster up`)")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(sock_path))
        sock.sendall((json.dumps(payload) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    reply: dict[str, Any] = json.loads(data or b"{}")
    if "error" in reply:
        raise SystemExit(f"error: {reply['error']}")
    return reply


# ====================================================================== commands


def _cmd_up(args: argparse.Namespace) -> int:
    state_file, _, log_path = _paths(args.engine)
    state_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if state_file.exists():
        keeper = json.loads(state_file.read_text()).get("keeper_pid")
        if keeper and pid_alive(int(keeper)):
            print(f"a {args.engine} cluster is already running (state: {state_file})")
            return 1
        state_file.unlink()
    options = {
        "nodes": args.nodes,
        "durable": args.durable,
        "flavor": args.flavor,
        "stale_dns": args.stale_dns,
        "no_cache": args.no_cache,
        "proxies": args.proxies,
    }
    cmd = [
        sys.executable,
        "-m",
        "awsdb_testing.cli",
        "cluster",
        "_serve",
        "--engine",
        args.engine,
        "--options",
        json.dumps(options),
    ]
    t0 = time.monotonic()
    with log_path.open("ab") as log:
        keeper = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    while not state_file.exists():
        if keeper.poll() is not None:
            print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
            print(f"the cluster keeper exited with {keeper.returncode}", file=sys.stderr)
            return 1
        if time.monotonic() - t0 > args.timeout:
            keeper.terminate()
            print(f"cluster not up after {args.timeout:.0f} s; log: {log_path}", file=sys.stderr)
            return 1
        time.sleep(0.05)
    info = json.loads(state_file.read_text())
    print(f"{args.engine} cluster up in {time.monotonic() - t0:.2f} s (state: {state_file})")
    _print_status(info)
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    state_file, _, _ = _paths(args.engine)
    code = 0
    if not state_file.exists():
        print(f"no {args.engine} cluster is running")
    else:
        code = _stop_cluster(args.engine, json.loads(state_file.read_text()))
    if args.purge_cache and args.engine == "pg":
        from awsdb_testing.pg.cluster import purge_snapshot_cache

        purge_snapshot_cache()
        print("snapshot cache removed")
    return code


def _stop_cluster(engine: str, info: dict[str, Any]) -> int:
    """Stop the keeper and wait until every server process is gone; 1 if some survived."""
    keeper = int(info.get("keeper_pid", 0))
    with contextlib.suppress(SystemExit, OSError, ValueError):
        info = {**info, **_request(engine, {"cmd": "status"}, timeout=10)}  # current PIDs
    servers = _server_processes(info)
    reply: dict[str, Any] = {}
    with contextlib.suppress(SystemExit, OSError, ValueError):
        reply = _request(engine, {"cmd": "down"}, timeout=_DOWN_REPLY_S + 10)
    problems: list[str] = []
    if (
        keeper
        and not wait_pid_gone(keeper, _DOWN_GRACE_S)
        and stop_pids([keeper], grace=_DOWN_GRACE_S, kill_timeout=_DOWN_GRACE_S)
    ):
        problems.append(f"the keeper {_describe_pid(keeper)} did not exit")
    # normally the keeper has reaped them all; after a keeper crash they are stopped here
    left = stop_pids(servers, grace=_DOWN_GRACE_S, kill_timeout=_DOWN_GRACE_S)
    problems += [f"server process {_describe_pid(pid)} is still present" for pid in left]
    problems += [
        f"server process {desc} survived the keeper" for desc in reply.get("survivors", [])
    ]
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{engine} cluster stopped, but {len(problems)} process(es) remain", file=sys.stderr)
        return 1
    # left behind only when the keeper died: its state files and the cluster's run directory
    state_file, sock_path, _ = _paths(engine)
    for path in (state_file, sock_path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if info.get("base_dir"):
        remove_tree(Path(info["base_dir"]))
    print(f"{engine} cluster stopped ({max(len(servers), reply.get('processes', 0))} processes)")
    return 0


def _server_processes(info: dict[str, Any]) -> list[int]:
    """The cluster's servers (recorded PIDs still running a server of its base directory)
    and all their descendants."""
    base = str(info.get("base_dir", ""))
    out: list[int] = []
    for pid in (info.get("pids") or {}).values():
        if not pid or not pid_present(int(pid)):
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if base and base in cmdline:  # not a process that reused a stale PID
            out += [int(pid), *descendants_of(int(pid))]
    return out


def _print_status(info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{info['engine']} cluster")
    for col in ("instance", "role", "address", "pid", "host name"):
        table.add_column(col)
    pids = info.get("pids") or {}
    proxies = info.get("proxies") or {}
    if proxies:
        table.add_column("fault proxy")
    for node in info["nodes"]:
        nid = node["instance_id"]
        if nid == info.get("writer"):
            role = "writer"
        elif nid in info.get("readers", []):
            role = "reader"
        else:
            role = "down"
        row = [nid, role, f"{node['host']}:{node['port']}", str(pids.get(nid) or "-"), node["name"]]
        if proxies:
            row.append(proxies.get(nid, "-"))
        table.add_row(*row)
    console = Console()
    console.print(table)
    names = {k: v for k, v in info["host_map"].items() if ".cluster-" in k}
    for name, ip in names.items():
        console.print(f"  {name} -> {ip}")
    for key in ("writer-endpoint", "reader-endpoint"):
        if key in proxies:
            console.print(f"  {key} proxy: {proxies[key]}")
    first = next(iter(info["app_dsn"].values()), "")
    console.print(
        f"  connect as the app role, e.g.: psql '{first}'"
        if info["engine"] == "pg"
        else f"  app connection: {first}"
    )


def _cmd_status(args: argparse.Namespace) -> int:
    info = _request(args.engine, {"cmd": "status"})
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print_status(info)
    return 0


def _cmd_failover(args: argparse.Namespace) -> int:
    reply = _request(
        args.engine,
        {
            "cmd": "failover",
            "target": args.target,
            "kill": not args.stop,
            "window": args.no_writer_window,
        },
    )
    if args.json:
        print(json.dumps(reply, indent=2))
        return 0
    print(f"failover ({reply['method']}): {reply['old_writer']} -> {reply['new_writer']}")
    for step, secs in reply["steps"].items():
        print(f"  {step:<11} {secs * 1000:8.1f} ms")
    if reply["repaired"]:
        print(f"  repaired: {', '.join(reply['repaired'])}")
    return 0


def _cmd_fault(args: argparse.Namespace) -> int:
    node: str | int = int(args.node) if args.node.isdigit() else args.node
    reply = _request(
        args.engine,
        {"cmd": "fault", "action": args.action, "node": node, "seconds": args.seconds},
    )
    extra = f" ({reply['result']})" if reply.get("result") else ""
    print(f"{args.action} {args.node}: done{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
