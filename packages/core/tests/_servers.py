"""Single-node PostgreSQL and MariaDB servers for the core's integration tests.

The core's tests must pass with only awsdb-core installed, so they carry this small
launcher instead of depending on awsdb-testing's cluster harness. Servers run on a free
loopback port under a private directory in /dev/shm, as the ``postgres`` / ``mysql`` OS user
when the tests run as root, and are stopped by PID.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bindir() -> Path | None:
    env = os.environ.get("PGBIN")
    if env and Path(env, "initdb").exists():
        return Path(env)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


def _user(name: str) -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _as_user(user: pwd.struct_passwd | None) -> dict[str, Any]:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _chown(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, user.pw_uid, user.pw_gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(
        f"server did not listen on {port}: {log.read_text(errors='replace')[-2000:]}"
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@dataclass
class Server:
    """A running single-node server."""

    kind: str
    host: str
    port: int
    user: str
    password: str
    database: str
    proc: subprocess.Popen[bytes]
    base: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dsn(self) -> str:
        """A libpq conninfo (PostgreSQL) or a mysql:// URL."""
        if self.kind == "pg":
            return (
                f"host={self.host} port={self.port} user={self.user} "
                f"password={self.password} dbname={self.database}"
            )
        return f"mysql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def kwargs(self) -> dict[str, Any]:
        """Driver keyword arguments."""
        if self.kind == "pg":
            return {
                "host": self.host,
                "port": self.port,
                "user": self.user,
                "password": self.password,
                "dbname": self.database,
            }
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": self.database,
            "use_pure": True,
        }

    def connect(self, **overrides: Any) -> Any:
        """A raw driver connection."""
        if self.kind == "pg":
            import psycopg

            return psycopg.Connection.connect(**{**self.kwargs(), **overrides})
        import mysql.connector

        return mysql.connector.connect(**{**self.kwargs(), **overrides})

    @property
    def pid(self) -> int:
        """The server's PID."""
        return self.proc.pid


@contextlib.contextmanager
def postgres_server() -> Iterator[Server]:
    """Start a throw-away PostgreSQL; yield it; stop it by PID and delete its files."""
    bindir = _pg_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL binaries found (install postgresql-15 or set PGBIN)")
    user = _user("postgres")
    base = Path(tempfile.mkdtemp(prefix="awsdb-core-pg-", dir="/dev/shm"))
    data, sock, log = base / "data", base / "s", base / "server.log"
    sock.mkdir()
    _chown(base, user)
    os.chmod(base, 0o755)
    subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
        **_as_user(user),
    )
    port = free_port()
    with open(data / "postgresql.conf", "a") as f:
        f.write(
            f"\nport={port}\nlisten_addresses='127.0.0.1'\nunix_socket_directories='{sock}'\n"
            "fsync=off\nsynchronous_commit=off\nfull_page_writes=off\n"
            "dynamic_shared_memory_type=mmap\nshared_buffers=32MB\nmax_connections=100\n"
            "max_prepared_transactions=10\n"
        )
    with open(data / "pg_hba.conf", "w") as f:
        f.write(
            "local all all trust\nhost all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
    logf = open(log, "wb")  # noqa: SIM115 - closed in the finally block
    proc = subprocess.Popen(
        [str(bindir / "postgres"), "-D", str(data)],
        stdout=logf,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        **_as_user(user),
    )
    try:
        _wait_port(port, proc, 30, log)
        import psycopg

        deadline = time.monotonic() + 20
        while True:
            try:
                c = psycopg.connect(
                    host=str(sock), port=port, user="postgres", dbname="postgres", autocommit=True
                )
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with c:
            c.execute("CREATE ROLE app LOGIN PASSWORD 'app-secret-pw'")
            c.execute("CREATE DATABASE appdb OWNER app")
        yield Server(
            "pg",
            "127.0.0.1",
            port,
            "app",
            "app-secret-pw",
            "appdb",
            proc,
            base,
            {"socket_dir": str(sock)},
        )
    finally:
        _stop(proc)
        logf.close()
        shutil.rmtree(base, ignore_errors=True)


def _mariadb_bins() -> tuple[str, str] | None:
    server = shutil.which("mariadbd") or shutil.which("mysqld", path="/usr/sbin:/usr/bin")
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if server is None and os.path.exists("/usr/sbin/mariadbd"):
        server = "/usr/sbin/mariadbd"
    return (server, install) if server and install else None


@contextlib.contextmanager
def mariadb_server() -> Iterator[Server]:
    """Start a throw-away MariaDB; yield it; stop it by PID and delete its files."""
    bins = _mariadb_bins()
    if bins is None:
        raise RuntimeError("MariaDB is not installed (scripts/install-system-deps.sh installs it)")
    server_bin, install_bin = bins
    user = _user("mysql")
    base = Path(tempfile.mkdtemp(prefix="awsdb-core-my-", dir="/dev/shm"))
    data, log = base / "data", base / "server.log"
    _chown(base, user)
    os.chmod(base, 0o755)
    run_user = ["--user=mysql"] if user is not None else []
    subprocess.run(
        [
            install_bin,
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            *run_user,
        ],
        check=True,
        capture_output=True,
    )
    _chown(base, user)
    port = free_port()
    sock = base / "my.sock"
    logf = open(log, "wb")  # noqa: SIM115 - closed in the finally block
    proc = subprocess.Popen(
        [
            server_bin,
            "--no-defaults",
            f"--datadir={data}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--socket={sock}",
            f"--pid-file={base / 'my.pid'}",
            "--skip-name-resolve",
            "--performance-schema=OFF",
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2",
            "--skip-log-bin",
            *run_user,
        ],
        stdout=logf,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_port(port, proc, 60, log)
        import mysql.connector

        root = mysql.connector.connect(unix_socket=str(sock), user="root", use_pure=True)
        cur = root.cursor()
        for stmt in (
            "CREATE DATABASE appdb",
            "CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret-pw'",
            "GRANT ALL ON appdb.* TO 'app'@'%'",
            "CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app-secret-pw'",
            "GRANT ALL ON appdb.* TO 'app'@'127.0.0.1'",
            "GRANT XA_RECOVER_ADMIN ON *.* TO 'app'@'127.0.0.1'",
        ):
            with contextlib.suppress(mysql.connector.Error):
                cur.execute(stmt)
        root.commit()
        root.close()
        yield Server(
            "mysql",
            "127.0.0.1",
            port,
            "app",
            "app-secret-pw",
            "appdb",
            proc,
            base,
            {"socket": str(sock)},
        )
    finally:
        _stop(proc)
        logf.close()
        shutil.rmtree(base, ignore_errors=True)
