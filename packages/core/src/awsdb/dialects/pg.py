"""PostgreSQL-family dialects: ``pg``, ``rds-pg``, ``aurora-pg``, ``multi-az-pg``,
``global-aurora-pg``. SQL texts are the interoperability facts of aurora-facts §3, verbatim:
every function and operator is schema-qualified against ``search_path`` hijacking."""

from __future__ import annotations

from typing import ClassVar

from awsdb.dialects._base import (
    AuxQuery,
    DatabaseDialect,
    GlobalTopologyMixin,
    _first_value,
    _text,
    driver_version,
    multi_az_topology,
    truthy,
)
from awsdb.hosts import HostInfo
from awsdb.rds import parse_host_pattern

__all__ = [
    "AuroraPgDialect",
    "GlobalAuroraPgDialect",
    "MultiAzPgDialect",
    "PgDialect",
    "RdsPgDialect",
]

PG_PROBE_SQL = "SELECT 1 FROM pg_catalog.pg_proc LIMIT 1"
RDS_EXTENSIONS_SQL = (
    "SELECT (setting OPERATOR(pg_catalog.~~) '%rds_tools%') AS rds_tools, "
    "(setting OPERATOR(pg_catalog.~~) '%aurora_stat_utils%') AS aurora_stat_utils "
    "FROM pg_catalog.pg_settings WHERE name OPERATOR(pg_catalog.=) 'rds.extensions'"
)
AURORA_STAT_UTILS_SQL = (
    "SELECT (setting OPERATOR(pg_catalog.~~) '%aurora_stat_utils%') AS aurora_stat_utils "
    "FROM pg_catalog.pg_settings WHERE name OPERATOR(pg_catalog.=) 'rds.extensions'"
)
AURORA_REPLICA_STATUS_PROBE_SQL = "SELECT 1 FROM pg_catalog.aurora_replica_status() LIMIT 1"
GLOBAL_STATUS_EXISTS_SQL = "SELECT 'pg_catalog.aurora_global_db_status'::pg_catalog.regproc"
GLOBAL_INSTANCE_STATUS_EXISTS_SQL = (
    "SELECT 'pg_catalog.aurora_global_db_instance_status'::pg_catalog.regproc"
)
GLOBAL_STATUS_COUNT_SQL = "SELECT pg_catalog.count(1) FROM pg_catalog.aurora_global_db_status()"
MULTI_AZ_WRITER_ID_SQL = (
    "SELECT multi_az_db_cluster_source_dbi_resource_id "
    "FROM rds_tools.multi_az_db_cluster_source_dbi_resource_id()"
)
LIMITLESS_ROUTERS_SQL = (
    "SELECT router_endpoint, load FROM pg_catalog.aurora_limitless_router_endpoints()"
)


class PgDialect(DatabaseDialect):
    """Plain PostgreSQL (no topology)."""

    code = "pg"
    family = "pg"
    default_port = 5432
    update_candidates: ClassVar[tuple[str, ...]] = (
        "aurora-pg",
        "global-aurora-pg",
        "multi-az-pg",
        "rds-pg",
    )

    HOST_ALIAS_SQL = (
        "SELECT pg_catalog.CONCAT(pg_catalog.inet_server_addr(), ':', "
        "pg_catalog.inet_server_port())"
    )
    INSTANCE_ID_SQL = (
        "SELECT pg_catalog.inet_server_addr() AS host, "
        "pg_catalog.CONCAT(pg_catalog.inet_server_addr(), ':', pg_catalog.inet_server_port()) "
        "AS host_id"
    )
    IS_READER_SQL = "SELECT pg_catalog.pg_is_in_recovery()"

    def _probe(self, query: AuxQuery) -> bool:
        return bool(query(PG_PROBE_SQL, None))


class RdsPgDialect(PgDialect):
    """RDS for PostgreSQL (single instance; ``rds_tools`` without ``aurora_stat_utils``)."""

    code = "rds-pg"
    update_candidates: ClassVar[tuple[str, ...]] = ("aurora-pg", "global-aurora-pg", "multi-az-pg")

    INSTANCE_ID_SQL = (
        "SELECT id, SUBSTRING(endpoint FROM 0 FOR POSITION('.' IN endpoint)) "
        "FROM rds_tools.show_topology() "
        "WHERE id OPERATOR(pg_catalog.=) rds_tools.dbi_resource_id()"
    )
    BLUE_GREEN_EXISTS_SQL = "SELECT 'rds_tools.show_topology'::pg_catalog.regproc"
    BLUE_GREEN_STATUS_SQL = (
        "SELECT version, endpoint, port, role, status "
        "FROM rds_tools.show_topology('aws_advanced_python_wrapper-{DRIVER_VERSION}')"
    )

    def _probe(self, query: AuxQuery) -> bool:
        if not query(PG_PROBE_SQL, None):
            return False
        rows = query(RDS_EXTENSIONS_SQL, None)
        if not rows:
            return False
        rds_tools, aurora_stat_utils = rows[0][0], rows[0][1]
        return truthy(rds_tools) and not truthy(aurora_stat_utils)


class AuroraPgDialect(PgDialect):
    """Aurora PostgreSQL: topology from ``aurora_replica_status()``."""

    code = "aurora-pg"
    update_candidates: ClassVar[tuple[str, ...]] = ("global-aurora-pg", "multi-az-pg")
    supports_topology = True

    INSTANCE_ID_SQL = (
        "SELECT pg_catalog.aurora_db_instance_identifier(), "
        "pg_catalog.aurora_db_instance_identifier()"
    )
    TOPOLOGY_SQL = (
        "SELECT SERVER_ID, CASE WHEN SESSION_ID OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' "
        "THEN TRUE ELSE FALSE END, CPU, COALESCE(REPLICA_LAG_IN_MSEC, 0), "
        "LAST_UPDATE_TIMESTAMP FROM pg_catalog.aurora_replica_status() "
        "WHERE EXTRACT(EPOCH FROM(pg_catalog.NOW() OPERATOR(pg_catalog.-) "
        "LAST_UPDATE_TIMESTAMP)) OPERATOR(pg_catalog.<=) 300 "
        "OR SESSION_ID OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' "
        "OR LAST_UPDATE_TIMESTAMP IS NULL"
    )
    WRITER_CHECK_SQL = (
        "SELECT SERVER_ID FROM pg_catalog.aurora_replica_status() "
        "WHERE SESSION_ID OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' "
        "AND SERVER_ID OPERATOR(pg_catalog.=) pg_catalog.aurora_db_instance_identifier()"
    )
    LIMITLESS_ROUTERS_SQL = LIMITLESS_ROUTERS_SQL
    BLUE_GREEN_EXISTS_SQL = (
        "SELECT 'pg_catalog.get_blue_green_fast_switchover_metadata'::pg_catalog.regproc"
    )
    BLUE_GREEN_STATUS_SQL = (
        "SELECT version, endpoint, port, role, status "
        "FROM pg_catalog.get_blue_green_fast_switchover_metadata("
        "'aws_advanced_python_wrapper-{DRIVER_VERSION}')"
    )

    def _probe(self, query: AuxQuery) -> bool:
        if not query(PG_PROBE_SQL, None):
            return False
        if not truthy(_first_value(query(AURORA_STAT_UTILS_SQL, None))):
            return False
        return bool(query(AURORA_REPLICA_STATUS_PROBE_SQL, None))


class GlobalAuroraPgDialect(GlobalTopologyMixin, AuroraPgDialect):
    """Aurora PostgreSQL Global Database: topology from ``aurora_global_db_instance_status()``.

    ``query_topology`` takes ``host_pattern`` in the ``global_cluster_instance_host_patterns``
    form ``region:host-pattern[:port],...``; a row whose region has no pattern is an error.
    """

    code = "global-aurora-pg"
    update_candidates: ClassVar[tuple[str, ...]] = ()

    TOPOLOGY_SQL = (
        "SELECT SERVER_ID, CASE WHEN SESSION_ID OPERATOR(pg_catalog.=) 'MASTER_SESSION_ID' "
        "THEN TRUE ELSE FALSE END, VISIBILITY_LAG_IN_MSEC, AWS_REGION "
        "FROM pg_catalog.aurora_global_db_instance_status()"
    )
    REGION_SQL = (
        "SELECT AWS_REGION FROM pg_catalog.aurora_global_db_instance_status() "
        "WHERE SERVER_ID OPERATOR(pg_catalog.=) %s"
    )

    def _probe(self, query: AuxQuery) -> bool:
        if not truthy(_first_value(query(AURORA_STAT_UTILS_SQL, None))):
            return False
        query(GLOBAL_STATUS_EXISTS_SQL, None)  # raises when the function is missing
        query(GLOBAL_INSTANCE_STATUS_EXISTS_SQL, None)
        count = _first_value(query(GLOBAL_STATUS_COUNT_SQL, None))
        return isinstance(count, int) and count > 1


class MultiAzPgDialect(PgDialect):
    """RDS Multi-AZ DB cluster (PostgreSQL): topology from ``rds_tools.show_topology()``."""

    code = "multi-az-pg"
    update_candidates: ClassVar[tuple[str, ...]] = ()
    supports_topology = True

    INSTANCE_ID_SQL = RdsPgDialect.INSTANCE_ID_SQL
    WRITER_ID_SQL = MULTI_AZ_WRITER_ID_SQL
    TOPOLOGY_SQL = (
        "SELECT id, endpoint, port "
        "FROM rds_tools.show_topology('aws_python_driver-{DRIVER_VERSION}')"
    )

    def _probe(self, query: AuxQuery) -> bool:
        # the source resource id is a string such as "db-ABC...": any non-empty value
        return bool(_text(_first_value(query(MULTI_AZ_WRITER_ID_SQL, None))))

    def writer_id(self, query: AuxQuery) -> str | None:
        """The writer's instance id: the source id, or this instance's own id when the
        query returns nothing (the connected instance is the writer)."""
        writer = _text(_first_value(query(self.WRITER_ID_SQL, None)))
        if writer:
            return writer
        own = self.instance_id(query)
        return own[0] if own else None

    def writer_check(self, query: AuxQuery) -> bool:
        """True when this instance's id equals the writer id."""
        own = self.instance_id(query)
        return own is not None and own[0] == self.writer_id(query)

    def topology_sql(self) -> str:
        """The topology SQL with the driver tag filled in."""
        assert self.TOPOLOGY_SQL is not None
        return self.TOPOLOGY_SQL.replace("{DRIVER_VERSION}", driver_version())

    def query_topology(
        self, query: AuxQuery, *, host_pattern: str, default_port: int | None
    ) -> list[HostInfo]:
        """Multi-AZ topology: role = (row id == writer id); invalid without a writer."""
        pattern = parse_host_pattern(host_pattern)
        writer = self.writer_id(query)
        return multi_az_topology(query(self.topology_sql(), None), writer, pattern, default_port)
