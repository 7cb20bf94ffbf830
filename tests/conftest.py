"""Fixtures of the repository-level tests (cross-package, built wheels)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packages" / "core" / "tests"))

from _servers import Server, postgres_server


@pytest.fixture(scope="session")
def pg_single() -> Iterator[Server]:
    """A single PostgreSQL node for the session."""
    with postgres_server() as server:
        yield server
