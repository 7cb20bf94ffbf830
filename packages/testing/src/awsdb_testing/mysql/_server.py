"""One ``mariadbd`` process: binary discovery, start, readiness, stop — by PID only."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from awsdb_testing._procs import (
    ServerUser,
    get_registry,
    kill_tree,
    pid_alive,
    run_as_kwargs,
    wait_pid_gone,
)

__all__ = ["MariaDBBinaries", "ServerProcess", "find_mariadb", "install_pristine"]


@dataclass(frozen=True)
class MariaDBBinaries:
    """Paths of the MariaDB server and its data-directory initialiser."""

    mariadbd: Path
    install_db: Path


def _which(names: tuple[str, ...], extra_dirs: tuple[str, ...]) -> Path | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
        for folder in extra_dirs:
            cand = Path(folder) / name
            if cand.is_file() and os.access(cand, os.X_OK):
                return cand
    return None


def find_mariadb() -> MariaDBBinaries | None:
    """Locate ``mariadbd`` and ``mariadb-install-db`` (``$MARIADBD`` overrides the server).

    Returns ``None`` when MariaDB is not installed (``scripts/install-system-deps.sh``
    installs it on Debian).
    """
    sbin = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/bin", "/usr/bin")
    env = os.environ.get("MARIADBD")
    server = Path(env) if env else _which(("mariadbd", "mysqld"), sbin)
    install = _which(("mariadb-install-db", "mysql_install_db"), ("/usr/bin", "/usr/local/bin"))
    if server is None or install is None or not server.exists():
        return None
    return MariaDBBinaries(server, install)


def install_pristine(bins: MariaDBBinaries, datadir: Path, user: ServerUser | None) -> None:
    """Run ``mariadb-install-db`` once into ``datadir`` (whose parent must exist)."""
    cmd = [
        str(bins.install_db),
        "--no-defaults",
        f"--datadir={datadir}",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        "--skip-name-resolve",
        "--innodb-log-file-size=16M",
        "--innodb-buffer-pool-size=32M",
    ]
    if user is not None:
        cmd.append(f"--user={user.name}")
    res = subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=120,
        check=False,
        cwd=str(datadir.parent),
    )
    if res.returncode != 0:
        tail = res.stdout.decode(errors="replace")[-2000:]
        raise RuntimeError(f"mariadb-install-db failed ({res.returncode}):\n{tail}")


class ServerProcess:
    """A running ``mariadbd``; created by :meth:`start`, ended by :meth:`kill` / :meth:`stop`."""

    def __init__(
        self, proc: subprocess.Popen[bytes], socket_path: Path, log: Path, log_offset: int = 0
    ) -> None:
        self._proc = proc
        self.socket_path = socket_path
        self.log = log
        self._log_offset = log_offset

    @property
    def pid(self) -> int:
        """The server's PID."""
        return self._proc.pid

    def alive(self) -> bool:
        """True while the process runs."""
        return self._proc.poll() is None and pid_alive(self._proc.pid)

    @classmethod
    def start(
        cls,
        argv: list[str],
        *,
        socket_path: Path,
        log: Path,
        user: ServerUser | None,
        prefix: list[str] | None = None,
        label: str = "mariadbd",
    ) -> ServerProcess:
        """Spawn ``argv`` detached (own session), as ``user`` unless ``prefix`` is given.

        With a ``prefix`` (``ip netns exec <ns>``) the command runs as the caller, and
        ``argv`` must carry ``--user`` itself.
        """
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()
        try:
            offset = log.stat().st_size
        except OSError:
            offset = 0
        kwargs = {} if prefix else run_as_kwargs(user)
        proc = subprocess.Popen(
            [*(prefix or []), *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            **kwargs,
        )
        get_registry().register(proc.pid, label)
        return cls(proc, socket_path, log, offset)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the unix socket accepts connections.

        Raises ``OSError(EADDRINUSE)`` if the TCP port was taken, ``RuntimeError`` if the
        server exited, ``TimeoutError`` if it did not come up in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.socket_path.exists():
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    try:
                        sock.connect(str(self.socket_path))
                        return
                    except OSError:
                        pass
            if self._proc.poll() is not None:
                self._forget()
                text = self.log_tail()
                if "Address already in use" in text:
                    raise OSError(errno.EADDRINUSE, f"mariadbd port taken:\n{text}")
                raise RuntimeError(f"mariadbd exited with {self._proc.returncode}:\n{text}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"mariadbd not ready after {timeout}s:\n{self.log_tail()}")
            time.sleep(0.005)

    def log_tail(self, limit: int = 3000) -> str:
        """The end of what this server run wrote to its error log."""
        try:
            with self.log.open("rb") as fh:
                fh.seek(self._log_offset)
                return fh.read().decode(errors="replace")[-limit:]
        except OSError:
            return "(no error log)"

    def kill(self) -> None:
        """SIGKILL the server (and anything it started) and reap it."""
        kill_tree(self._proc.pid, signal.SIGKILL, timeout=10.0)
        self._reap()

    def stop(self, timeout: float = 30.0) -> None:
        """Clean shutdown: SIGTERM, then wait on the PID (the pidfile vanishes earlier)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self._proc.pid, signal.SIGTERM)
        if not wait_pid_gone(self._proc.pid, timeout):
            kill_tree(self._proc.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(5.0)
        self._forget()

    def _forget(self) -> None:
        get_registry().unregister(self._proc.pid)
