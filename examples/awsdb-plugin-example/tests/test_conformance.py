"""The example plugin passes awsdb-testing's plugin conformance suite.

This is how a third-party plugin distribution uses the suite: subclass
``PluginConformance``, name the plugin code, and optionally give a real driver target.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from awsdb_testing.conformance import PluginConformance, RealTarget


def _pg_target(request: pytest.FixtureRequest) -> RealTarget:
    cluster: Any = request.getfixturevalue("pg_cluster")
    return RealTarget(psycopg.Connection.connect, cluster.app_dsn(cluster.writer()))


class TestStatementTagConformance(PluginConformance):
    plugin = "statement_tag"
    properties = {"statement_tag": "conformance"}
    changes_arguments = frozenset({"Cursor.execute"})

    def real_target(self, request: pytest.FixtureRequest) -> RealTarget | None:
        return _pg_target(request)

    @pytest.mark.pg
    def test_real_driver_pass_through(self, request: pytest.FixtureRequest) -> None:
        super().test_real_driver_pass_through(request)
