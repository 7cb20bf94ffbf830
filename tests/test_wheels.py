"""Built wheels: awsdb-core plus a third-party plugin distribution in a fresh environment.

The example plugin is discovered through its ``awsdb.plugins`` entry point and runs on a
real PostgreSQL connection — the path a user takes with ``pip install``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys, awsdb, psycopg
with awsdb.connect(psycopg.Connection.connect, sys.argv[1], plugins="statement_tag",
                   statement_tag="wheel-test") as conn:
    plugin = conn.plugin_service.plugins[0]
    cur = conn.cursor()
    cur.execute("SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()")
    (query,) = cur.fetchone()
    dist = conn.plugin_service.services.plugins.describe()
    info = [i for i in dist if i.code == "statement_tag"][0]
    print(type(plugin).__module__, plugin.tagged, query.startswith("/* wheel-test */"),
          info.distribution, info.version)
"""


@pytest.mark.timeout(600)
def test_core_wheel_with_example_plugin(pg_single: Any, tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    dist = tmp_path / "dist"
    for project in ("packages/core", "examples/awsdb-plugin-example"):
        subprocess.run(
            [uv, "build", "--wheel", "-q", "-o", str(dist), str(ROOT / project)],
            check=True,
            env=env,
            cwd=ROOT,
        )
    wheels = sorted(p.name for p in dist.glob("*.whl"))
    assert [w.split("-")[0] for w in wheels] == ["awsdb_core", "awsdb_plugin_example"]
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True, env=env)
    py = venv / "bin" / "python"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "--python",
            str(py),
            "--find-links",
            str(dist),
            *[str(p) for p in dist.glob("*.whl")],
            "psycopg[binary]",
        ],
        check=True,
        env=env,
    )
    out = subprocess.run(
        [str(py), "-c", SCRIPT, pg_single.dsn],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if k != "VIRTUAL_ENV"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "awsdb_plugin_example",
        "1",
        "True",
        "awsdb-plugin-example",
        "0.1.0",
    ]
