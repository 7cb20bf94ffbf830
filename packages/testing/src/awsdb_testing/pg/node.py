"""One PostgreSQL server of a local cluster: its directories, configuration and process."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from awsdb_testing._procs import (
    ServerUser,
    chown_tree,
    get_registry,
    kill_tree,
    pid_alive,
    run_as_kwargs,
    wait_pid_gone,
)
from awsdb_testing.pg.binaries import PgBinaries

__all__ = ["AddressInUseError", "NodeStartError", "PgNode", "common_settings"]

CONTROL_DB = "app"


class NodeStartError(RuntimeError):
    """A server did not become ready; the message carries the tail of its log."""


class AddressInUseError(NodeStartError):
    """The server could not bind its address:port (someone else listens there)."""


def common_settings() -> str:
    """The ``postgresql.conf`` lines shared by every node (see the harness docs)."""
    return "\n".join(
        [
            "fsync = off",
            "full_page_writes = on",
            "wal_log_hints = on",
            "wal_level = replica",
            "wal_keep_size = 256MB",
            "min_wal_size = 4MB",
            "max_wal_size = 256MB",
            "max_wal_senders = 10",
            "max_replication_slots = 10",
            "hot_standby = on",
            "hot_standby_feedback = on",
            "wal_receiver_status_interval = 1s",
            "wal_retrieve_retry_interval = 200ms",
            "wal_receiver_timeout = 10s",
            "wal_sender_timeout = 10s",
            "shared_buffers = 32MB",
            "max_connections = 60",
            "dynamic_shared_memory_type = mmap",
            "log_line_prefix = '%m [%p] %q%a '",
            "log_min_messages = warning",
            "log_connections = off",
            "include_if_exists = 'node.conf'",
            "",
        ]
    )


@dataclass
class PgNode:
    """A server: ``base/nN/{data,sock,server.log}``, reachable at ``host:port`` over TCP."""

    index: int  # 1-based
    base: Path
    host: str
    port: int
    instance_id: str
    bins: PgBinaries
    user: ServerUser | None
    extra_conf: dict[str, str] = field(default_factory=dict)
    exec_prefix: list[str] | None = None  # e.g. ``ip netns exec <ns>`` (root only)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _pid: int | None = field(default=None, repr=False)

    @property
    def dir(self) -> Path:
        """The node's directory (``nN``)."""
        return self.base / f"n{self.index}"

    @property
    def data(self) -> Path:
        """The data directory."""
        return self.dir / "data"

    @property
    def sock(self) -> Path:
        """The private unix-socket directory (the controller's path, immune to net faults)."""
        return self.dir / "sock"

    @property
    def log(self) -> Path:
        """The server log file."""
        return self.dir / "server.log"

    @property
    def pid(self) -> int | None:
        """The postmaster PID while the server runs, else ``None``."""
        if self._pid is not None and pid_alive(self._pid):
            return self._pid
        return None

    def control_conninfo(self, dbname: str = CONTROL_DB) -> str:
        """libpq conninfo of the superuser control path (unix socket)."""
        return f"host={self.sock} port={self.port} user=postgres dbname={dbname}"

    def tcp_conninfo(self, application_name: str | None = None) -> str:
        """The TCP conninfo that replicas use as ``primary_conninfo`` towards this node."""
        app = application_name or self.instance_id
        return (
            f"host={self.host} port={self.port} user=postgres application_name={app} "
            "connect_timeout=2 keepalives_idle=2 keepalives_interval=1 keepalives_count=3 "
            "tcp_user_timeout=5000"
        )

    def connect(self, dbname: str = CONTROL_DB, timeout: float = 3.0) -> psycopg.Connection:
        """A superuser autocommit connection over the control path."""
        return psycopg.connect(
            self.control_conninfo(dbname), autocommit=True, connect_timeout=max(1, int(timeout))
        )

    # ------------------------------------------------------------------ files

    def write_node_conf(self) -> None:
        """(Re)write ``node.conf``: pg_basebackup and pg_rewind copy the source's copy."""
        lines = {
            "port": str(self.port),
            "listen_addresses": f"'{self.host}'",
            "unix_socket_directories": f"'{self.sock}'",
            "cluster_name": f"'{self.instance_id}'",
            "cluster.instance_id": f"'{self.instance_id}'",
            **self.extra_conf,
        }
        text = "".join(f"{k} = {v}\n" for k, v in lines.items())
        self.sock.mkdir(parents=True, exist_ok=True)
        path = self.data / "node.conf"
        path.write_text(text)
        chown_tree(self.sock, self.user)
        if self.user is not None:
            os.chown(path, self.user.uid, self.user.gid)

    def make_standby_of(self, primary: PgNode) -> None:
        """Write ``standby.signal`` and a TCP ``primary_conninfo`` pointing at ``primary``."""
        signal_file = self.data / "standby.signal"
        signal_file.touch()
        auto = self.data / "postgresql.auto.conf"
        with auto.open("a") as fh:
            fh.write(f"primary_conninfo = '{primary.tcp_conninfo(self.instance_id)}'\n")
        if self.user is not None:
            for path in (signal_file, auto):
                os.chown(path, self.user.uid, self.user.gid)

    # ------------------------------------------------------------------ process

    def spawn(self) -> None:
        """Start the postmaster (no wait). Its PID is registered for cleanup."""
        if self.pid is not None:
            return
        with contextlib.suppress(FileNotFoundError):
            (self.data / "postmaster.pid").unlink()
        self.log.touch()
        if self.user is not None:
            os.chown(self.log, self.user.uid, self.user.gid)
        argv = [self.bins.tool("postgres"), "-D", str(self.data)]
        run_as = run_as_kwargs(self.user)
        if self.exec_prefix is not None:
            # ``ip netns exec`` needs root; setpriv drops to the server user and, like
            # ``ip netns exec``, execs in place, so the PID stays the postmaster's
            if self.user is not None:
                argv = [
                    "setpriv",
                    f"--reuid={self.user.uid}",
                    f"--regid={self.user.gid}",
                    "--clear-groups",
                    "--",
                    *argv,
                ]
            argv = [*self.exec_prefix, *argv]
            run_as = {}
        log = self.log.open("ab")
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd="/",
                **run_as,
            )
        finally:
            log.close()
        self._pid = self._proc.pid
        get_registry().register(self._pid, f"postgres {self.instance_id} {self.data}")

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the server accepts connections (primary or hot standby)."""
        deadline = time.monotonic() + timeout
        pidfile = self.data / "postmaster.pid"
        while True:
            pid = self._pid
            if pid is None or not pid_alive(pid):
                self._reap()
                raise self._start_error("exited during startup")
            try:
                lines = pidfile.read_text().splitlines()
            except OSError:
                lines = []
            if len(lines) >= 8 and lines[7].strip() in ("ready", "standby"):
                return
            if time.monotonic() > deadline:
                raise self._start_error(f"not ready after {timeout:.0f} s")
            time.sleep(0.01)

    def start(self, timeout: float = 30.0) -> None:
        """Start and wait until ready."""
        self.spawn()
        self.wait_ready(timeout)

    def kill(self) -> None:
        """SIGKILL the postmaster and every child by PID (no shutdown checkpoint)."""
        pid = self._pid
        shmid = self._sysv_shmid()
        if pid is not None:
            kill_tree(pid, signal.SIGKILL)
            get_registry().unregister(pid)
        self._reap()
        self._pid = None
        with contextlib.suppress(FileNotFoundError):
            (self.data / "postmaster.pid").unlink()
        if shmid is not None and pid is not None:
            # a killed postmaster leaves its small SysV interlock segment behind; thousands
            # of kills exhaust the kernel's segment limit (SHMMNI) for every server
            subprocess.run(["ipcrm", "-m", str(shmid)], capture_output=True, check=False)

    def _sysv_shmid(self) -> int | None:
        """The SysV shared memory id from ``postmaster.pid`` (line 7: key, id)."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        parts = lines[6].split() if len(lines) > 6 else []
        return int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT): clients get an admin-shutdown error; falls back to kill."""
        pid = self._pid
        if pid is None or not pid_alive(pid):
            self.kill()
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        if not wait_pid_gone(pid, timeout):
            self.kill()
            return
        get_registry().unregister(pid)
        self._reap()
        self._pid = None

    def signal_tree(self, sig: int) -> None:
        """Send ``sig`` (e.g. SIGSTOP/SIGCONT) to the postmaster and its children."""
        from awsdb_testing._procs import descendants_of

        pid = self._pid
        if pid is None:
            return
        for victim in [pid, *descendants_of(pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, sig)

    def adopt(self, pid: int | None) -> None:
        """Take over a running postmaster started by another process (state files)."""
        self._proc = None
        self._pid = pid

    def _reap(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=0)
            self._proc = None

    def _start_error(self, what: str) -> NodeStartError:
        try:
            tail = self.log.read_text(errors="replace").splitlines()[-15:]
        except OSError:
            tail = []
        text = "\n".join(tail)
        cls = AddressInUseError if "Address already in use" in text else NodeStartError
        return cls(f"{self.instance_id} ({self.host}:{self.port}) {what}; log tail:\n{text}")

    def run_tool(self, args: list[str], timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool as the server user; raises with its output on failure."""
        proc = subprocess.run(
            args,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd="/",
            **run_as_kwargs(self.user),
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{os.path.basename(args[0])} failed ({proc.returncode}): "
                f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            )
        return proc
