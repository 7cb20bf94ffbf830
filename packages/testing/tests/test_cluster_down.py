"""``awsdb cluster down`` returns only once every server process of the cluster is gone.

"Gone" means gone from the process table: ``kill(pid, 0)`` fails with ``ESRCH``. An exited
but unreaped process (a zombie) still counts, so these tests catch servers whose children
were orphaned and left for PID 1 to reap at its leisure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from awsdb_testing._procs import descendants_of, get_registry, wait_pid_gone
from awsdb_testing.pytest_plugin import in_ci


def _cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWSDB_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "awsdb_testing.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _start_time(pid: int) -> str | None:
    """Field 22 of ``/proc/<pid>/stat`` (tells a reused PID from the original process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _server_processes(info: dict[str, object]) -> dict[int, str | None]:
    """Every server process of the cluster: the servers and all their descendants."""
    pids = info["pids"]
    assert isinstance(pids, dict)
    out: dict[int, str | None] = {}
    for pid in pids.values():
        for proc in (int(pid), *descendants_of(int(pid))):
            out[proc] = _start_time(proc)
    return out


def _still_present(procs: dict[int, str | None]) -> list[int]:
    present = []
    for pid, started in procs.items():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        if _start_time(pid) == started:  # not a new process that got the same PID
            present.append(pid)
    return present


def _up_down(tmp_path: Path, engine: str, *, crash_keeper: bool = False) -> None:
    state = tmp_path / "state"
    up = _cli(state, "cluster", "up", "--engine", engine)
    assert up.returncode == 0, up.stderr + up.stdout
    info = json.loads((state / f"{engine}.json").read_text())
    keeper = int(info["keeper_pid"])
    get_registry().register(keeper, f"awsdb cluster keeper ({engine})")  # exit-time safety net
    try:
        procs = _server_processes(info)
        assert len(procs) >= 3
        if crash_keeper:  # `down` must then stop the orphaned servers itself
            os.kill(keeper, signal.SIGKILL)
            assert wait_pid_gone(keeper, 30)
    finally:
        down = _cli(state, "cluster", "down", "--engine", engine)
    assert down.returncode == 0, down.stderr + down.stdout
    assert _still_present(procs) == []
    assert f"{engine} cluster stopped" in down.stdout
    assert wait_pid_gone(keeper, 30)
    get_registry().unregister(keeper)
    assert not (state / f"{engine}.json").exists() and not (state / f"{engine}.sock").exists()
    assert not Path(info["base_dir"]).exists()


@pytest.mark.pg
def test_pg_down_waits_for_every_server_process(
    tmp_path: Path, pg_binaries: object, awsdb_leak_check: None
) -> None:
    _up_down(tmp_path, "pg")


@pytest.mark.pg
def test_pg_down_stops_the_servers_of_a_dead_keeper(
    tmp_path: Path, pg_binaries: object, awsdb_leak_check: None
) -> None:
    _up_down(tmp_path, "pg", crash_keeper=True)


@pytest.mark.mysql
def test_mysql_down_waits_for_every_server_process(tmp_path: Path, awsdb_leak_check: None) -> None:
    from awsdb_testing.mysql.fixtures import mariadb_missing_reason

    reason = mariadb_missing_reason()
    if reason is not None:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    _up_down(tmp_path, "mysql")
