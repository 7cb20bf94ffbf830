"""Importing the connector starts nothing and needs neither awsdb nor DuckDB."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys, threading
import awsdb_e6data, awsdb_e6data.engine
assert threading.active_count() == 1, threading.enumerate()
for heavy in ("awsdb", "duckdb", "thrift", "e6data_python_connector", "numpy"):
    assert heavy not in sys.modules, heavy
print("ok")
"""


def test_import_is_inert() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
