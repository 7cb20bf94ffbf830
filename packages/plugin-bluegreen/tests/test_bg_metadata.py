"""Each side's status read through the core dialects from the emulated deployments'
metadata (Aurora PostgreSQL function, RDS PostgreSQL rds_tools, MySQL mysql.rds_topology)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
import pytest

from awsdb.dialects.mysql import AuroraMysqlDialect
from awsdb.dialects.pg import AuroraPgDialect, PgDialect, RdsPgDialect
from awsdb_bluegreen import (
    BlueGreenError,
    Endpoint,
    Phase,
    PhaseTracker,
    Role,
    read_side,
    require_side,
)
from awsdb_testing.mysql import MySQLBlueGreen
from awsdb_testing.mysql._sql import APP_USER
from awsdb_testing.mysql.fixtures import mariadb_missing_reason
from awsdb_testing.pg.bluegreen import PgBlueGreen

Query = Callable[[str, Sequence[object] | None], list[tuple[object, ...]]]


def _pg_query(conn: psycopg.Connection[Any]) -> Query:
    def run(sql: str, params: Sequence[object] | None) -> list[tuple[object, ...]]:
        return list(conn.execute(sql, params).fetchall())

    return run


@pytest.mark.pg
@pytest.mark.parametrize(
    ("flavor", "dialect", "octet"),
    [("aurora-pg", AuroraPgDialect(), 111), ("rds-pg", RdsPgDialect(), 131)],
)
def test_pg_sides_and_tracker(
    awsdb_leak_check: None, pg_binaries: Any, flavor: str, dialect: PgDialect, octet: int
) -> None:
    with PgBlueGreen(flavor=flavor, blue_first_octet=octet, green_first_octet=octet + 10) as bg:
        green = bg.green
        assert green is not None
        port = bg.blue.nodes[0].port
        tracker = PhaseTracker(180.0)
        with (
            psycopg.connect(**bg.blue.app_conninfo_kwargs(1), autocommit=True) as bconn,
            psycopg.connect(**green.app_conninfo_kwargs(1), autocommit=True) as gconn,
        ):
            blue_q, green_q = _pg_query(bconn), _pg_query(gconn)
            blue = read_side(dialect, blue_q, Role.SOURCE)
            assert blue is not None and blue.phase is Phase.CREATED
            assert blue.status_endpoint == Endpoint(bg.blue_names.writer_endpoint, port)
            assert Endpoint(bg.green_names.writer_endpoint, port) not in blue.endpoints
            side = read_side(dialect, green_q, Role.TARGET)
            assert side is not None
            assert side.status_endpoint == Endpoint(bg.green_names.writer_endpoint, port)
            tracker.report(Role.SOURCE, blue.phase)

            # green starts the switchover first, then rolls back: recognised from green
            bg.set_status("SWITCHOVER_INITIATED", side="green")
            side = read_side(dialect, green_q, Role.TARGET)
            assert side is not None and side.phase is Phase.PREPARATION
            assert tracker.report(Role.TARGET, side.phase) is Phase.PREPARATION
            bg.set_status("AVAILABLE", side="green")
            side = read_side(dialect, green_q, Role.TARGET)
            assert side is not None
            assert tracker.report(Role.TARGET, side.phase) is Phase.CREATED
            assert tracker.rolled_back

            # metadata disappearing: no rows for the side is NOT_CREATED, not a rollback
            bg.set_status("SWITCHOVER_IN_PROGRESS")
            tracker.report(Role.SOURCE, Phase.IN_PROGRESS)
            bg.drop_metadata(side="green")
            side = read_side(dialect, green_q, Role.TARGET)
            assert side is not None and side.phase is Phase.NOT_CREATED
            assert tracker.report(Role.TARGET, side.phase) is Phase.IN_PROGRESS


@pytest.mark.pg
def test_pg_without_deployment(awsdb_leak_check: None, pg_cluster: Any) -> None:
    with psycopg.connect(**pg_cluster.app_conninfo_kwargs(1), autocommit=True) as conn:
        query = _pg_query(conn)
        # the function exists but returns no rows: no deployment
        side = read_side(AuroraPgDialect(), query, Role.SOURCE)
        assert side is not None and side.phase is Phase.NOT_CREATED and not side.endpoints
        # a dialect without a blue/green metadata source
        assert read_side(PgDialect(), query, Role.SOURCE) is None


@pytest.fixture(scope="module")
def mysql_bg(awsdb_leak_check: None) -> Iterator[MySQLBlueGreen]:
    reason = mariadb_missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    with MySQLBlueGreen(nodes=1) as deployment:
        yield deployment


@pytest.mark.mysql
def test_mysql_sides(mysql_bg: MySQLBlueGreen) -> None:
    green = mysql_bg.green
    assert green is not None
    conn = green.connect_app(green.nodes[0].instance_id, autocommit=True)
    try:

        def query(sql: str, params: Sequence[object] | None) -> list[tuple[object, ...]]:
            cur = conn.cursor()
            cur.execute(sql, params)
            return list(cur.fetchall())

        side = read_side(AuroraMysqlDialect(), query, Role.TARGET)
        assert side is not None and side.phase is Phase.CREATED
        assert side.status_endpoint is not None
        assert side.status_endpoint.host == green.writer_endpoint.lower()
        mysql_bg.set_status("SWITCHOVER_IN_POST_PROCESSING", side="green")
        side = read_side(AuroraMysqlDialect(), query, Role.TARGET)
        assert side is not None and side.phase is Phase.POST
        assert (
            Endpoint(mysql_bg.blue.writer_endpoint, mysql_bg.blue.port)
            in (
                read_side(AuroraMysqlDialect(), query, Role.SOURCE) or pytest.fail("no metadata")
            ).endpoints
        )
    finally:
        conn.close()


@pytest.mark.mysql
def test_mysql_grants_missing_on_green_is_a_clear_error(mysql_bg: MySQLBlueGreen) -> None:
    green = mysql_bg.green
    assert green is not None
    node = green.nodes[0].instance_id
    root = green.superuser_connect(node)
    try:
        cur = root.cursor()
        cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute(f"REVOKE SELECT ON mysql.rds_topology FROM '{APP_USER}'@'%'")
        conn = green.connect_app(node, autocommit=True)
        try:

            def query(sql: str, params: Sequence[object] | None) -> list[tuple[object, ...]]:
                c = conn.cursor()
                c.execute(sql, params)
                return list(c.fetchall())

            with pytest.raises(
                BlueGreenError, match=re.escape("GRANT SELECT ON mysql.rds_topology")
            ):
                require_side(AuroraMysqlDialect(), query, Role.TARGET)
        finally:
            conn.close()
    finally:
        cur.execute(f"GRANT SELECT ON mysql.rds_topology TO '{APP_USER}'@'%'")
        root.close()
