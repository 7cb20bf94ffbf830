"""TLS with a custom CA (path or bytes), and the failure without it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import awsdb_e6data as e6
from awsdb_e6data.engine import Engine, EngineCertificates


@pytest.mark.parametrize("as_bytes", [False, True])
def test_tls_custom_ca(
    tls_engine: Engine, certs: tuple[EngineCertificates, Path], as_bytes: bool
) -> None:
    material, ca_path = certs
    assert tls_engine.tls_port
    ca: Any = material.ca_pem if as_bytes else str(ca_path)
    with e6.connect(
        "localhost",
        tls_engine.tls_port,
        "user",
        "secret",
        catalog="e6data",
        secure=True,
        ssl_cert=ca,
    ) as conn:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM sample")
        assert cur.fetchall() == [(5,)]
    with e6.connect(
        "127.0.0.1",
        tls_engine.tls_port,
        "user",
        "secret",
        catalog="e6data",
        secure=True,
        ssl_cert=ca,
    ) as conn:  # SAN IP:127.0.0.1
        assert conn.get_tables(database="main") == ["sample"]


def test_tls_without_the_ca_fails_cleanly(tls_engine: Engine) -> None:
    assert tls_engine.tls_port
    with e6.connect(
        "localhost", tls_engine.tls_port, "user", "secret", secure=True, rpc_timeout=3
    ) as conn:
        with pytest.raises(e6.OperationalError) as err:
            conn.cursor().execute("SELECT 1")
        assert not isinstance(err.value, e6.ClusterSuspendedError)


def test_missing_ca_file() -> None:
    with pytest.raises(e6.InterfaceError):
        e6.connect("localhost", 1, "user", "secret", secure=True, ssl_cert="/nonexistent/ca.pem")


def test_tls_system_trust_store(tls_engine: Engine, certs: tuple[EngineCertificates, Path]) -> None:
    import os
    import subprocess
    import sys

    _, ca_path = certs
    script = (
        "import awsdb_e6data as e6\n"
        f"c = e6.connect('localhost', {tls_engine.tls_port}, 'user', 'secret', secure=True,"
        " catalog='e6data')\n"
        "cur = c.cursor(); cur.execute('SELECT 5'); print(cur.fetchall())\n"
    )
    # gRPC's system-store path reads this variable: the test CA plays the system store.
    env = dict(os.environ, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=str(ca_path))
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[(5,)]"
