"""One node of the MariaDB cluster: its layout, command line and the GTID helpers."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from awsdb_testing._procs import ServerUser
from awsdb_testing.model import NodeInfo
from awsdb_testing.mysql._server import MariaDBBinaries, ServerProcess
from awsdb_testing.proxy import FaultProxy

__all__ = [
    "WRITER_QUERY",
    "MariaDBNode",
    "NodeRef",
    "ReplicationError",
    "gtid_seq",
    "random_hash",
    "server_argv",
]

NodeRef = NodeInfo | str | int
"""A node given as its :class:`NodeInfo`, instance id (``instance-2``) or 1-based index."""

_GTID_RE = re.compile(r"(\d+)-(\d+)-(\d+)")
WRITER_QUERY = (
    "SELECT SERVER_ID FROM aurora_emu.replica_host_status WHERE SESSION_ID = 'MASTER_SESSION_ID'"
)


class ReplicationError(RuntimeError):
    """A replica's replication threads stopped with an error."""


def gtid_seq(pos: str) -> int:
    """Total of the sequence numbers in a GTID position (one domain in this harness)."""
    return sum(int(m.group(3)) for m in _GTID_RE.finditer(pos or ""))


def random_hash() -> str:
    """A random cluster hash label (``c`` + 11 lowercase alphanumerics)."""
    alphabet = string.ascii_lowercase + string.digits
    return "c" + "".join(secrets.choice(alphabet) for _ in range(11))


@dataclass
class MariaDBNode:
    """One node: its directories, addresses, proxy and server process."""

    index: int
    instance_id: str
    server_id: int
    host: str  # server bind address (replication and direct connections)
    port: int
    dir: Path
    proxy: FaultProxy | None = None
    proc: ServerProcess | None = None
    was_writer: bool = False

    @property
    def datadir(self) -> Path:
        """The data directory."""
        return self.dir / "data"

    @property
    def socket_path(self) -> Path:
        """The unix socket (the control path)."""
        return self.dir / "sock"

    def alive(self) -> bool:
        """True while the server process runs."""
        return self.proc is not None and self.proc.alive()


def server_argv(
    bins: MariaDBBinaries,
    node: MariaDBNode,
    read_only: bool,
    *,
    user: ServerUser | None,
    in_netns: bool,
) -> list[str]:
    """The ``mariadbd --no-defaults`` command line of ``node``."""
    d = node.dir
    argv = [
        str(bins.mariadbd),
        "--no-defaults",
        f"--datadir={node.datadir}",
        f"--bind-address={node.host}",
        f"--port={node.port}",
        f"--socket={node.socket_path}",
        f"--pid-file={d / 'mariadbd.pid'}",
        f"--log-error={d / 'error.log'}",
        f"--tmpdir={d}",
        f"--server-id={node.server_id}",
        f"--report-host={node.instance_id}",
        f"--report-port={node.port}",
        "--log-bin=binlog",
        "--relay-log=relay",
        "--binlog-format=ROW",
        "--log-slave-updates=ON",
        "--gtid-strict-mode=ON",
        "--slave-net-timeout=5",
        "--skip-slave-start",
        "--innodb-flush-log-at-trx-commit=2",
        "--sync-binlog=0",
        "--innodb-doublewrite=0",
        "--log-bin-trust-function-creators=ON",
        "--performance-schema=OFF",
        "--innodb-buffer-pool-size=32M",
        "--innodb-log-file-size=16M",
        "--max-connections=100",
        "--skip-name-resolve",
        f"--read-only={'ON' if read_only else 'OFF'}",
    ]
    if in_netns and user is not None:
        argv.append(f"--user={user.name}")
    return argv
