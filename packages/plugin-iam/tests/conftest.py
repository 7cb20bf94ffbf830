"""Fixtures: fixed AWS credentials and clock, moto in server mode, a TLS identity provider
and a PostgreSQL node, all on loopback and started by the tests themselves."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _iamtest_support import ACCESS_KEY, FROZEN, SECRET_KEY, in_ci

import awsdb


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers when the tests run outside the repository's config."""
    for marker in ("pg: needs PostgreSQL", "mysql: needs MariaDB"):
        config.addinivalue_line("markers", marker)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Fixed static credentials, no profile files, no instance metadata; fresh awsdb state."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    awsdb.release_resources()
    yield
    awsdb.release_resources()


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Freeze botocore's signing clock, so that a token is a pure function of its inputs."""
    import botocore.auth

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: FROZEN)
    return FROZEN


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode on 127.0.0.1 (a free port): Secrets Manager, STS, RDS APIs."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_node(awsdb_leak_check: None) -> Iterator[Any]:
    """A single-node emulated Aurora PostgreSQL whose test roles need a password (stopped
    before the harness's session leak check runs)."""
    from _iamtest_servers import PgAuthNode

    try:
        node = PgAuthNode.start()
    except Exception as exc:  # pragma: no cover - environment without PostgreSQL
        if in_ci():
            raise
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield node
    finally:
        node.close()


@pytest.fixture(scope="session")
def idp_certs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A CA and a server certificate for 127.0.0.1 (and an untrusted second CA)."""
    from _iamtest_certs import make_certs

    return make_certs(tmp_path_factory.mktemp("idp-certs"))


@pytest.fixture
def idp(idp_certs: Any) -> Iterator[Any]:
    """The loopback identity provider (ADFS and Okta endpoints over TLS)."""
    from _iamtest_idp import IdentityProvider

    with IdentityProvider(idp_certs.server_cert, idp_certs.server_key) as server:
        yield server
