"""Nothing starts at import; threads, sockets and connections return to baseline."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from typing import Any

import psycopg

import awsdb

TAG = "awsdb-leak-check"


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_import_starts_no_thread_and_reads_no_entry_points() -> None:
    code = (
        "import threading, sys, time\n"
        "t = time.perf_counter()\n"
        "import awsdb\n"
        "print(threading.active_count(), 'importlib.metadata' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    threads, _ = out.stdout.split()
    assert threads == "1"


def test_connections_threads_and_fds_return_to_baseline(pg_server: Any) -> None:
    awsdb.release_resources()
    gc.collect()
    threads, fds = threading.active_count(), _fds()
    for plugins in ("", "execute_time,connect_time,dev"):
        for _ in range(5):
            with awsdb.connect(
                psycopg.Connection.connect, pg_server.dsn, plugins=plugins, application_name=TAG
            ) as c:
                c.cursor().execute("SELECT 1").fetchall()
    conn = awsdb.connect(
        psycopg.Connection.connect, pg_server.dsn, plugins="execute_time", application_name=TAG
    )
    conn.close()
    awsdb.release_resources()
    gc.collect()
    assert threading.active_count() == threads
    assert _fds() == fds
    with psycopg.connect(pg_server.dsn) as raw:
        (n,) = raw.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (TAG,)
        ).fetchone() or (0,)
    assert n == 0


def test_release_resources_runs_registered_releases() -> None:
    from awsdb._service import get_services

    released: list[str] = []
    get_services().add_resource(lambda: released.append("monitor"))
    awsdb.release_resources()
    awsdb.release_resources()
    assert released == ["monitor"]
