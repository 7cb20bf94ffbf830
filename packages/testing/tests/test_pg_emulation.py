"""The exact aurora-pg / rds-pg dialect SQL, as the non-superuser ``app`` over TCP."""

from __future__ import annotations

import psycopg
import pytest

from awsdb_testing.pg import PgCluster

pytestmark = pytest.mark.pg

# Verbatim from the aurora-pg / rds-pg / pg dialect tables (aurora-facts §3.3, §3.4).
PG_PROBE = "SELECT 1 FROM pg_catalog.pg_proc LIMIT 1"
AURORA_EXT_PROBE = (
    "SELECT (setting OPERATOR(pg_catalog.~~) '%aurora_stat_utils%') AS aurora_stat_utils "
    "FROM pg_catalog.pg_settings WHERE name OPERATOR(pg_catalog.=) 'rds.extensions'"
)
RDS_EXT_PROBE = (
    "SELECT (setting OPERATOR(pg_catalog.~~) '%rds_tools%') AS rds_tools, "
    "(setting OPERATOR(pg_catalog.~~) '%aurora_stat_utils%') AS aurora_stat_utils "
    "FROM pg_catalog.pg_settings WHERE name OPERATOR(pg_catalog.=) 'rds.extensions'"
)
AURORA_STATUS_PROBE = "SELECT 1 FROM pg_catalog.aurora_replica_status() LIMIT 1"
INSTANCE_ID = (
    "SELECT pg_catalog.aurora_db_instance_identifier(), pg_catalog.aurora_db_instance_identifier()"
)
IS_READER = "SELECT pg_catalog.pg_is_in_recovery()"
TOPOLOGY = (
    "SELECT SERVER_ID, CASE WHEN SESSION_ID OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' "
    "THEN TRUE ELSE FALSE END, CPU, COALESCE(REPLICA_LAG_IN_MSEC, 0), LAST_UPDATE_TIMESTAMP "
    "FROM pg_catalog.aurora_replica_status() WHERE EXTRACT(EPOCH FROM(pg_catalog.NOW() "
    "OPERATOR(pg_catalog.-) LAST_UPDATE_TIMESTAMP)) OPERATOR(pg_catalog.<=) 300 OR SESSION_ID "
    "OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' OR LAST_UPDATE_TIMESTAMP IS NULL"
)
WRITER_CHECK = (
    "SELECT SERVER_ID FROM pg_catalog.aurora_replica_status() WHERE SESSION_ID "
    "OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' AND SERVER_ID OPERATOR(pg_catalog.=) "
    "pg_catalog.aurora_db_instance_identifier()"
)
HOST_ALIAS = (
    "SELECT pg_catalog.CONCAT(pg_catalog.inet_server_addr(), ':', pg_catalog.inet_server_port())"
)
BG_EXISTS_AURORA = "SELECT 'pg_catalog.get_blue_green_fast_switchover_metadata'::pg_catalog.regproc"
BG_EXISTS_RDS = "SELECT 'rds_tools.show_topology'::pg_catalog.regproc"


def _check_node(cluster: PgCluster, node_id: str, writer_id: str) -> None:
    kwargs = cluster.app_conninfo_kwargs(node_id)
    with psycopg.connect(**kwargs, connect_timeout=5, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("app",)
        assert conn.execute("SELECT usesuper FROM pg_user WHERE usename = 'app'").fetchone() == (
            False,
        )
        assert conn.execute(PG_PROBE).fetchone() == (1,)
        assert conn.execute(AURORA_EXT_PROBE).fetchall() == [(True,)]
        assert conn.execute(RDS_EXT_PROBE).fetchall() == [(False, True)]
        assert conn.execute(AURORA_STATUS_PROBE).fetchall() == [(1,)]
        assert conn.execute(INSTANCE_ID).fetchone() == (node_id, node_id)
        assert conn.execute(IS_READER).fetchone() == (node_id != writer_id,)
        rows = conn.execute(TOPOLOGY).fetchall()
        assert sorted(r[0] for r in rows) == sorted(n.instance_id for n in cluster.nodes)
        assert [r[0] for r in rows if r[1]] == [writer_id]
        assert all(r[3] >= 0 for r in rows)
        writer_rows = conn.execute(WRITER_CHECK).fetchall()
        assert writer_rows == ([(writer_id,)] if node_id == writer_id else [])
        host = cluster.node(node_id).host
        assert conn.execute(HOST_ALIAS).fetchone() == (f"{host}:{cluster.node(node_id).port}",)
        assert conn.execute(BG_EXISTS_AURORA).fetchone() is not None
        assert conn.execute(BG_EXISTS_RDS).fetchone() is not None


def test_exact_aurora_sql_on_every_node(pg_cluster: PgCluster) -> None:
    writer = pg_cluster.writer().instance_id
    assert writer == "instance-1"
    for node in pg_cluster.nodes:
        _check_node(pg_cluster, node.instance_id, writer)


def test_exact_aurora_sql_after_failovers(fresh_pg_cluster: PgCluster) -> None:
    cluster = fresh_pg_cluster
    report = cluster.failover()
    assert report.old_writer == "instance-1"
    assert report.new_writer in ("instance-2", "instance-3")
    assert cluster.writer().instance_id == report.new_writer
    for node in cluster.nodes:
        if node.pid is not None:
            _check_node(cluster, node.instance_id, report.new_writer)
    # a second failover, by clean stop, to the remaining replica
    remaining = next(n for n in cluster.readers())
    report2 = cluster.failover(target=remaining, kill=False)
    assert report2.method == "stop"
    assert report2.new_writer == remaining.instance_id
    live = [n for n in cluster.nodes if n.pid is not None]
    assert [n.instance_id for n in live] == [remaining.instance_id]
    _check_node(cluster, remaining.instance_id, remaining.instance_id)


def test_unqualified_forms_and_settings(pg_cluster: PgCluster) -> None:
    with psycopg.connect(**pg_cluster.app_conninfo_kwargs(2), autocommit=True) as conn:
        assert conn.execute("SELECT aurora_db_instance_identifier()").fetchone() == ("instance-2",)
        assert conn.execute("SELECT 1 FROM aurora_replica_status() LIMIT 1").fetchone() == (1,)
        assert conn.execute("SHOW rds.extensions").fetchone() == ("aurora_stat_utils",)
        # real settings are still there, and listed once
        rows = conn.execute(
            "SELECT count(*) FROM pg_settings WHERE name IN ('port', 'rds.extensions')"
        ).fetchone()
        assert rows == (2,)


def test_replica_lag_reported_from_replication(pg_cluster: PgCluster) -> None:
    # a real lag value comes from pg_stat_replication on the writer; readers report 0 or more
    with psycopg.connect(**pg_cluster.app_conninfo_kwargs(1), autocommit=True) as conn:
        rows = {r[0]: r for r in conn.execute(TOPOLOGY).fetchall()}
    assert rows["instance-1"][3] == 0
    assert all(rows[k][3] >= 0 for k in ("instance-2", "instance-3"))


def test_rds_pg_flavor(pg_binaries: object, awsdb_leak_check: None) -> None:
    with (
        PgCluster(nodes=2, flavor="rds-pg", first_octet=41) as cluster,
        psycopg.connect(**cluster.app_conninfo_kwargs(1), autocommit=True) as conn,
    ):
        assert conn.execute(RDS_EXT_PROBE).fetchall() == [(True, False)]
        assert conn.execute(AURORA_EXT_PROBE).fetchall() == [(False,)]
        # no blue/green deployment yet: the metadata function returns no rows
        assert (
            conn.execute(
                "SELECT version, endpoint, port, role, status FROM "
                "rds_tools.show_topology('aws_advanced_python_wrapper-1.0.0')"
            ).fetchall()
            == []
        )


def test_multi_az_flavor(awsdb_leak_check: None) -> None:
    with PgCluster(nodes=3, flavor="multi-az-pg", first_octet=44) as cluster:
        with psycopg.connect(**cluster.app_conninfo_kwargs(2), autocommit=True) as conn:
            src = conn.execute(
                "SELECT multi_az_db_cluster_source_dbi_resource_id FROM "
                "rds_tools.multi_az_db_cluster_source_dbi_resource_id()"
            ).fetchone()
            assert src is not None and src[0].startswith("db-")
            rows = conn.execute(
                "SELECT id, endpoint, port FROM rds_tools.show_topology('aws_python_driver-1.0')"
            ).fetchall()
            domain = cluster.names.domain
            assert sorted(r[1] for r in rows) == [f"instance-{i}.{domain}" for i in (1, 2, 3)]
            assert src[0] in {r[0] for r in rows}  # the writer's resource id is a member
            my_id = conn.execute(
                "SELECT id, SUBSTRING(endpoint FROM 0 FOR POSITION('.' IN endpoint)) FROM "
                "rds_tools.show_topology() WHERE id OPERATOR(pg_catalog.=) "
                "rds_tools.dbi_resource_id()"
            ).fetchall()
            assert [r[1] for r in my_id] == ["instance-2"]
        # the writer reports its own resource id as the source
        with psycopg.connect(**cluster.app_conninfo_kwargs(1), autocommit=True) as conn:
            assert (
                conn.execute(
                    "SELECT multi_az_db_cluster_source_dbi_resource_id FROM "
                    "rds_tools.multi_az_db_cluster_source_dbi_resource_id()"
                ).fetchone()
                == src
            )


def test_max_connections_is_configurable(pg_cluster: PgCluster, awsdb_leak_check: None) -> None:
    with pg_cluster.superuser_connect(1) as admin:
        assert admin.execute("SHOW max_connections").fetchone() == ("60",)  # the default
    with PgCluster(nodes=2, max_connections=150, first_octet=47) as cluster:
        for node in (1, 2):
            with cluster.superuser_connect(node) as admin:
                assert admin.execute("SHOW max_connections").fetchone() == ("150",)
    with pytest.raises(ValueError, match="max_connections"):
        PgCluster(max_connections=5)
