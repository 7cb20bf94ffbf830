"""Real database servers for the tests: a single-node emulated Aurora PostgreSQL (from
awsdb-testing) whose ``iam_*`` roles authenticate with SCRAM, and a MariaDB with TLS."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg


@dataclass
class PgAuthNode:
    """One PostgreSQL node; the roles made by :meth:`set_password` must log in with their
    password (SCRAM; every other role keeps the harness's trust rule)."""

    cluster: Any
    name: str  # the Aurora-shaped instance host name (resolved by awsdb's resolver)
    port: int

    @classmethod
    def start(cls) -> PgAuthNode:
        """Start the node (from the harness's snapshot cache) and require passwords."""
        from awsdb_testing.pg import PgCluster, PgClusterConfig

        cluster = PgCluster(PgClusterConfig(nodes=1, first_octet=71))
        cluster.start()
        try:
            node = cluster.node(1)
            with cluster.superuser_connect(node) as conn:
                hba = Path(str(conn.execute("SHOW hba_file").fetchone()[0]))  # type: ignore[index]
                rules = hba.read_text()
                conn.execute("CREATE ROLE awsdb_password_login NOLOGIN")
                hba.write_text("host all +awsdb_password_login 127.0.0.0/8 scram-sha-256\n" + rules)
                conn.execute("SELECT pg_reload_conf()")
            return cls(cluster, node.name, node.port)
        except BaseException:
            cluster.close()
            raise

    def set_password(self, role: str, password: str) -> None:
        """Create ``role`` if needed and set its password (any length, verbatim)."""
        with self.cluster.superuser_connect(1) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                psycopg.sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                    psycopg.sql.Identifier(role), psycopg.sql.Literal(password)
                )
            )
            conn.execute(
                psycopg.sql.SQL("GRANT awsdb_password_login TO {}").format(
                    psycopg.sql.Identifier(role)
                )
            )

    def close(self) -> None:
        """Stop the node and delete its files."""
        self.cluster.close()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _mariadb_bins() -> tuple[str, str] | None:
    server = shutil.which("mariadbd") or shutil.which("mysqld") or "/usr/sbin/mariadbd"
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if not Path(server).exists() or install is None:
        return None
    return server, install


@dataclass
class MariaDBTls:
    """A throw-away MariaDB with TLS (certificate of the test CA) on 127.0.0.1."""

    port: int
    socket: Path
    proc: subprocess.Popen[bytes]
    base: Path

    def root(self) -> Any:
        """A root connection over the unix socket."""
        import mysql.connector

        return mysql.connector.connect(unix_socket=str(self.socket), user="root", use_pure=True)

    def run(self, *statements: str) -> None:
        """Run statements as root."""
        conn = self.root()
        try:
            cur = conn.cursor(buffered=True)
            for stmt in statements:
                cur.execute(stmt)
            conn.commit()
        finally:
            conn.close()


@contextlib.contextmanager
def mariadb_tls(
    cert: Path, key: Path, ca: Path, extra_args: tuple[str, ...] = ()
) -> Iterator[MariaDBTls]:
    """Start MariaDB with ``--ssl-cert``/``--ssl-key``; stop it by PID; delete its files."""
    bins = _mariadb_bins()
    if bins is None:
        raise RuntimeError("MariaDB is not installed (scripts/install-system-deps.sh)")
    server_bin, install_bin = bins
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="awsdb-iam-my-", dir="/dev/shm"))
    os.chmod(base, 0o755)
    tls = base / "tls"
    tls.mkdir()
    for src in (cert, key, ca):
        shutil.copy(src, tls / src.name)
    user_args = ["--user=mysql"] if as_root else []
    if as_root:
        shutil.chown(base, "mysql")
        for p in tls.iterdir():
            shutil.chown(p, "mysql")
    data = base / "data"
    subprocess.run(
        [
            install_bin,
            "--no-defaults",
            f"--datadir={data}",
            "--skip-test-db",
            "--auth-root-authentication-method=normal",
            "--skip-name-resolve",
            *user_args,
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    sock = base / "my.sock"
    log = open(base / "server.log", "wb")  # noqa: SIM115 - closed below
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
            "--skip-log-bin",
            f"--ssl-cert={tls / cert.name}",
            f"--ssl-key={tls / key.name}",
            f"--ssl-ca={tls / ca.name}",
            *extra_args,
            *user_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("MariaDB exited: " + (base / "server.log").read_text()[-2000:])
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("MariaDB did not start within 60 s")
            time.sleep(0.1)
        yield MariaDBTls(port, sock, proc, base)
    finally:
        proc.kill()
        proc.wait(10)
        log.close()
        shutil.rmtree(base, ignore_errors=True)
