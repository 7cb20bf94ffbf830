"""``awsdb cluster ... --engine mysql`` for real, through the ``awsdb`` command's ``main``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mysql.connector
import pytest
from mysql.connector import errors

from awsdb.cli import main as awsdb_main
from awsdb_testing._procs import get_registry, pid_alive, wait_pid_gone
from awsdb_testing.pytest_plugin import in_ci

pytestmark = pytest.mark.mysql


def _awsdb(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    code = awsdb_main(list(args))
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def _connect(address: str, **kw: Any) -> Any:
    host, port = address.rsplit(":", 1)
    return mysql.connector.connect(
        host=host,
        port=int(port),
        user="app",
        password="app",
        database="appdb",
        use_pure=True,
        autocommit=True,
        **kw,
    )


def _server_id(address: str, **kw: Any) -> str:
    conn = _connect(address, **kw)
    try:
        cur = conn.cursor()
        cur.execute("SELECT @@aurora_server_id")  # rewritten by the proxy
        return str(cur.fetchall()[0][0])
    finally:
        conn.close()


def test_cluster_cli_mysql_up_status_fault_failover_down(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    awsdb_leak_check: None,
) -> None:
    from awsdb_testing.mysql.fixtures import mariadb_missing_reason

    reason = mariadb_missing_reason()
    if reason is not None:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    state = tmp_path / "state"
    monkeypatch.setenv("AWSDB_STATE_DIR", str(state))
    out = _awsdb(capsys, "cluster", "up", "--engine", "mysql")
    assert "mysql cluster up in" in out and "instance-1" in out
    info = json.loads((state / "mysql.json").read_text())
    keeper = int(info["keeper_pid"])
    pids: dict[str, int] = info["pids"]
    base = Path(info["base_dir"])
    # the exit-time safety net kills the keeper and its servers if this test dies
    get_registry().register(keeper, "awsdb cluster keeper (mysql)")
    try:
        assert base.is_dir()
        assert sorted(pids) == ["instance-1", "instance-2", "instance-3"]
        assert all(pid_alive(p) for p in pids.values())  # servers outlive `up`
        assert info["writer"] == "instance-1"
        assert info["readers"] == ["instance-2", "instance-3"]
        proxies: dict[str, str] = info["proxies"]
        assert _server_id(proxies["instance-2"]) == "instance-2"

        status = json.loads(_awsdb(capsys, "cluster", "status", "--engine", "mysql", "--json"))
        assert status["writer"] == "instance-1" and status["pids"] == pids
        table = _awsdb(capsys, "cluster", "status", "--engine", "mysql")
        assert "writer" in table and "fault proxy" in table and proxies["instance-1"] in table

        # proxy faults go to the node's rewriting proxy
        _awsdb(capsys, "cluster", "fault", "--engine", "mysql", "blackhole", "instance-2")
        with pytest.raises(errors.ConnectionTimeoutError):
            _connect(proxies["instance-2"], connection_timeout=1)
        _awsdb(capsys, "cluster", "fault", "--engine", "mysql", "heal", "2")
        assert _server_id(proxies["instance-2"]) == "instance-2"
        _awsdb(capsys, "cluster", "fault", "--engine", "mysql", "refuse", "instance-3")
        with pytest.raises(errors.InterfaceError, match="Connection refused"):
            _connect(proxies["instance-3"], connection_timeout=2)
        _awsdb(capsys, "cluster", "fault", "--engine", "mysql", "heal", "instance-3")
        # node faults go to the controller
        conn = _connect(proxies["instance-3"], read_timeout=1)
        cur = conn.cursor()
        _awsdb(capsys, "cluster", "fault", "--engine", "mysql", "pause", "instance-3")
        with pytest.raises(errors.ReadTimeoutError):
            cur.execute("SELECT 1")
        _awsdb(capsys, "cluster", "fault", "--engine", "mysql", "resume", "instance-3")
        assert _server_id(proxies["instance-3"]) == "instance-3"

        fo = json.loads(
            _awsdb(
                capsys, "cluster", "failover", "--engine", "mysql", "--target", "instance-3",
                "--json",
            )
        )  # fmt: skip
        assert (fo["old_writer"], fo["new_writer"], fo["method"]) == (
            "instance-1",
            "instance-3",
            "kill",
        )
        assert {"killed", "promoted", "writable", "converged", "replicated"} <= set(fo["steps"])
        out = _awsdb(capsys, "cluster", "fault", "--engine", "mysql", "rejoin", "instance-1")
        assert "rejoin instance-1: done" in out
        status = json.loads(_awsdb(capsys, "cluster", "status", "--engine", "mysql", "--json"))
        assert status["writer"] == "instance-3"
        assert sorted(status["readers"]) == ["instance-1", "instance-2"]
        writer_name = next(k for k in status["host_map"] if ".cluster-" in k and "-ro-" not in k)
        assert status["host_map"][writer_name] == proxies["instance-3"].split(":")[0]
        pids = status["pids"]

        capsys.readouterr()
        assert awsdb_main(["cluster", "up", "--engine", "mysql"]) == 1
        assert "already running" in capsys.readouterr().out
    finally:
        out = _awsdb(capsys, "cluster", "down", "--engine", "mysql")
    assert "mysql cluster stopped" in out
    assert wait_pid_gone(keeper, 30)
    get_registry().unregister(keeper)
    assert not any(pid_alive(p) for p in pids.values())
    assert not (state / "mysql.json").exists() and not (state / "mysql.sock").exists()
    assert not base.exists()
