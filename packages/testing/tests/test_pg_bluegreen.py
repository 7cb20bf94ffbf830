"""Blue/green metadata and phases on two real clusters (aurora-pg and rds-pg forms)."""

from __future__ import annotations

import time

import psycopg
import pytest

from awsdb import rds
from awsdb.resolver import get_resolver
from awsdb_testing.pg.bluegreen import PHASES, SOURCE, TARGET, PgBlueGreen

pytestmark = pytest.mark.pg

BG_EXISTS = "SELECT 'pg_catalog.get_blue_green_fast_switchover_metadata'::pg_catalog.regproc"
BG_STATUS = (
    "SELECT version, endpoint, port, role, status FROM "
    "pg_catalog.get_blue_green_fast_switchover_metadata('aws_advanced_python_wrapper-1.0.0')"
)


def _wait_read_only(bg: PgBlueGreen, expect: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        with psycopg.connect(**bg.blue.app_conninfo_kwargs(1)) as conn:
            row = conn.execute("SHOW default_transaction_read_only").fetchone()
        if row == (expect,):
            return
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_aurora_blue_green_phases(awsdb_leak_check: None) -> None:
    with PgBlueGreen(blue_first_octet=71, green_first_octet=81) as bg:
        green = bg.green
        assert green is not None
        with psycopg.connect(**green.app_conninfo_kwargs(2), autocommit=True) as conn:
            assert conn.execute(BG_EXISTS).fetchone() is not None
            rows = conn.execute(BG_STATUS).fetchall()
        assert {r[0] for r in rows} == {"1.0"}
        assert {r[4] for r in rows} == {"AVAILABLE"}
        roles = {r[1]: r[3] for r in rows}
        assert roles[bg.blue_names.writer_endpoint] == SOURCE
        assert roles[bg.green_names.writer_endpoint] == TARGET
        for name in roles:
            assert rds.classify(name).name in (
                "RDS_WRITER_CLUSTER",
                "RDS_READER_CLUSTER",
                "RDS_INSTANCE",
            )
        green_instances = [n for n, r in roles.items() if r == TARGET and ".cluster-" not in n]
        assert all(rds.is_green_host(n) for n in green_instances)

        # the two sides disagree while the controller moves them one by one
        bg.set_status("SWITCHOVER_INITIATED", side="blue")
        assert {r[4] for r in bg.status_rows("blue", 1)} == {"SWITCHOVER_INITIATED"}
        assert {r[4] for r in bg.status_rows("green", 1)} == {"AVAILABLE"}

        bg.install_names()
        blue_writer = bg.blue_names.writer_endpoint
        assert get_resolver().override(blue_writer) == "127.0.0.71"

        bg.switchover(stop_at="SWITCHOVER_IN_PROGRESS")
        assert {r[4] for r in bg.status_rows("green", 2)} == {"SWITCHOVER_IN_PROGRESS"}
        _wait_read_only(bg, "on")
        with (
            psycopg.connect(**bg.blue.app_conninfo_kwargs(1), autocommit=True) as conn,
            pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
        ):
            conn.execute("INSERT INTO t (v) VALUES ('blocked')")

        bg.switchover(stop_at="SWITCHOVER_IN_POST_PROCESSING")
        assert get_resolver().override(blue_writer) == "127.0.0.81"  # blue name -> green
        old1 = [n for n, r in bg.host_map().items() if "-old1." in n]
        assert old1 and all(rds.is_old_blue_host(n) for n in old1)
        rows = bg.status_rows("blue", 1)
        assert all("-old1." in r[1] for r in rows if r[3] == SOURCE)
        assert get_resolver().override(bg.green_names.writer_endpoint) == "127.0.0.81"

        bg.switchover()
        assert bg.phase == PHASES[-1]
        assert get_resolver().override(bg.green_names.writer_endpoint) is None
        assert {r[4] for r in bg.status_rows("green", 1)} == {"SWITCHOVER_COMPLETED"}

        # metadata disappearing mid-way, then a rollback
        bg.drop_metadata(side="blue")
        assert bg.status_rows("blue", 1) == []
        bg.rollback()
        _wait_read_only(bg, "off")
        assert get_resolver().override(blue_writer) == "127.0.0.71"
        assert {r[4] for r in bg.status_rows("blue", 2)} == {"AVAILABLE"}
    assert get_resolver().override(blue_writer) is None


def test_rds_pg_blue_green_metadata(awsdb_leak_check: None) -> None:
    with PgBlueGreen(nodes=1, flavor="rds-pg", blue_first_octet=91, green_first_octet=95) as bg:
        with psycopg.connect(**bg.blue.app_conninfo_kwargs(1), autocommit=True) as conn:
            assert (
                conn.execute("SELECT 'rds_tools.show_topology'::pg_catalog.regproc").fetchone()
                is not None
            )
            rows = conn.execute(
                "SELECT version, endpoint, port, role, status FROM "
                "rds_tools.show_topology('aws_advanced_python_wrapper-1.0.0')"
            ).fetchall()
        assert {r[3] for r in rows} == {SOURCE, TARGET}
        assert {r[4] for r in rows} == {"AVAILABLE"}
