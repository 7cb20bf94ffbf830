"""Fixtures come from awsdb-testing's pytest plugin (emulated clusters on loopback)."""

from __future__ import annotations

import os

import pytest

if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
    pytest_plugins = ["awsdb_testing.pytest_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers when the tests run outside the repository's config."""
    config.addinivalue_line("markers", "pg: needs PostgreSQL")
    config.addinivalue_line("markers", "mysql: needs MariaDB")
