"""Dialects against real single-node servers (PostgreSQL 15, MariaDB) started by the suite.

Auxiliary statements run through the real driver dialects' ``run_aux_query``, so these tests
also check that the exact SQL texts parse and run on the engines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from awsdb.dialects import (
    AuroraPgDialect,
    DialectCache,
    DialectRegistry,
    MultiAzMysqlDialect,
    MysqlDialect,
    PgDialect,
    RdsMysqlDialect,
    detect_dialect,
)
from awsdb.dialects import pg as pg_sql
from awsdb.host_provider import StaticHostListProvider
from awsdb.hosts import HostInfo, HostRole

Rows = list[tuple[object, ...]]


class Recorder:
    """The driver dialect's AuxQuery on one raw connection, recording statements."""

    def __init__(self, driver: Any, conn: Any) -> None:
        self.driver, self.conn = driver, conn
        self.statements: list[str] = []

    def __call__(self, sql: str, params: Sequence[object] | None) -> Rows:
        self.statements.append(sql)
        rows: Rows = self.driver.run_aux_query(self.conn, sql, params, 5.0)
        return rows


# --- PostgreSQL -----------------------------------------------------------------------------


@pytest.fixture
def pg_query(pg_server: Any) -> Iterator[Recorder]:
    pytest.importorskip("psycopg")
    from awsdb.drivers._psycopg import PsycopgDialect

    conn = pg_server.connect()  # not autocommit: probes must not leave a transaction open
    try:
        yield Recorder(PsycopgDialect(), conn)
    finally:
        conn.close()


@pytest.mark.pg
def test_pg_detection(pg_server: Any, pg_query: Recorder) -> None:
    import psycopg.pq

    cache = DialectCache()
    dialect = detect_dialect("pg", pg_server.host, pg_query, port=pg_server.port, cache=cache)
    assert dialect.code == "pg"
    assert pg_query.conn.info.transaction_status is psycopg.pq.TransactionStatus.IDLE
    assert len(pg_query.statements) == 4  # aurora, global, multi-az, rds probes; shared once
    assert cache.get(f"{pg_server.host}:{pg_server.port}") == "pg"
    again = detect_dialect("pg", pg_server.host, pg_query, port=pg_server.port, cache=cache)
    assert again.code == "pg" and len(pg_query.statements) == 4


@pytest.mark.pg
def test_pg_probes_on_vanilla_server(pg_query: Recorder) -> None:
    import psycopg.pq

    reg = DialectRegistry()
    results = {
        code: reg.get(code).is_dialect(pg_query) for code in reg.codes() if code.endswith("pg")
    }
    assert results == {
        "pg": True,
        "rds-pg": False,
        "aurora-pg": False,
        "global-aurora-pg": False,
        "multi-az-pg": False,
    }
    assert pg_query.conn.info.transaction_status is psycopg.pq.TransactionStatus.IDLE
    # MySQL probes on a PostgreSQL server fail cleanly too
    assert MysqlDialect().is_dialect(pg_query) is False


@pytest.mark.pg
def test_pg_aux_queries(pg_server: Any, pg_query: Recorder) -> None:
    d = PgDialect()
    url = f"{pg_server.host}:{pg_server.port}"
    assert d.host_alias(pg_query) == url
    assert d.instance_id(pg_query) == (pg_server.host, url)
    assert d.is_reader(pg_query) is False
    assert d.writer_check(pg_query) is True
    assert AuroraPgDialect().blue_green_status(pg_query) is None
    provider = StaticHostListProvider(
        [HostInfo("db.example", pg_server.port), HostInfo(pg_server.host, pg_server.port)],
        dialect=d,
    )
    found = provider.identify(pg_query)
    assert found is not None and found.host == pg_server.host and found.role is HostRole.READER


@pytest.fixture
def aurora_stub_db(pg_server: Any) -> Iterator[dict[str, Any]]:
    """A throw-away database with stub Aurora functions (superuser over the Unix socket)."""
    psycopg = pytest.importorskip("psycopg")
    sock = pg_server.extra["socket_dir"]
    admin = psycopg.connect(
        host=sock, port=pg_server.port, user="postgres", dbname="postgres", autocommit=True
    )
    admin.execute("DROP DATABASE IF EXISTS awsdb_dialect_stub")
    admin.execute("CREATE DATABASE awsdb_dialect_stub")
    try:
        with psycopg.connect(
            host=sock,
            port=pg_server.port,
            user="postgres",
            dbname="awsdb_dialect_stub",
            autocommit=True,
        ) as c:
            c.execute(
                "CREATE TABLE public.replica_rows (server_id text, session_id text, cpu float8, "
                "replica_lag_in_msec float8, last_update_timestamp timestamptz)"
            )
            c.execute(
                "CREATE FUNCTION pg_catalog.aurora_replica_status() RETURNS TABLE (server_id text, "
                "session_id text, cpu float8, replica_lag_in_msec float8, "
                "last_update_timestamp timestamptz) LANGUAGE sql AS "
                "'SELECT server_id, session_id, cpu, replica_lag_in_msec, last_update_timestamp "
                "FROM public.replica_rows'"
            )
            c.execute(
                "CREATE FUNCTION pg_catalog.aurora_db_instance_identifier() RETURNS text "
                "LANGUAGE sql AS 'SELECT ''db-w''::text'"
            )
        yield {
            "host": sock,
            "port": pg_server.port,
            "user": "postgres",
            "dbname": "awsdb_dialect_stub",
        }
    finally:
        with contextlib.suppress(Exception):
            admin.execute("DROP DATABASE awsdb_dialect_stub WITH (FORCE)")
        admin.close()


@pytest.mark.pg
def test_aurora_pg_sql_runs_on_stubbed_server(aurora_stub_db: dict[str, Any]) -> None:
    import psycopg

    from awsdb.drivers._psycopg import PsycopgDialect

    with psycopg.connect(**aurora_stub_db) as conn:
        conn.execute(
            "INSERT INTO public.replica_rows VALUES "
            "('db-w', 'MASTER_SESSION_ID', 1, 0, now() - interval '1 hour'), "  # stale writer kept
            "('db-r1', 'abc', 1, 5, now()), "
            "('db-stale', 'def', 1, 5, now() - interval '301 seconds'), "  # dropped by the SQL
            "('db-null', 'ghi', 1, NULL, NULL)"  # NULL timestamp kept on PostgreSQL
        )
        conn.commit()
        q = Recorder(PsycopgDialect(), conn)
        d = AuroraPgDialect()
        hosts = d.query_topology(
            q, host_pattern="?.xyz.us-east-1.rds.amazonaws.com", default_port=5432
        )
        assert [(h.host_id, h.role) for h in hosts] == [
            ("db-r1", HostRole.READER),
            ("db-null", HostRole.READER),
            ("db-w", HostRole.WRITER),
        ]
        assert hosts[-1].host == "db-w.xyz.us-east-1.rds.amazonaws.com"
        assert hosts[-1].last_update is not None
        assert d.instance_id(q) == ("db-w", "db-w")
        assert d.writer_check(q) is True
        # the aurora probe still fails: rds.extensions cannot be emulated
        assert d.is_dialect(q) is False
        assert q(pg_sql.AURORA_REPLICA_STATUS_PROBE_SQL, None) == [(1,)]
        # forced dialect (wrapper_dialect) is how emulated clusters are used
        assert isinstance(
            detect_dialect("pg", "localhost", q, override="aurora-pg"), AuroraPgDialect
        )


# --- MariaDB --------------------------------------------------------------------------------


@pytest.fixture
def mysql_query(mysql_server: Any) -> Iterator[Recorder]:
    pytest.importorskip("mysql.connector")
    from awsdb.drivers._mysql import MySQLConnectorDialect

    conn = mysql_server.connect()
    try:
        yield Recorder(MySQLConnectorDialect(), conn)
    finally:
        conn.close()


@pytest.mark.mysql
def test_mysql_detection_and_probes(mysql_server: Any, mysql_query: Recorder) -> None:
    dialect = detect_dialect("mysql", mysql_server.host, mysql_query, port=mysql_server.port)
    assert dialect.code == "mysql"
    reg = DialectRegistry()
    results = {
        code: reg.get(code).is_dialect(mysql_query)
        for code in reg.codes()
        if code.endswith("mysql")
    }
    # MariaDB's version_comment does not say "mysql": only the guess makes it "mysql"
    rows = mysql_query("SHOW VARIABLES LIKE 'version_comment'", None)
    comment = str(rows[0][1]).lower()
    assert results == {
        "mysql": "mysql" in comment,
        "rds-mysql": False,
        "aurora-mysql": False,
        "global-aurora-mysql": False,
        "multi-az-mysql": False,
    }
    assert PgDialect().is_dialect(mysql_query) is False
    assert mysql_query.conn.in_transaction is False


@pytest.mark.mysql
def test_mysql_aux_queries(mysql_query: Recorder) -> None:
    hostname, port = mysql_query("SELECT @@hostname, @@port", None)[0]
    d = MysqlDialect()
    assert d.host_alias(mysql_query) == f"{hostname}:{port}"
    assert d.instance_id(mysql_query) == (str(hostname), f"{hostname}:{port}")
    assert d.is_reader(mysql_query) is False
    assert d.writer_check(mysql_query) is True
    assert RdsMysqlDialect().blue_green_status(mysql_query) is None


@pytest.mark.mysql
def test_multi_az_mysql_sql_runs_on_mariadb(mysql_server: Any) -> None:
    import mysql.connector

    from awsdb.drivers._mysql import MySQLConnectorDialect

    root = mysql.connector.connect(
        unix_socket=mysql_server.extra["socket"], user="root", use_pure=True
    )
    cur = root.cursor()
    try:
        cur.execute(
            "CREATE TABLE mysql.rds_topology (id BIGINT PRIMARY KEY, endpoint VARCHAR(255), "
            "port INT, role VARCHAR(64), status VARCHAR(64), version VARCHAR(16))"
        )
        q = Recorder(MySQLConnectorDialect(), root)
        server_id = int(str(q("SELECT @@server_id", None)[0][0]))
        cur.execute(
            "INSERT INTO mysql.rds_topology VALUES "
            "(%s, 'inst-w.xyz.us-east-1.rds.amazonaws.com', 3306, 'BLUE_GREEN_DEPLOYMENT_SOURCE', "
            "'AVAILABLE', '1.0'), "
            "(%s, 'inst-r.xyz.us-east-1.rds.amazonaws.com', 3306, 'BLUE_GREEN_DEPLOYMENT_SOURCE', "
            "'AVAILABLE', '1.0')",
            (server_id, server_id + 1),
        )
        root.commit()
        d = MultiAzMysqlDialect()
        assert d.instance_id(q) == (str(server_id), "inst-w")
        assert d.writer_id(q) == str(server_id)  # no replica status: this node is the writer
        assert d.writer_check(q) is True
        hosts = d.query_topology(
            q, host_pattern="?.xyz.us-east-1.rds.amazonaws.com", default_port=3306
        )
        assert [(h.host, h.role) for h in hosts] == [
            ("inst-r.xyz.us-east-1.rds.amazonaws.com", HostRole.READER),
            ("inst-w.xyz.us-east-1.rds.amazonaws.com", HostRole.WRITER),
        ]
        assert d.is_dialect(q) is False  # report_host is empty on this server
        status = RdsMysqlDialect().blue_green_status(q)
        assert status is not None and len(status) == 2
        assert status[0][3:] == ("BLUE_GREEN_DEPLOYMENT_SOURCE", "AVAILABLE")
    finally:
        cur.execute("DROP TABLE IF EXISTS mysql.rds_topology")
        root.commit()
        root.close()
