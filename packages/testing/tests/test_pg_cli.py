"""``awsdb cluster ...`` through a real keeper process, and ``awsdb demo --no-live``."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from rich.console import Console

from awsdb_testing._procs import get_registry, pid_alive, wait_pid_gone
from awsdb_testing.cli import register_cluster, register_demo
from awsdb_testing.demo import PlainPsycopgClient, run_demo

pytestmark = pytest.mark.pg


def _cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWSDB_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "awsdb_testing.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_register_adds_commands() -> None:
    parser = argparse.ArgumentParser(prog="awsdb")
    sub = parser.add_subparsers(dest="command", required=True)
    register_cluster(sub)
    register_demo(sub)
    args = parser.parse_args(["cluster", "failover", "--target", "instance-2", "--stop"])
    assert (args.cluster_command, args.target, args.stop) == ("failover", "instance-2", True)
    assert callable(args.func)
    args = parser.parse_args(["demo", "--no-live"])
    assert args.no_live is True and callable(args.func)


def test_cluster_up_failover_fault_down(
    tmp_path: Path, pg_binaries: object, awsdb_leak_check: None
) -> None:
    state = tmp_path / "state"
    up = _cli(state, "cluster", "up", "--engine", "pg")
    assert up.returncode == 0, up.stderr + up.stdout
    info = json.loads((state / "pg.json").read_text())
    keeper = int(info["keeper_pid"])
    pids = list(info["pids"].values())
    base = Path(info["base_dir"])
    get_registry().register(keeper, "awsdb cluster keeper (pg)")  # exit-time safety net
    try:
        assert info["writer"] == "instance-1" and len(pids) == 3
        assert base.is_dir()
        proxies = info["proxies"]
        assert sorted(proxies) == [
            "instance-1",
            "instance-2",
            "instance-3",
            "reader-endpoint",
            "writer-endpoint",
        ]
        assert all(pid_alive(p) for p in pids)  # servers outlive the `up` command
        status = json.loads(_cli(state, "cluster", "status", "--json").stdout)
        assert status["readers"] == ["instance-2", "instance-3"]
        fo = _cli(state, "cluster", "failover", "--target", "instance-3", "--json")
        assert fo.returncode == 0, fo.stderr
        report = json.loads(fo.stdout)
        assert (report["old_writer"], report["new_writer"]) == ("instance-1", "instance-3")
        rejoin = _cli(state, "cluster", "fault", "rejoin", "instance-1")
        assert rejoin.returncode == 0 and "rewind" in rejoin.stdout, rejoin.stderr
        status = json.loads(_cli(state, "cluster", "status", "--json").stdout)
        assert status["writer"] == "instance-3"
        assert sorted(status["readers"]) == ["instance-1", "instance-2"]
        # the writer endpoint proxy followed the failover
        assert _instance(status["proxies"]["writer-endpoint"]) == "instance-3"
        # proxy faults: the node's fault proxy
        assert _cli(state, "cluster", "fault", "refuse", "instance-2").returncode == 0
        with pytest.raises(psycopg.OperationalError, match="Connection refused"):
            _instance(proxies["instance-2"])
        assert _cli(state, "cluster", "fault", "heal", "instance-2").returncode == 0
        assert _instance(proxies["instance-2"]) == "instance-2"
        bad = _cli(state, "cluster", "fault", "blackhole", "instance-9")
        assert bad.returncode != 0 and "no node 'instance-9'" in bad.stderr
        pids = list(status["pids"].values())
    finally:
        down = _cli(state, "cluster", "down")
    assert down.returncode == 0, down.stderr
    assert wait_pid_gone(keeper, 30)
    get_registry().unregister(keeper)
    assert not any(pid_alive(p) for p in pids)
    assert not (state / "pg.json").exists()
    assert not base.exists()


def _instance(address: str) -> str:
    host, port = address.rsplit(":", 1)
    with psycopg.connect(
        host=host, port=int(port), user="app", dbname="app", connect_timeout=5
    ) as conn:
        row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
    assert row is not None
    return str(row[0])


def test_demo_plain_output_recovers(pg_binaries: object, awsdb_leak_check: None) -> None:
    out = io.StringIO()
    client = PlainPsycopgClient()
    code = run_demo(
        live=False,
        before_s=0.5,
        dns_ttl_s=0.5,
        timeout_s=20,
        clients=[client],
        console=Console(file=out, width=120),
    )
    text = out.getvalue()
    assert code == 0, text
    assert "kill -9 writer instance-1" in text
    assert "DNS: writer endpoint -> 127.0.0.1" in text
    assert client.stats.first_error_after_kill is not None
    assert client.stats.first_write_after_kill is not None
    assert client.stats.ok > 0
