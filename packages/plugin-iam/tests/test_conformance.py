"""The ``iam`` plugin passes awsdb-testing's plugin conformance suite (fake driver, and a
real PostgreSQL whose role's password is the exact token)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from _iamtest_support import expected_token

from awsdb_testing.conformance import PluginConformance, RealTarget


class TestIamConformance(PluginConformance):
    plugin = "iam"
    conninfo = "host=db.cluster-c9abc.us-east-1.rds.amazonaws.com port=5432 user=app dbname=app"
    changes_arguments = frozenset({"connect", "force_connect"})  # the token as password

    def real_target(self, request: pytest.FixtureRequest) -> RealTarget | None:
        request.getfixturevalue("frozen_clock")
        node: Any = request.getfixturevalue("pg_node")
        node.set_password("iam_conf", expected_token(node.name, node.port, "iam_conf", "us-east-1"))
        return RealTarget(
            psycopg.Connection.connect,
            f"host={node.name} port={node.port} user=iam_conf dbname=app",
            {"hostaddr": node.cluster.node(1).host},
        )

    @pytest.mark.pg
    def test_real_driver_pass_through(self, request: pytest.FixtureRequest) -> None:
        super().test_real_driver_pass_through(request)
