"""Database dialects: exact SQL, probes, post-processing and detection, with scripted results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from awsdb.dialects import (
    AuroraMysqlDialect,
    AuroraPgDialect,
    DatabaseDialect,
    DialectCache,
    DialectRegistry,
    GlobalAuroraMysqlDialect,
    GlobalAuroraPgDialect,
    MultiAzMysqlDialect,
    MultiAzPgDialect,
    MysqlDialect,
    PgDialect,
    RdsMysqlDialect,
    RdsPgDialect,
    detect_dialect,
    driver_version,
    guess_dialect,
    truthy,
)
from awsdb.dialects import mysql as mysql_sql
from awsdb.dialects import pg as pg_sql
from awsdb.errors import InterfaceError, ProgrammingError, UnsupportedOperationError
from awsdb.hosts import HostRole

Rows = list[tuple[object, ...]]
Answers = dict[str, Rows | Exception]


class MissingError(Exception):
    """What a scripted server raises for a statement it does not know."""


class Script:
    """An AuxQuery answering from a table of SQL → rows (or an exception)."""

    def __init__(self, answers: Mapping[str, Rows | Exception]) -> None:
        self.answers = dict(answers)
        self.calls: list[tuple[str, Sequence[object] | None]] = []

    def __call__(self, sql: str, params: Sequence[object] | None) -> Rows:
        self.calls.append((sql, params))
        answer = self.answers.get(sql)
        if answer is None:
            raise MissingError(sql)
        if isinstance(answer, Exception):
            raise answer
        return answer


# --- exact SQL (literal text of aurora-facts §3) ------------------------------------------------


def test_exact_sql_aurora_mysql_topology_has_trailing_space() -> None:
    assert AuroraMysqlDialect.TOPOLOGY_SQL == (
        "SELECT SERVER_ID, CASE WHEN SESSION_ID = 'MASTER_SESSION_ID' THEN TRUE ELSE FALSE END, "
        "CPU, REPLICA_LAG_IN_MILLISECONDS, LAST_UPDATE_TIMESTAMP FROM "
        "information_schema.replica_host_status WHERE time_to_sec(timediff(now(), "
        "LAST_UPDATE_TIMESTAMP)) <= 300 OR SESSION_ID = 'MASTER_SESSION_ID' "
    )
    assert AuroraMysqlDialect.TOPOLOGY_SQL.endswith("'MASTER_SESSION_ID' ")


def test_exact_sql_aurora_pg() -> None:
    assert AuroraPgDialect.TOPOLOGY_SQL == (
        "SELECT SERVER_ID, CASE WHEN SESSION_ID OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' THEN "
        "TRUE ELSE FALSE END, CPU, COALESCE(REPLICA_LAG_IN_MSEC, 0), LAST_UPDATE_TIMESTAMP FROM "
        "pg_catalog.aurora_replica_status() WHERE EXTRACT(EPOCH FROM(pg_catalog.NOW() "
        "OPERATOR(pg_catalog.-) LAST_UPDATE_TIMESTAMP)) OPERATOR(pg_catalog.<=) 300 OR "
        "SESSION_ID OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' OR LAST_UPDATE_TIMESTAMP IS NULL"
    )
    assert AuroraPgDialect.WRITER_CHECK_SQL == (
        "SELECT SERVER_ID FROM pg_catalog.aurora_replica_status() WHERE SESSION_ID "
        "OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' AND SERVER_ID OPERATOR(pg_catalog.=) "
        "pg_catalog.aurora_db_instance_identifier()"
    )
    assert AuroraPgDialect.INSTANCE_ID_SQL == (
        "SELECT pg_catalog.aurora_db_instance_identifier(), "
        "pg_catalog.aurora_db_instance_identifier()"
    )


def test_exact_sql_pg_family() -> None:
    assert PgDialect.HOST_ALIAS_SQL == (
        "SELECT pg_catalog.CONCAT(pg_catalog.inet_server_addr(), ':', "
        "pg_catalog.inet_server_port())"
    )
    assert PgDialect.IS_READER_SQL == "SELECT pg_catalog.pg_is_in_recovery()"
    assert pg_sql.PG_PROBE_SQL == "SELECT 1 FROM pg_catalog.pg_proc LIMIT 1"
    assert pg_sql.RDS_EXTENSIONS_SQL == (
        "SELECT (setting OPERATOR(pg_catalog.~~) '%rds_tools%') AS rds_tools, (setting "
        "OPERATOR(pg_catalog.~~) '%aurora_stat_utils%') AS aurora_stat_utils FROM "
        "pg_catalog.pg_settings WHERE name OPERATOR(pg_catalog.=) 'rds.extensions'"
    )
    assert RdsPgDialect.INSTANCE_ID_SQL == (
        "SELECT id, SUBSTRING(endpoint FROM 0 FOR POSITION('.' IN endpoint)) FROM "
        "rds_tools.show_topology() WHERE id OPERATOR(pg_catalog.=) rds_tools.dbi_resource_id()"
    )
    assert MultiAzPgDialect.TOPOLOGY_SQL == (
        "SELECT id, endpoint, port FROM rds_tools.show_topology('aws_python_driver-{DRIVER_VERSION}')"  # noqa: E501
    )
    assert MultiAzPgDialect().topology_sql() == (
        f"SELECT id, endpoint, port FROM rds_tools.show_topology('aws_python_driver-{driver_version()}')"  # noqa: E501
    )
    assert GlobalAuroraPgDialect.TOPOLOGY_SQL == (
        "SELECT SERVER_ID, CASE WHEN SESSION_ID OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' THEN "
        "TRUE ELSE FALSE END, VISIBILITY_LAG_IN_MSEC, AWS_REGION FROM "
        "pg_catalog.aurora_global_db_instance_status()"
    )
    assert AuroraPgDialect.BLUE_GREEN_STATUS_SQL == (
        "SELECT version, endpoint, port, role, status FROM "
        "pg_catalog.get_blue_green_fast_switchover_metadata("
        "'aws_advanced_python_wrapper-{DRIVER_VERSION}')"
    )


def test_exact_sql_mysql_family() -> None:
    assert MysqlDialect.HOST_ALIAS_SQL == "SELECT CONCAT(@@hostname, ':', @@port)"
    assert MysqlDialect.INSTANCE_ID_SQL == (
        "SELECT @@hostname AS host, CONCAT(@@hostname, ':', @@port) AS host_id"
    )
    assert RdsMysqlDialect.INSTANCE_ID_SQL == (
        "SELECT id, SUBSTRING_INDEX(endpoint, '.', 1) FROM mysql.rds_topology WHERE id = @@server_id"  # noqa: E501
    )
    assert AuroraMysqlDialect.INSTANCE_ID_SQL == "SELECT @@aurora_server_id, @@aurora_server_id"
    assert AuroraMysqlDialect.IS_READER_SQL == "SELECT @@innodb_read_only"
    assert MysqlDialect.IS_READER_SQL == "SELECT @@read_only"
    assert AuroraMysqlDialect.WRITER_CHECK_SQL == (
        "SELECT SERVER_ID FROM information_schema.replica_host_status WHERE SESSION_ID = "
        "'MASTER_SESSION_ID' AND SERVER_ID = @@aurora_server_id"
    )
    assert GlobalAuroraMysqlDialect.TOPOLOGY_SQL == (
        "SELECT SERVER_ID, CASE WHEN SESSION_ID = 'MASTER_SESSION_ID' THEN TRUE ELSE FALSE END, "
        "VISIBILITY_LAG_IN_MSEC, AWS_REGION FROM information_schema.aurora_global_db_instance_status "  # noqa: E501
    )
    assert RdsMysqlDialect.BLUE_GREEN_EXISTS_SQL == (
        "SELECT 1 AS tmp FROM information_schema.tables WHERE table_schema = 'mysql' AND "
        "table_name = 'rds_topology'"
    )
    assert mysql_sql.GLOBAL_STATUS_TABLE_SQL == (
        "SELECT 1 AS tmp FROM information_schema.tables WHERE upper(table_schema) = "
        "'INFORMATION_SCHEMA' AND upper(table_name) = 'AURORA_GLOBAL_DB_STATUS'"
    )


# --- codes, ports, candidates -------------------------------------------------------------------


CANDIDATES = {
    "mysql": ("aurora-mysql", "global-aurora-mysql", "multi-az-mysql", "rds-mysql"),
    "rds-mysql": ("aurora-mysql", "global-aurora-mysql", "multi-az-mysql"),
    "aurora-mysql": ("global-aurora-mysql", "multi-az-mysql"),
    "pg": ("aurora-pg", "global-aurora-pg", "multi-az-pg", "rds-pg"),
    "rds-pg": ("aurora-pg", "global-aurora-pg", "multi-az-pg"),
    "aurora-pg": ("global-aurora-pg", "multi-az-pg"),
    "global-aurora-pg": (),
    "global-aurora-mysql": (),
    "multi-az-pg": (),
    "multi-az-mysql": (),
}


@pytest.mark.parametrize(("code", "candidates"), sorted(CANDIDATES.items()))
def test_update_candidates(code: str, candidates: tuple[str, ...]) -> None:
    dialect = DialectRegistry().get(code)
    assert dialect.code == code
    assert dialect.update_candidates == candidates
    assert dialect.family == ("pg" if code.endswith("pg") else "mysql")
    assert dialect.default_port == (5432 if dialect.family == "pg" else 3306)
    topo = code.startswith(("aurora", "global", "multi-az"))
    assert dialect.supports_topology is topo


def test_registry() -> None:
    reg = DialectRegistry()
    assert reg.codes() == sorted(CANDIDATES)
    assert reg.get("AURORA_PG") is reg.get("aurora-pg")
    with pytest.raises(ProgrammingError, match=r"'mariadb' is not known; known: aurora-mysql"):
        reg.get("mariadb")

    class Custom(PgDialect):
        code = "custom-pg"

    reg.register(Custom)
    assert isinstance(reg.get("custom-pg"), Custom)
    with pytest.raises(ProgrammingError, match="already registered"):
        reg.register(Custom)
    with pytest.raises(ProgrammingError, match="reserved"):
        reg.register(type("U", (PgDialect,), {"code": "unknown"}))
    assert "custom-pg" not in DialectRegistry()


# --- probes -------------------------------------------------------------------------------------

VANILLA_PG: dict[str, Rows | Exception] = {
    pg_sql.PG_PROBE_SQL: [(1,)],
    pg_sql.RDS_EXTENSIONS_SQL: [],
    pg_sql.AURORA_STAT_UTILS_SQL: [],
}
AURORA_PG: dict[str, Rows | Exception] = {
    pg_sql.PG_PROBE_SQL: [(1,)],
    pg_sql.RDS_EXTENSIONS_SQL: [(True, True)],
    pg_sql.AURORA_STAT_UTILS_SQL: [(True,)],
    pg_sql.AURORA_REPLICA_STATUS_PROBE_SQL: [(1,)],
}
RDS_PG: dict[str, Rows | Exception] = {
    pg_sql.PG_PROBE_SQL: [(1,)],
    pg_sql.RDS_EXTENSIONS_SQL: [(True, False)],
    pg_sql.AURORA_STAT_UTILS_SQL: [(False,)],
}
MULTI_AZ_PG: dict[str, Rows | Exception] = {
    **RDS_PG,
    pg_sql.MULTI_AZ_WRITER_ID_SQL: [("db-ABC",)],
}
GLOBAL_PG: dict[str, Rows | Exception] = {
    **AURORA_PG,
    pg_sql.GLOBAL_STATUS_EXISTS_SQL: [("aurora_global_db_status",)],
    pg_sql.GLOBAL_INSTANCE_STATUS_EXISTS_SQL: [("aurora_global_db_instance_status",)],
    pg_sql.GLOBAL_STATUS_COUNT_SQL: [(2,)],
}
MARIADB: dict[str, Rows | Exception] = {
    mysql_sql.VERSION_COMMENT_SQL: [("version_comment", "MariaDB Server")],
    mysql_sql.REPORT_HOST_SQL: [],
    mysql_sql.AURORA_VERSION_SQL: [],
    mysql_sql.GLOBAL_STATUS_TABLE_SQL: [],
}
MYSQL: dict[str, Rows | Exception] = {
    **MARIADB,
    mysql_sql.VERSION_COMMENT_SQL: [("version_comment", "MySQL Community Server - GPL")],
}
RDS_MYSQL: dict[str, Rows | Exception] = {
    **MARIADB,
    mysql_sql.VERSION_COMMENT_SQL: [("version_comment", "Source distribution")],
    mysql_sql.REPORT_HOST_SQL: [("report_host", "db-1")],
}
AURORA_MYSQL: dict[str, Rows | Exception] = {
    **RDS_MYSQL,
    mysql_sql.AURORA_VERSION_SQL: [("aurora_version", "3.05.2")],
}
MULTI_AZ_MYSQL: dict[str, Rows | Exception] = {
    **RDS_MYSQL,
    mysql_sql.RDS_TOPOLOGY_SQL: [(1, "db-1.xyz.us-east-1.rds.amazonaws.com", 3306)],
}
GLOBAL_MYSQL: dict[str, Rows | Exception] = {
    **AURORA_MYSQL,
    mysql_sql.GLOBAL_STATUS_TABLE_SQL: [(1,)],
    mysql_sql.GLOBAL_INSTANCE_STATUS_TABLE_SQL: [(1,)],
    mysql_sql.GLOBAL_STATUS_COUNT_SQL: [(3,)],
}

SERVERS = {
    "vanilla-pg": VANILLA_PG,
    "aurora-pg": AURORA_PG,
    "rds-pg": RDS_PG,
    "multi-az-pg": MULTI_AZ_PG,
    "global-aurora-pg": GLOBAL_PG,
    "mariadb": MARIADB,
    "mysql": MYSQL,
    "rds-mysql": RDS_MYSQL,
    "aurora-mysql": AURORA_MYSQL,
    "multi-az-mysql": MULTI_AZ_MYSQL,
    "global-aurora-mysql": GLOBAL_MYSQL,
}

# which dialect probes match on which scripted server
MATCHES = {
    "vanilla-pg": {"pg"},
    "aurora-pg": {"pg", "aurora-pg"},
    "rds-pg": {"pg", "rds-pg"},
    "multi-az-pg": {"pg", "rds-pg", "multi-az-pg"},
    "global-aurora-pg": {"pg", "aurora-pg", "global-aurora-pg"},
    "mariadb": set(),
    "mysql": {"mysql"},
    "rds-mysql": {"rds-mysql"},
    "aurora-mysql": {"rds-mysql", "aurora-mysql"},
    "multi-az-mysql": {"rds-mysql", "multi-az-mysql"},
    "global-aurora-mysql": {"rds-mysql", "aurora-mysql", "global-aurora-mysql"},
}


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_probes(server: str) -> None:
    reg = DialectRegistry()
    matched = {code for code in reg.codes() if reg.get(code).is_dialect(Script(SERVERS[server]))}
    assert matched == MATCHES[server]


def test_probe_swallows_any_exception() -> None:
    broken = Script({s: RuntimeError("connection lost") for s in VANILLA_PG})
    for code in DialectRegistry().codes():
        assert DialectRegistry().get(code).is_dialect(broken) is False


def test_global_pg_needs_more_than_one_cluster() -> None:
    assert (
        GlobalAuroraPgDialect().is_dialect(
            Script({**GLOBAL_PG, pg_sql.GLOBAL_STATUS_COUNT_SQL: [(1,)]})
        )
        is False
    )


# --- guess and detection ------------------------------------------------------------------------

WRITER = "db.cluster-xyz.us-east-1.rds.amazonaws.com"
READER = "db.cluster-ro-xyz.us-east-1.rds.amazonaws.com"
CUSTOM = "e.cluster-custom-xyz.us-east-1.rds.amazonaws.com"
INSTANCE = "db-1.xyz.us-east-1.rds.amazonaws.com"
PROXY = "p.proxy-xyz.us-east-1.rds.amazonaws.com"
GLOBAL = "g.global-xyz.global.rds.amazonaws.com"
SHARD = "l.shardgrp-xyz.us-east-1.rds.amazonaws.com"


@pytest.mark.parametrize(
    ("family", "host", "code"),
    [
        ("mysql", GLOBAL, "global-aurora-mysql"),
        ("mysql", WRITER, "aurora-mysql"),
        ("mysql", READER, "aurora-mysql"),
        ("mysql", CUSTOM, "aurora-mysql"),
        ("mysql", INSTANCE, "rds-mysql"),
        ("mysql", PROXY, "rds-mysql"),
        ("mysql", SHARD, "mysql"),
        ("mysql", "localhost", "mysql"),
        ("mysql", "10.0.0.1", "mysql"),
        ("pg", SHARD, "aurora-pg"),
        ("pg", GLOBAL, "global-aurora-pg"),
        ("pg", WRITER, "aurora-pg"),
        ("pg", READER, "aurora-pg"),
        ("pg", CUSTOM, "aurora-pg"),
        ("pg", INSTANCE, "rds-pg"),
        ("pg", PROXY, "rds-pg"),
        ("pg", "127.0.0.1", "pg"),
        ("postgresql", "db.example.com", "pg"),
        ("e6data", "localhost", "unknown"),
    ],
)
def test_guess(family: str, host: str, code: str) -> None:
    assert guess_dialect(family, host) == code


@pytest.mark.parametrize(
    ("family", "host", "server", "code"),
    [
        ("pg", "localhost", "vanilla-pg", "pg"),
        ("pg", "localhost", "aurora-pg", "aurora-pg"),  # a CNAME to Aurora
        ("pg", "localhost", "rds-pg", "rds-pg"),
        ("pg", "localhost", "multi-az-pg", "multi-az-pg"),  # before rds-pg in the order
        ("pg", "localhost", "global-aurora-pg", "aurora-pg"),  # aurora-pg comes first for pg
        ("pg", INSTANCE, "multi-az-pg", "multi-az-pg"),
        ("pg", INSTANCE, "rds-pg", "rds-pg"),  # guess stands
        ("pg", WRITER, "global-aurora-pg", "global-aurora-pg"),
        ("pg", WRITER, "vanilla-pg", "aurora-pg"),  # an Aurora guess is never confirmed
        ("pg", GLOBAL, "vanilla-pg", "global-aurora-pg"),  # final, no probe
        ("pg", SHARD, "vanilla-pg", "aurora-pg"),  # final, no probe
        ("mysql", "localhost", "mariadb", "mysql"),
        ("mysql", "localhost", "aurora-mysql", "aurora-mysql"),
        ("mysql", "localhost", "multi-az-mysql", "multi-az-mysql"),
        ("mysql", "localhost", "rds-mysql", "rds-mysql"),
        ("mysql", INSTANCE, "aurora-mysql", "aurora-mysql"),
        ("mysql", WRITER, "global-aurora-mysql", "global-aurora-mysql"),
        ("mysql", WRITER, "multi-az-mysql", "multi-az-mysql"),
        ("unknown", "localhost", "vanilla-pg", "pg"),
        ("unknown", "localhost", "aurora-pg", "aurora-pg"),  # match refined by its candidates
        ("unknown", "localhost", "mysql", "mysql"),
        ("unknown", "localhost", "rds-mysql", "rds-mysql"),
    ],
)
def test_detection(family: str, host: str, server: str, code: str) -> None:
    script = Script(SERVERS[server])
    assert detect_dialect(family, host, script).code == code
    if code in ("global-aurora-pg", "aurora-pg") and host in (GLOBAL, SHARD):
        assert script.calls == []


def test_detection_unknown_family_without_match_fails() -> None:
    with pytest.raises(InterfaceError, match="cannot detect the database dialect"):
        detect_dialect("e6data", "localhost", Script(MARIADB))


def test_detection_order_is_followed() -> None:
    script = Script(VANILLA_PG)
    assert detect_dialect("pg", "localhost", script).code == "pg"
    sqls = [sql for sql, _ in script.calls]
    # aurora-pg, global-aurora-pg, multi-az-pg, rds-pg; shared statements run once
    assert sqls == [
        pg_sql.PG_PROBE_SQL,
        pg_sql.AURORA_STAT_UTILS_SQL,
        pg_sql.MULTI_AZ_WRITER_ID_SQL,
        pg_sql.RDS_EXTENSIONS_SQL,
    ]


def test_override_skips_probes() -> None:
    script = Script({})
    assert detect_dialect("pg", "localhost", script, override=" aurora_pg ").code == "aurora-pg"
    assert script.calls == []
    with pytest.raises(ProgrammingError, match="wrapper_dialect='nope'"):
        detect_dialect("pg", "localhost", script, override="nope")


def test_cache_by_url_and_host() -> None:
    now = [0.0]
    cache = DialectCache(clock=lambda: now[0])
    script = Script(RDS_PG)
    assert detect_dialect("pg", "LocalHost", script, port=5432, cache=cache).code == "rds-pg"
    probes = len(script.calls)
    assert cache.get("localhost:5432") == "rds-pg" and cache.get("localhost") == "rds-pg"
    assert detect_dialect("pg", "localhost", script, port=5432, cache=cache).code == "rds-pg"
    assert detect_dialect("pg", "localhost", script, port=6543, cache=cache).code == "rds-pg"
    assert len(script.calls) == probes
    now[0] = 1801.0  # 30 min TTL
    assert cache.get("localhost:5432") is None
    detect_dialect("pg", "localhost", script, port=5432, cache=cache)
    assert len(script.calls) > probes


def test_broken_connection_guess_is_not_cached() -> None:
    cache = DialectCache()
    broken = Script({})
    assert detect_dialect("pg", "localhost", broken, cache=cache).code == "pg"
    assert len(cache) == 0
    assert detect_dialect("pg", "localhost", Script(VANILLA_PG), cache=cache).code == "pg"
    assert cache.get("localhost") == "pg"


def test_cache_bounded() -> None:
    cache = DialectCache(max_entries=2)
    for i in range(3):
        cache.put(f"h{i}", "pg")
    assert len(cache) == 2 and cache.get("h0") is None


# --- auxiliary queries --------------------------------------------------------------------------


def test_aux_queries_pg_and_mysql() -> None:
    pg = PgDialect()
    q = Script(
        {
            pg.HOST_ALIAS_SQL: [("10.0.0.5:5432",)],
            pg.INSTANCE_ID_SQL: [("10.0.0.5", "10.0.0.5:5432")],
            pg.IS_READER_SQL: [(False,)],
        }
    )
    assert pg.host_alias(q) == "10.0.0.5:5432"
    assert pg.instance_id(q) == ("10.0.0.5", "10.0.0.5:5432")
    assert pg.is_reader(q) is False and pg.writer_check(q) is True
    # a Unix-socket session has no server address
    unix = Script({pg.HOST_ALIAS_SQL: [(":5432",)], pg.INSTANCE_ID_SQL: [(None, ":5432")]})
    assert pg.host_alias(unix) is None and pg.instance_id(unix) is None

    my = AuroraMysqlDialect()
    q = Script(
        {
            my.HOST_ALIAS_SQL: [(b"ip-10-0-0-5:3306",)],
            my.INSTANCE_ID_SQL: [("db-2", "db-2")],
            my.IS_READER_SQL: [(1,)],
            my.WRITER_CHECK_SQL or "": [],
        }
    )
    assert my.host_alias(q) == "ip-10-0-0-5:3306"
    assert my.instance_id(q) == ("db-2", "db-2")
    assert my.is_reader(q) is True and my.writer_check(q) is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (0, False), (1, True), ("ON", True), ("0", False), (b"1", True), (None, False)],
)
def test_truthy(value: object, expected: bool) -> None:
    assert truthy(value) is expected


def test_no_topology_for_plain_dialects() -> None:
    for code in ("pg", "rds-pg", "mysql", "rds-mysql"):
        with pytest.raises(UnsupportedOperationError):
            DialectRegistry().get(code).query_topology(
                Script({}), host_pattern="?.x.example", default_port=None
            )


# --- topology post-processing -------------------------------------------------------------------

T0 = datetime(2024, 5, 1, 12, 0, 0)
PATTERN = "?.xyz.us-east-1.rds.amazonaws.com"


def aurora_rows(*rows: tuple[str, bool, datetime | None]) -> Rows:
    return [(sid, w, 1.5, 0.0, ts) for sid, w, ts in rows]


def topo(
    dialect: DatabaseDialect, rows: Rows, pattern: str = PATTERN, port: int | None = 5432
) -> list[tuple[str, int | None, HostRole]]:
    assert dialect.TOPOLOGY_SQL is not None
    hosts = dialect.query_topology(
        Script({dialect.TOPOLOGY_SQL: rows}), host_pattern=pattern, default_port=port
    )
    return [(h.host, h.port, h.role) for h in hosts]


R, W = HostRole.READER, HostRole.WRITER


def test_topology_readers_first_writer_last_with_aliases() -> None:
    d = AuroraPgDialect()
    rows = aurora_rows(("db-w", True, T0), ("db-r1", False, T0), ("db-r2", False, None))
    hosts = d.query_topology(
        Script({d.TOPOLOGY_SQL or "": rows}), host_pattern=PATTERN, default_port=5432
    )
    assert [(h.host, h.role) for h in hosts] == [
        ("db-r1.xyz.us-east-1.rds.amazonaws.com", R),
        ("db-r2.xyz.us-east-1.rds.amazonaws.com", R),  # NULL timestamp kept (filtered in SQL)
        ("db-w.xyz.us-east-1.rds.amazonaws.com", W),
    ]
    assert hosts[0].host_id == "db-r1" and hosts[0].aliases == frozenset({"db-r1"})
    assert hosts[0].weight == 100 and hosts[0].port == 5432
    assert hosts[2].last_update == T0 and hosts[1].last_update is None


def test_topology_without_writer_is_invalid() -> None:
    assert topo(AuroraMysqlDialect(), aurora_rows(("a", False, T0), ("b", False, T0))) == []
    assert topo(AuroraMysqlDialect(), []) == []


def test_topology_two_writers_latest_wins() -> None:
    rows = aurora_rows(
        ("old-w", True, T0),
        ("r1", False, T0),
        ("new-w", True, T0 + timedelta(seconds=3)),
        ("null-w", True, None),
    )
    assert topo(AuroraPgDialect(), rows) == [
        ("r1.xyz.us-east-1.rds.amazonaws.com", 5432, R),
        ("new-w.xyz.us-east-1.rds.amazonaws.com", 5432, W),
    ]


def test_topology_two_writers_mixed_timezones() -> None:
    aware = datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)
    rows = aurora_rows(("a", True, T0), ("b", True, aware))
    assert topo(AuroraPgDialect(), rows)[-1][0].startswith("b.")


def test_topology_duplicates_collapse_last_wins() -> None:
    d = AuroraMysqlDialect()
    rows = aurora_rows(("r1", False, T0), ("w", True, T0), ("r1", False, T0 + timedelta(seconds=1)))
    hosts = d.query_topology(
        Script({d.TOPOLOGY_SQL or "": rows}), host_pattern=PATTERN, default_port=3306
    )
    assert [h.host_id for h in hosts] == ["r1", "w"]
    assert hosts[0].last_update == T0 + timedelta(seconds=1)
    # a stale reader row for the writer is dropped; writer rows are 1/0 on MySQL
    rows = [("w", 1, 0, 0, T0), ("w", 0, 0, 0, T0), ("r", 0, 0, 0, T0)]
    assert [h[2] for h in topo(d, rows)] == [R, W]


def test_topology_pattern_port_and_empty_ids() -> None:
    rows = aurora_rows(("w", True, T0), ("", False, T0), ("r", False, T0))
    assert topo(AuroraPgDialect(), rows, pattern="?.db.internal:6000", port=5432) == [
        ("r.db.internal", 6000, R),
        ("w.db.internal", 6000, W),
    ]
    with pytest.raises(ProgrammingError):
        topo(AuroraPgDialect(), rows, pattern="no-placeholder.example")


def test_multi_az_pg_topology() -> None:
    d = MultiAzPgDialect()
    topology: Rows = [
        ("db-AAA", "inst-a.xyz.us-east-1.rds.amazonaws.com", 5432),
        ("db-BBB", "inst-b.xyz.us-east-1.rds.amazonaws.com", 5432),
        ("db-CCC", "inst-c.xyz.us-east-1.rds.amazonaws.com", "5433"),
    ]
    q = Script({d.topology_sql(): topology, pg_sql.MULTI_AZ_WRITER_ID_SQL: [("db-BBB",)]})
    hosts = d.query_topology(q, host_pattern=PATTERN, default_port=None)
    assert [(h.host, h.port, h.role, h.host_id) for h in hosts] == [
        ("inst-a.xyz.us-east-1.rds.amazonaws.com", 5432, R, "db-AAA"),
        ("inst-c.xyz.us-east-1.rds.amazonaws.com", 5433, R, "db-CCC"),
        ("inst-b.xyz.us-east-1.rds.amazonaws.com", 5432, W, "db-BBB"),
    ]
    # on the writer the source id is empty: its own id is the writer id
    own = Script(
        {
            pg_sql.MULTI_AZ_WRITER_ID_SQL: [(None,)],
            d.INSTANCE_ID_SQL: [("db-AAA", "inst-a")],
        }
    )
    assert d.writer_id(own) == "db-AAA" and d.writer_check(own) is True


def test_multi_az_mysql_topology_and_writer_id() -> None:
    d = MultiAzMysqlDialect()
    replica_row = (*range(39), 7)  # Source_Server_Id at index 39
    rows: Rows = [
        (7, "w.xyz.us-east-1.rds.amazonaws.com", 3306),
        (8, "r.xyz.us-east-1.rds.amazonaws.com", 3306),
    ]
    on_reader = Script(
        {mysql_sql.REPLICA_STATUS_SQL: [replica_row], mysql_sql.RDS_TOPOLOGY_SQL: rows}
    )
    assert d.writer_id(on_reader) == "7"
    assert [
        (h.host_id, h.role)
        for h in d.query_topology(on_reader, host_pattern=PATTERN, default_port=3306)
    ] == [
        ("8", R),
        ("7", W),
    ]
    on_writer = Script(
        {
            mysql_sql.REPLICA_STATUS_SQL: [],
            d.INSTANCE_ID_SQL: [(7, "w")],
            mysql_sql.RDS_TOPOLOGY_SQL: rows,
        }
    )
    assert d.writer_id(on_writer) == "7" and d.writer_check(on_writer) is True
    no_writer = Script(
        {mysql_sql.REPLICA_STATUS_SQL: [(*replica_row[:-1], 99)], mysql_sql.RDS_TOPOLOGY_SQL: rows}
    )
    assert d.query_topology(no_writer, host_pattern=PATTERN, default_port=3306) == []
    assert d.connect_attributes() == {
        "python_wrapper_name": "aws_python_driver",
        "python_wrapper_version": driver_version(),
    }


def test_global_topology() -> None:
    d = GlobalAuroraMysqlDialect()
    rows: Rows = [
        ("w", 1, 0, "us-east-1"),
        ("r-east", 0, 10, "us-east-1"),
        ("r-west", 0, 20, "US-WEST-2"),
    ]
    patterns = (
        "us-east-1:?.aaa.us-east-1.rds.amazonaws.com, "
        "us-west-2:?.bbb.us-west-2.rds.amazonaws.com:3307"
    )
    assert topo(d, rows, pattern=patterns, port=3306) == [
        ("r-east.aaa.us-east-1.rds.amazonaws.com", 3306, R),
        ("r-west.bbb.us-west-2.rds.amazonaws.com", 3307, R),
        ("w.aaa.us-east-1.rds.amazonaws.com", 3306, W),
    ]
    with pytest.raises(ProgrammingError, match="no pattern for region 'us-west-2'"):
        topo(d, rows, pattern="us-east-1:?.aaa.us-east-1.rds.amazonaws.com")
    with pytest.raises(ProgrammingError, match="region:host-pattern"):
        topo(GlobalAuroraPgDialect(), rows, pattern="?.aaa.example")


def test_global_region_of_instance() -> None:
    d = GlobalAuroraPgDialect()
    q = Script({d.REGION_SQL: [("eu-west-1",)]})
    assert d.region_of_instance(q, "db-1") == "eu-west-1"
    assert q.calls == [(d.REGION_SQL, ("db-1",))]


# --- blue/green metadata ------------------------------------------------------------------------


def test_blue_green_status() -> None:
    d = AuroraPgDialect()
    status_sql = (d.BLUE_GREEN_STATUS_SQL or "").replace("{DRIVER_VERSION}", driver_version())
    row = (
        "1.0",
        "db.cluster-xyz.us-east-1.rds.amazonaws.com",
        5432,
        "BLUE_GREEN_DEPLOYMENT_SOURCE",
        "AVAILABLE",
    )
    q = Script(
        {
            d.BLUE_GREEN_EXISTS_SQL or "": [("get_blue_green_fast_switchover_metadata",)],
            status_sql: [row],
        }
    )
    assert d.blue_green_status(q) == [row]
    assert f"aws_advanced_python_wrapper-{driver_version()}" in q.calls[-1][0]
    # the metadata function is missing: not available, no exception
    assert d.blue_green_status(Script({})) is None
    # unsupported dialects
    assert PgDialect().blue_green_status(q) is None
    assert MultiAzMysqlDialect().blue_green_status(q) is None
    m = RdsMysqlDialect()
    assert m.blue_green_status(Script({m.BLUE_GREEN_EXISTS_SQL or "": []})) is None
    # a failing status query propagates
    failing = Script(
        {m.BLUE_GREEN_EXISTS_SQL or "": [(1,)], m.BLUE_GREEN_STATUS_SQL or "": RuntimeError("lost")}
    )
    with pytest.raises(RuntimeError, match="lost"):
        m.blue_green_status(failing)


def test_driver_version_is_the_package_version() -> None:
    from importlib import metadata

    assert driver_version() == metadata.version("awsdb-core")
