"""Fixtures: the shared PostgreSQL and MariaDB clusters of awsdb-testing, each node behind
a userspace fault proxy of this test module's own, and fresh awsdb process state."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import awsdb
from awsdb_testing.proxy import FaultProxy


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers when the tests run outside the repository's config."""
    for marker in ("pg: needs PostgreSQL", "mysql: needs MariaDB", "slow: long-running"):
        config.addinivalue_line("markers", marker)


@pytest.fixture(autouse=True)
def fresh_awsdb() -> Iterator[None]:
    """Every test starts and ends with no awsdb process state (monitors stopped)."""
    awsdb.release_resources()
    yield
    awsdb.release_resources()


def _proxies(targets: list[tuple[str, int]]) -> Iterator[list[FaultProxy]]:
    proxies = [FaultProxy(t, name="efm-test").start() for t in targets]
    try:
        yield proxies
    finally:
        for proxy in proxies:
            proxy.stop()


@pytest.fixture
def pg_hosts(pg_cluster: Any) -> Iterator[list[FaultProxy]]:
    """One fault proxy in front of each node of the shared PostgreSQL cluster."""
    yield from _proxies([(n.host, n.port) for n in pg_cluster.nodes])


@pytest.fixture
def mdb_hosts(mdb_cluster: Any) -> Iterator[list[FaultProxy]]:
    """One fault proxy in front of each MariaDB server (not through the cluster's own)."""
    yield from _proxies([mdb_cluster.server_address(i + 1) for i in range(len(mdb_cluster.nodes))])
