"""Process, port and leak utilities (real processes and sockets) and binary discovery."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from awsdb_testing._procs import (
    ProcessRegistry,
    allocate_loopback_block,
    descendants_of,
    kill_tree,
    leak_report,
    pid_alive,
    port_is_free,
    start_ticks,
)
from awsdb_testing.pg import PgBinariesNotFoundError, find_pg_binaries


def test_kill_tree_kills_children_by_pid() -> None:
    proc = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"])
    deadline = time.monotonic() + 5
    while len(descendants_of(proc.pid)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    children = descendants_of(proc.pid)
    assert kill_tree(proc.pid)
    assert not pid_alive(proc.pid)
    assert not any(pid_alive(c) for c in children)
    assert leak_report([proc.pid, *children]) == []


def test_ports_in_use_are_detected() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        with pytest.raises(OSError):
            allocate_loopback_block(1, 1, port=port)
    block = allocate_loopback_block(3, 11)
    assert block.hosts == ("127.0.0.11", "127.0.0.12", "127.0.0.13")
    assert all(port_is_free(h, block.port) for h in block.hosts)


def test_leak_report_lists_live_pids_and_paths(tmp_path: Path) -> None:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        problems = leak_report([proc.pid], paths=[tmp_path])
        assert problems == [
            f"process {proc.pid} (sleep 60) is still alive",
            f"path {tmp_path} still exists",
        ]
    finally:
        kill_tree(proc.pid)


def test_a_reused_pid_is_not_ours() -> None:
    registry = ProcessRegistry()
    proc = subprocess.Popen(["sleep", "60"])
    try:
        registry.register(proc.pid, "sleep")
        assert registry.ours(proc.pid)
        started = start_ticks(proc.pid)
        assert started is not None
        # the same number, another start time: what the kernel's PID reuse looks like
        registry._starts[proc.pid] = started - 1
        assert not registry.ours(proc.pid)
        assert registry.kill_all() == []  # another program's process is never killed
        assert proc.poll() is None
    finally:
        kill_tree(proc.pid)
        proc.wait()
    assert not registry.ours(proc.pid)


@pytest.mark.pg
def test_atexit_safety_net_kills_servers(pg_binaries: object, tmp_path: Path) -> None:
    # a process that starts a cluster and exits without closing it leaves nothing behind
    script = textwrap.dedent(
        """
        import json, sys
        from awsdb_testing.pg import PgCluster
        c = PgCluster(nodes=2, first_octet=101).start()
        print(json.dumps({"pids": list(c.pids().values()), "base": str(c.base)}))
        sys.exit(3)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 3, proc.stderr
    import json

    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(info["pids"]) == 2
    assert leak_report(info["pids"], paths=[Path(info["base"])]) == []


def test_binary_discovery(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PGBIN", str(tmp_path))
    with pytest.raises(PgBinariesNotFoundError, match="PGBIN"):
        find_pg_binaries()
    monkeypatch.delenv("PGBIN")
    try:
        found = find_pg_binaries()
    except PgBinariesNotFoundError as exc:
        assert "apt-get install postgresql" in str(exc)
        return
    assert os.access(found.tool("postgres"), os.X_OK)
    assert found.major >= 13
    monkeypatch.setenv("PGBIN", str(found.bindir))
    assert find_pg_binaries().source == "PGBIN"


def test_netns_mode_says_why_it_cannot_run_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    from awsdb_testing import netns

    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # the module's os is the global one
    assert netns.netns_available() == (False, "network-namespace mode needs root")


def test_pg_cluster_rejects_a_network_smaller_than_the_cluster() -> None:
    from awsdb_testing.netns import NetnsNetwork
    from awsdb_testing.pg import PgClusterConfig

    with pytest.raises(ValueError, match="fewer namespaces"):
        PgClusterConfig(nodes=3, network=NetnsNetwork(2))  # nothing is created
