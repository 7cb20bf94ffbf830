"""Importing the connector starts nothing and needs neither awsdb nor DuckDB."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys, threading
import awsdb_e6data, awsdb_e6data.engine
assert threading.active_count() == 1, threading.enumerate()
for heavy in ("awsdb", "duckdb", "thrift", "e6data_python_connector", "numpy", "sqlalchemy"):
    assert heavy not in sys.modules, heavy
assert "awsdb_e6data.aio" not in sys.modules  # the asyncio API loads on first access
assert "AsyncConnection" in dir(awsdb_e6data)
assert awsdb_e6data.AsyncConnection.__module__ == "awsdb_e6data.aio"
assert threading.active_count() == 1, threading.enumerate()
print("ok")
"""


def test_import_is_inert() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
