"""Fixtures come from awsdb-testing's pytest plugin (emulated clusters on loopback)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import awsdb
from awsdb_testing.pg import PgCluster

if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
    pytest_plugins = ["awsdb_testing.pytest_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers when the tests run outside the repository's config."""
    config.addinivalue_line("markers", "pg: needs PostgreSQL")
    config.addinivalue_line("markers", "mysql: needs MariaDB")


@pytest.fixture(autouse=True)
def _fresh_services() -> Iterator[None]:
    """Every test starts and ends without awsdb monitors, pools or caches."""
    awsdb.release_resources()
    yield
    awsdb.release_resources()


@pytest.fixture
def cluster(fresh_pg_cluster: PgCluster) -> Iterator[PgCluster]:
    """A fresh emulated Aurora PostgreSQL cluster with its host names installed.

    The monitors stop before the names go and the servers are restored: a probe left
    running would otherwise ask the system resolver for names it cannot answer."""
    with fresh_pg_cluster.names_installed():
        yield fresh_pg_cluster
        awsdb.release_resources()
