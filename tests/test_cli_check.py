"""``awsdb check`` against real servers, run as a separate process (real exit codes).

The emulated clusters answer under Aurora-shaped names only inside the test process (its
resolver), so the command is given the name and the address: libpq's ``hostaddr`` for
PostgreSQL; for MySQL the proxy address and ``cluster_instance_host_pattern``.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from _servers import Server

import awsdb
from awsdb.cli import main


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "awsdb.cli", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def _table(stdout: str) -> list[list[str]]:
    """The topology table's rows (after the header line), split on whitespace."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("instance "))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip() or line.startswith(("(", "note:")):
            break
        rows.append(line.split())
    return rows


@pytest.mark.pg
def test_aurora_pg_writer_endpoint_shows_three_instances(pg_cluster: Any) -> None:
    writer = pg_cluster.writer()
    names = pg_cluster.names
    dsn = (
        f"host={names.writer_endpoint} hostaddr={writer.host} port={writer.port} "
        "user=app dbname=app"
    )
    proc = _check(dsn)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "dialect    aurora-pg" in out
    assert "server     PostgreSQL 15" in out
    assert f"connected  {writer.instance_id} (writer) via {names.writer_endpoint}" in out
    assert "cluster    3 instances, 1 writer" in out
    rows = _table(out)
    assert len(rows) == 3
    readers = sorted(n.instance_id for n in pg_cluster.readers())
    assert [r[0] for r in rows] == [writer.instance_id, *readers]
    assert rows[0][1:5] == ["*", names.instance(writer.instance_id), str(writer.port), "writer"]
    assert [r[3] for r in rows[1:]] == ["reader", "reader"]
    assert "lag ms" in out  # the Aurora topology reports replica lag
    assert proc.stderr == ""

    data = json.loads(_check(dsn, "--json").stdout)
    assert data["ok"] is True and data["cluster"] is True
    assert data["dialect"] == "aurora-pg" and data["driver"] == "psycopg"
    assert data["cluster_id"] == names.writer_endpoint
    assert data["connected"]["instance"] == writer.instance_id
    assert all(isinstance(r["lag_ms"], float) for r in data["topology"])
    roles = sorted(r["role"] for r in data["topology"])
    assert roles == ["reader", "reader", "writer"]
    assert {r["host"] for r in data["topology"]} == {
        names.instance(n.instance_id) for n in pg_cluster.nodes
    }
    assert all(r["last_update"] for r in data["topology"])
    lags = {r["role"]: r["lag_ms"] for r in data["topology"]}
    assert lags["writer"] == 0 and isinstance(lags["reader"], float)


@pytest.mark.pg
def test_aurora_pg_reader_by_address_shows_instance_ids(pg_cluster: Any) -> None:
    reader = pg_cluster.readers()[0]
    proc = _check(f"postgresql://app@{reader.host}:{reader.port}/app")
    assert proc.returncode == 0, proc.stderr
    assert f"connected  {reader.instance_id} (reader) via {reader.host}:{reader.port}" in (
        proc.stdout
    )
    rows = _table(proc.stdout)
    assert sorted(r[0] for r in rows) == sorted(n.instance_id for n in pg_cluster.nodes)
    assert "note: the instance host names cannot be derived" in proc.stdout
    # with the pattern, the instance endpoints are shown
    proc = _check(
        f"postgresql://app@{reader.host}:{reader.port}/app",
        f"cluster_instance_host_pattern={pg_cluster.names.instance_host_pattern}",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no warning that the property has no effect
    data = json.loads(proc.stdout)
    here = [r for r in data["topology"] if r["connected"]]
    assert len(here) == 1 and here[0]["role"] == "reader"
    assert here[0]["host"] == pg_cluster.names.instance(reader.instance_id)


@pytest.mark.mysql
def test_aurora_mysql_on_mariadb(mdb_cluster: Any) -> None:
    writer = mdb_cluster.writer()
    host, port = writer.host, writer.port  # the node's rewriting proxy
    url = f"mysql://app:{mdb_cluster.app_conninfo_kwargs(writer)['password']}@{host}:{port}/appdb"
    proc = _check(url, f"cluster_instance_host_pattern={mdb_cluster.instance_host_pattern}")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "driver     mysql-connector-python" in out
    assert "dialect    aurora-mysql" in out
    assert "MariaDB" in out  # the server version
    assert "cluster    3 instances, 1 writer" in out
    rows = _table(out)
    assert rows[0][0] == writer.instance_id
    assert rows[0][1:5] == ["*", writer.name, str(port), "writer"]
    assert [r[3] for r in rows[1:]] == ["reader", "reader"]

    password = mdb_cluster.app_conninfo_kwargs(writer)["password"]
    keywords = f"host={host} port={port} user=app password={password} database=appdb"
    proc = _check(keywords, "--driver", "mysql", "--json")  # key=value for MySQL too
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["dialect"] == "aurora-mysql" and data["driver"] == "mysql-connector-python"
    assert data["connected"]["instance"] == writer.instance_id
    assert all(isinstance(r["lag_ms"], float) for r in data["topology"])
    assert sorted(r["instance"] for r in data["topology"]) == sorted(
        n.instance_id for n in mdb_cluster.nodes
    )


@pytest.mark.mysql
def test_mysql_bad_password_exits_5(mdb_cluster: Any) -> None:
    node = mdb_cluster.nodes[0]
    host, port = node.host, node.port
    proc = _check(f"mysql://app:Wrong-Pass-77@{host}:{port}/appdb")
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert f"authentication failed for user 'app' at {host}:{port}" in proc.stderr
    assert "Wrong-Pass-77" not in proc.stdout + proc.stderr


@pytest.mark.pg
def test_plain_postgres_is_not_a_cluster(pg_single: Server) -> None:
    proc = _check(pg_single.dsn)
    assert proc.returncode == 0, proc.stderr
    where = f"{pg_single.host}:{pg_single.port}"
    assert "dialect    pg" in proc.stdout
    assert proc.stdout.splitlines()[-1] == f"not a cluster: pg (single host {where}, writer)"
    assert pg_single.password not in proc.stdout + proc.stderr
    data = json.loads(_check(pg_single.dsn, "--json").stdout)
    assert data["ok"] is True and data["cluster"] is False and data["topology"] == []
    assert data["connected"] == {
        "host": pg_single.host,
        "port": pg_single.port,
        "instance": None,
        "role": "writer",
    }


@pytest.mark.pg
def test_bad_password_exits_5(pg_single: Server) -> None:
    secret = "Not-The-Password-42"
    dsn = pg_single.dsn.replace(f"password={pg_single.password}", f"password={secret}")
    proc = _check(dsn)
    assert proc.returncode == 5, proc.stdout + proc.stderr
    where = f"{pg_single.host}:{pg_single.port}"
    assert f"awsdb check: authentication failed for user '{pg_single.user}' at {where}" in (
        proc.stderr
    )
    assert secret not in proc.stdout + proc.stderr
    data = json.loads(_check(dsn, "--json").stdout)
    assert data["ok"] is False and data["error"] == "authentication_failed"
    assert data["exit_code"] == 5


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


@pytest.mark.parametrize("driver", ["pg", "mysql"])
def test_refused_port_exits_4_and_names_the_address(driver: str) -> None:
    port = _refused_port()
    dsn = (
        f"host=127.0.0.1 port={port} user=app password=Secret-Value-9 dbname=app"
        if driver == "pg"
        else f"mysql://app:Secret-Value-9@127.0.0.1:{port}/app"
    )
    proc = _check(dsn)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"awsdb check: cannot connect to 127.0.0.1:{port}" in proc.stderr
    assert "refused" in proc.stderr.lower()
    assert "Secret-Value-9" not in proc.stdout + proc.stderr
    assert proc.stdout == ""


@pytest.fixture
def _listening_socket() -> Iterator[int]:
    """A port whose listener never accepts: the TCP handshake completes, no server speaks."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


@pytest.mark.parametrize("driver", ["pg", "mysql"])
def test_silent_server_times_out_exits_4(driver: str, _listening_socket: int) -> None:
    port = _listening_socket
    dsn = (
        f"postgresql://app:Secret-Value-9@127.0.0.1:{port}/app"
        if driver == "pg"
        else f"mysql://app:Secret-Value-9@127.0.0.1:{port}/app"
    )
    proc = _check(dsn, "connect_timeout=1")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"awsdb check: cannot connect to 127.0.0.1:{port} (timed out)" in proc.stderr
    assert "Secret-Value-9" not in proc.stdout + proc.stderr


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.pg
def test_check_with_the_failover_plugin_leaves_nothing_running(
    pg_cluster: Any,
    pg_names: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In process: the monitor the failover plugin starts is stopped when the command ends."""
    from awsdb.cli import _check

    awsdb.release_resources()
    gc.collect()
    threads, fds = set(threading.enumerate()), _fds()
    during: list[str] = []
    report = _check._report

    def spy(*args: Any) -> Any:  # records the threads running while the check reads
        during.extend(t.name for t in threading.enumerate())
        return report(*args)

    monkeypatch.setattr(_check, "_report", spy)
    port = pg_cluster.writer().port
    dsn = f"host={pg_cluster.names.writer_endpoint} port={port} user=app dbname=app"
    capsys.readouterr()
    assert main(["check", dsn, "plugins=failover"]) == 0
    out = capsys.readouterr().out
    assert "cluster    3 instances, 1 writer" in out
    assert any(name.startswith("awsdb-monitor ('topology'") for name in during), during
    gc.collect()
    assert [t.name for t in set(threading.enumerate()) - threads if t.is_alive()] == []
    assert _fds() == fds


@pytest.mark.pg
def test_topology_lag_and_no_writer(fresh_pg_cluster: Any) -> None:
    from awsdb_testing.model import TopologyRow

    cluster = fresh_pg_cluster
    writer = cluster.writer()
    dsn = (
        f"host={cluster.names.writer_endpoint} hostaddr={writer.host} port={writer.port} "
        "user=app dbname=app"
    )
    cluster.set_topology_static(
        [
            TopologyRow("instance-1", True),
            TopologyRow("instance-2", False, replica_lag_ms=250.0),
            TopologyRow("instance-3", False, replica_lag_ms=1500.0),
        ]
    )
    data = json.loads(_check(dsn, "--json").stdout)
    assert {r["instance"]: r["lag_ms"] for r in data["topology"]} == {
        "instance-1": 0.0,
        "instance-2": 250.0,
        "instance-3": 1500.0,
    }
    proc = _check(dsn)
    rows = _table(proc.stdout)
    assert [r[-4] for r in rows] == ["0", "250", "1500"]  # lag ms, before the date and time

    cluster.set_topology_static(
        [TopologyRow("instance-1", False), TopologyRow("instance-2", False)]
    )
    proc = _check(dsn)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cluster    0 instances, 0 writers" in proc.stdout
    assert "note: the topology has no writer" in proc.stdout
    data = json.loads(_check(dsn, "--json").stdout)
    assert data["ok"] is False and data["topology"] == []
