"""Process, port and PID utilities shared by the cluster harnesses.

Everything here works by PID, never by process name: other database servers may run on the
same machine. The process registry is an explicit, lockable service (:func:`get_registry`);
its ``atexit`` safety net is installed on first use, so importing this module starts nothing.

Public API (stable; the PostgreSQL and MariaDB harnesses both use it):

- ports and addresses: :func:`port_is_free`, :func:`find_free_port`,
  :func:`allocate_loopback_block`, :class:`LoopbackBlock`;
- OS users: :func:`server_user`, :func:`run_as_kwargs`, :func:`chown_tree`;
- processes: :func:`pid_alive`, :func:`pid_present`, :func:`children_of`,
  :func:`descendants_of`, :func:`kill_tree`, :func:`wait_pid_gone`, :func:`wait_pids_gone`,
  :func:`stop_pids`, :func:`terminate_tree`, :func:`become_subreaper`;
- registry: :class:`ProcessRegistry`, :func:`get_registry`;
- directories and leaks: :func:`make_run_dir`, :func:`remove_tree`, :func:`shm_segments`,
  :func:`leak_report`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import os
import pwd
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "LoopbackBlock",
    "ProcessRegistry",
    "ServerUser",
    "allocate_loopback_block",
    "become_subreaper",
    "children_of",
    "chown_tree",
    "descendants_of",
    "find_free_port",
    "get_registry",
    "kill_tree",
    "leak_report",
    "make_run_dir",
    "pid_alive",
    "pid_present",
    "port_is_free",
    "remove_tree",
    "run_as_kwargs",
    "server_user",
    "shm_segments",
    "start_ticks",
    "stop_pids",
    "terminate_tree",
    "wait_pid_gone",
    "wait_pids_gone",
]

_PORT_RANGE = (20000, 60000)
_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


# --------------------------------------------------------------------------- ports


def port_is_free(host: str, port: int, *, check_wildcard: bool = True) -> bool:
    """True if a TCP listener could bind ``host:port`` right now (and nobody listens there).

    Binding ``host`` is not enough: a wildcard listener on the same port (``0.0.0.0``)
    would still block the server, so with ``check_wildcard`` a bind to the wildcard
    address is tried as well (this also fails when *any* address uses the port).
    """
    addrs = (host, "0.0.0.0") if check_wildcard and host != "0.0.0.0" else (host,)
    for addr in addrs:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((addr, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    return False
                if addr == "0.0.0.0":  # wildcard not bindable in a restricted container: ignore
                    continue
                raise
    # a listener bound with SO_REUSEADDR semantics can still accept; probe by connecting
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.connect((host, port))
        except OSError:
            return True
    return False


def find_free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` now (the kernel's choice for port 0).

    The port can be taken by someone else before it is used: callers that start servers
    retry on "address already in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LoopbackBlock:
    """Per-node loopback addresses sharing one TCP port (``127.0.0.11``, ``.12`` ... )."""

    hosts: tuple[str, ...]
    port: int


def allocate_loopback_block(
    count: int,
    first: int = 11,
    *,
    port: int | None = None,
    attempts: int = 50,
) -> LoopbackBlock:
    """Pick a port free on every address ``127.0.0.<first>`` ... ``127.0.0.<first+count-1>``.

    With ``port`` given, only that port is checked on these addresses (``OSError`` if
    taken); other addresses may already use it (a second cluster on the same port).
    Otherwise random ports that nobody uses on any address are probed, so that parallel
    runs on the machine do not collide.
    """
    if count < 1 or first < 1 or first + count - 1 > 254:
        raise ValueError(f"invalid loopback block: first={first} count={count}")
    hosts = tuple(f"127.0.0.{first + i}" for i in range(count))
    candidates = [port] if port is not None else _random_ports(attempts)
    for cand in candidates:
        if cand is not None and all(
            port_is_free(h, cand, check_wildcard=port is None) for h in hosts
        ):
            return LoopbackBlock(hosts, cand)
    raise OSError(errno.EADDRINUSE, f"no free port for {hosts[0]}..{hosts[-1]}")


def _random_ports(n: int) -> list[int]:
    lo, hi = _PORT_RANGE
    return [lo + secrets.randbelow(hi - lo) for _ in range(n)]


# --------------------------------------------------------------------------- users


@dataclass(frozen=True)
class ServerUser:
    """The OS account a database server runs as."""

    name: str
    uid: int
    gid: int


def server_user(preferred: str) -> ServerUser | None:
    """The account to run servers as: ``preferred`` (``postgres``/``mysql``) when root.

    Returns ``None`` when the current user is not root (servers then run as the caller).
    Raises ``LookupError`` when running as root and the account does not exist.
    """
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(preferred)
    except KeyError:
        raise LookupError(
            f"running as root, but the OS user {preferred!r} does not exist; "
            f"database servers refuse to run as root"
        ) from None
    return ServerUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def run_as_kwargs(user: ServerUser | None) -> dict[str, Any]:
    """``subprocess`` keyword arguments that run a child as ``user`` (empty for ``None``)."""
    if user is None:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": []}


def chown_tree(path: Path, user: ServerUser | None) -> None:
    """Give ``path`` and everything below it to ``user`` (no-op for ``None``)."""
    if user is None:
        return
    os.chown(path, user.uid, user.gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                os.lchown(os.path.join(root, name), user.uid, user.gid)


# --------------------------------------------------------------------------- processes


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    stat = _stat(pid)
    if stat is None:
        return pid_present(pid)  # gone, or no /proc: trust kill(0)
    return stat[0] != "Z"


def pid_present(pid: int) -> bool:
    """True while ``pid`` is in the process table at all, zombies included (``kill(pid, 0)``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stat(pid: int) -> tuple[str, int] | None:
    """State letter and parent PID of ``pid`` from ``/proc`` (``None`` if unreadable)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot, ``/proc/<pid>/stat`` field 22), or
    ``None`` when unreadable: with the PID, it names one process even after PID reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _parents() -> dict[int, int]:
    """PID → parent PID of every process, from one pass over ``/proc``."""
    out: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            out[int(entry.name)] = stat[1]
    return out


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (of any of its threads), read from ``/proc``."""
    return sorted(child for child, parent in _parents().items() if parent == pid)


def descendants_of(pid: int) -> list[int]:
    """Every descendant of ``pid`` (children first, depth-first)."""
    by_parent: dict[int, list[int]] = {}
    for child, parent in sorted(_parents().items()):
        by_parent.setdefault(parent, []).append(child)
    out: list[int] = []
    stack = [pid]
    while stack:
        cur = stack.pop()
        for child in by_parent.get(cur, []):
            if child not in out:
                out.append(child)
                stack.append(child)
    return out


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _exited(pid: int) -> bool:
    """True once ``pid`` has exited: gone, or a zombie that its (other) parent must reap.

    A zombie whose parent is this process is not "exited" yet: it is reaped here first.
    """
    _reap(pid)
    if pid_alive(pid):
        return False
    stat = _stat(pid)
    return stat is None or stat[1] != os.getpid()


def wait_pid_gone(pid: int, timeout: float = 10.0) -> bool:
    """Wait until ``pid`` has exited (reaping it if it is our child); True if gone.

    A zombie of another parent counts as exited; use :func:`wait_pids_gone` to wait until
    PIDs have left the process table.
    """
    deadline = time.monotonic() + timeout
    while True:
        if _exited(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)


def wait_pids_gone(pids: Iterable[int], timeout: float = 10.0) -> list[int]:
    """Wait until every PID has left the process table, reaping those that are our children.

    Returns the PIDs still present (running, or zombies nobody has reaped) at the deadline;
    an empty list means all are gone.
    """
    pending = list(dict.fromkeys(pids))
    deadline = time.monotonic() + timeout
    while True:
        for pid in pending:
            _reap(pid)
        pending = [pid for pid in pending if pid_present(pid)]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(0.005)


def stop_pids(
    pids: Iterable[int],
    sig: int = signal.SIGTERM,
    *,
    grace: float = 10.0,
    kill_timeout: float = 10.0,
) -> list[int]:
    """Send ``sig``, wait up to ``grace`` s, SIGKILL what still runs, wait ``kill_timeout`` s.

    Only for processes the caller started. Returns the PIDs still in the process table at the
    end (see :func:`wait_pids_gone`); an empty list means all are gone.
    """
    victims = list(dict.fromkeys(pids))
    for victim in victims:
        if pid_alive(victim):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(victim, sig)
    left = wait_pids_gone(victims, grace)
    if not left:
        return []
    for victim in left:
        if pid_alive(victim):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(victim, signal.SIGKILL)
    return wait_pids_gone(left, kill_timeout)


def become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux only).

    With ``PR_SET_CHILD_SUBREAPER`` set, the children of a server that is killed are
    re-parented to this process instead of PID 1, so that this process can reap them and
    know when they are gone. Returns False where the call is not available.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def kill_tree(pid: int, sig: int = signal.SIGKILL, timeout: float = 10.0) -> bool:
    """Send ``sig`` to ``pid`` and all its descendants; wait for them all to exit.

    Descendants are collected *before* the signal (a SIGKILLed parent's children are
    re-parented and could not be found afterwards). Returns True when all are gone.
    """
    victims = [pid, *descendants_of(pid)]
    for victim in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, sig)
    deadline = time.monotonic() + timeout
    ok = True
    for victim in victims:
        ok = wait_pid_gone(victim, max(0.0, deadline - time.monotonic())) and ok
    return ok


def terminate_tree(pid: int, grace: float = 5.0) -> bool:
    """SIGTERM ``pid``, wait up to ``grace`` seconds, then SIGKILL it and its descendants."""
    victims = [pid, *descendants_of(pid)]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    if wait_pid_gone(pid, grace) and not any(pid_alive(v) for v in victims):
        return True
    ok = kill_tree(pid)
    for victim in victims:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, signal.SIGKILL)
    return ok


class ProcessRegistry:
    """The PIDs this process started, so they can be killed even after a failure.

    Thread-safe. The first :meth:`register` installs an ``atexit`` hook that SIGKILLs every
    PID still registered (and its descendants). Harnesses unregister a PID once they have
    stopped it themselves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pids: dict[int, str] = {}
        self._ever: dict[int, str] = {}
        self._starts: dict[int, int | None] = {}  # PID → start time, to see PID reuse
        self._paths: set[Path] = set()
        self._atexit = False

    def register(self, pid: int, label: str = "") -> None:
        """Record ``pid`` (with a label for leak reports)."""
        started = start_ticks(pid)
        with self._lock:
            self._pids[pid] = label
            self._ever[pid] = label
            self._starts[pid] = started
            self._install_atexit()

    def unregister(self, pid: int) -> None:
        """Forget ``pid`` (it was stopped by its owner). Unknown PIDs are ignored."""
        with self._lock:
            self._pids.pop(pid, None)

    def register_path(self, path: Path) -> None:
        """Record a directory to delete at exit (after the processes are killed)."""
        with self._lock:
            self._paths.add(path)
            self._install_atexit()

    def unregister_path(self, path: Path) -> None:
        """Forget a directory (its owner removed it)."""
        with self._lock:
            self._paths.discard(path)

    def ours(self, pid: int) -> bool:
        """True while ``pid`` is alive and still the process registered under it.

        The kernel reuses PIDs (``pid_max`` is often 32768; database servers fork a process
        per connection): a PID whose start time differs is another program's process.
        """
        with self._lock:
            recorded = self._starts.get(pid)
        if not pid_alive(pid):
            return False
        now = start_ticks(pid)
        return recorded is None or now is None or now == recorded

    def pids(self) -> dict[int, str]:
        """PIDs currently registered, with labels."""
        with self._lock:
            return dict(self._pids)

    def ever_started(self) -> dict[int, str]:
        """Every PID ever registered in this process (for end-of-run leak checks)."""
        with self._lock:
            return dict(self._ever)

    def paths(self) -> set[Path]:
        """Directories currently registered."""
        with self._lock:
            return set(self._paths)

    def kill_all(self) -> list[int]:
        """SIGKILL every registered PID and its descendants; returns the PIDs that were alive."""
        with self._lock:
            pids = list(self._pids)
            self._pids.clear()
            paths = list(self._paths)
            self._paths.clear()
        alive = [p for p in pids if self.ours(p)]
        for pid in alive:
            kill_tree(pid, timeout=5.0)
        for path in paths:
            remove_tree(path)
        return alive

    def _install_atexit(self) -> None:
        if not self._atexit:
            atexit.register(self.kill_all)
            self._atexit = True


_REGISTRY = ProcessRegistry()


def get_registry() -> ProcessRegistry:
    """Return the process-wide registry of started server PIDs."""
    return _REGISTRY


# --------------------------------------------------------------------------- dirs, leaks


def make_run_dir(prefix: str = "awsdb-") -> Path:
    """Create a short, unique base directory, on tmpfs (``/dev/shm``) when available.

    Paths stay short so that unix socket paths (limit 107 bytes) fit. The directory is
    mode 0755 so that a server user other than the caller can traverse it.
    """
    base = Path("/dev/shm")
    parent = str(base) if base.is_dir() and os.access(base, os.W_OK) else None
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    path.chmod(0o755)
    return path


def remove_tree(path: Path) -> None:
    """Delete ``path`` recursively; missing paths are fine."""
    shutil.rmtree(path, ignore_errors=True)


def shm_segments(prefixes: Iterable[str] = ("PostgreSQL.",)) -> list[Path]:
    """Files in ``/dev/shm`` whose names start with one of ``prefixes``."""
    base = Path("/dev/shm")
    if not base.is_dir():
        return []
    pre = tuple(prefixes)
    return sorted(p for p in base.iterdir() if p.name.startswith(pre))


def _cmdline(pid: int) -> str:
    """What ``pid`` runs (for leak reports); ``?`` when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:200] or "?"


def leak_report(
    pids: Iterable[int],
    *,
    paths: Iterable[Path] = (),
    shm_before: Iterable[Path] = (),
    shm_prefixes: Iterable[str] = ("PostgreSQL.",),
) -> list[str]:
    """Describe what is left behind: live PIDs, existing paths, new ``/dev/shm`` segments.

    ``shm_before`` is the set of segments that existed before the run (other servers'
    segments are not ours). An empty list means nothing leaked.
    """
    problems = [f"process {pid} ({_cmdline(pid)}) is still alive" for pid in pids if pid_alive(pid)]
    problems += [f"path {p} still exists" for p in paths if p.exists()]
    before = set(shm_before)
    problems += [f"shared memory {p} leaked" for p in shm_segments(shm_prefixes) if p not in before]
    return problems
