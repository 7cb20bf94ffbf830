"""Fixtures of the core's tests: real single-node servers started by the suite."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _servers import Server, mariadb_server, postgres_server


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers when the core's tests run outside the repository's config."""
    for marker in ("pg: needs PostgreSQL", "mysql: needs MariaDB"):
        config.addinivalue_line("markers", marker)


def _unavailable(what: str, exc: Exception) -> None:
    # Under CI a missing engine fails the run instead of silently skipping tests.
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        raise exc
    pytest.skip(f"{what} unavailable: {exc}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """A PostgreSQL server for the whole session (user ``app`` on database ``appdb``)."""
    try:
        cm = postgres_server()
        server = cm.__enter__()
    except RuntimeError as exc:
        _unavailable("PostgreSQL", exc)
        raise
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[Server]:
    """A MariaDB server for the whole session (user ``app`` on database ``appdb``)."""
    try:
        cm = mariadb_server()
        server = cm.__enter__()
    except RuntimeError as exc:
        _unavailable("MariaDB", exc)
        raise
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _fresh_services() -> Iterator[None]:
    """Each test starts and ends without awsdb process services (no state leaks)."""
    import awsdb

    awsdb.release_resources()
    yield
    awsdb.release_resources()
