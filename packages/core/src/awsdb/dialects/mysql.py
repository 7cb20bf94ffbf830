"""MySQL-family dialects: ``mysql``, ``rds-mysql``, ``aurora-mysql``, ``multi-az-mysql``,
``global-aurora-mysql``. SQL texts are the interoperability facts of aurora-facts §3, verbatim
(including the trailing space of the Aurora MySQL topology query)."""

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
)
from awsdb.hosts import HostInfo
from awsdb.rds import parse_host_pattern

__all__ = [
    "AuroraMysqlDialect",
    "GlobalAuroraMysqlDialect",
    "MultiAzMysqlDialect",
    "MysqlDialect",
    "RdsMysqlDialect",
]

VERSION_COMMENT_SQL = "SHOW VARIABLES LIKE 'version_comment'"
REPORT_HOST_SQL = "SHOW VARIABLES LIKE 'report_host'"
AURORA_VERSION_SQL = "SHOW VARIABLES LIKE 'aurora_version'"
GLOBAL_STATUS_TABLE_SQL = (
    "SELECT 1 AS tmp FROM information_schema.tables WHERE "
    "upper(table_schema) = 'INFORMATION_SCHEMA' AND upper(table_name) = 'AURORA_GLOBAL_DB_STATUS'"
)
GLOBAL_INSTANCE_STATUS_TABLE_SQL = (
    "SELECT 1 AS tmp FROM information_schema.tables WHERE "
    "upper(table_schema) = 'INFORMATION_SCHEMA' AND "
    "upper(table_name) = 'AURORA_GLOBAL_DB_INSTANCE_STATUS'"
)
GLOBAL_STATUS_COUNT_SQL = "SELECT count(1) FROM information_schema.aurora_global_db_status"
RDS_TOPOLOGY_SQL = "SELECT id, endpoint, port FROM mysql.rds_topology"
REPLICA_STATUS_SQL = "SHOW REPLICA STATUS"
SOURCE_SERVER_ID_COLUMN = 39
"""Index of ``Source_Server_Id`` in ``SHOW REPLICA STATUS``."""

_BG_EXISTS_SQL = (
    "SELECT 1 AS tmp FROM information_schema.tables WHERE "
    "table_schema = 'mysql' AND table_name = 'rds_topology'"
)
_BG_STATUS_SQL = "SELECT version, endpoint, port, role, status FROM mysql.rds_topology"


def _variable_value(rows: list[tuple[object, ...]]) -> str:
    """Column 2 of a ``SHOW VARIABLES`` row (``''`` without a row)."""
    if not rows or len(rows[0]) < 2:
        return ""
    return _text(rows[0][1]) or ""


class MysqlDialect(DatabaseDialect):
    """Plain MySQL (no topology). MariaDB servers are served by this dialect too (as the
    guess for the MySQL family), although its probe only matches a ``version_comment``
    containing ``mysql``."""

    code = "mysql"
    family = "mysql"
    default_port = 3306
    update_candidates: ClassVar[tuple[str, ...]] = (
        "aurora-mysql",
        "global-aurora-mysql",
        "multi-az-mysql",
        "rds-mysql",
    )

    HOST_ALIAS_SQL = "SELECT CONCAT(@@hostname, ':', @@port)"
    INSTANCE_ID_SQL = "SELECT @@hostname AS host, CONCAT(@@hostname, ':', @@port) AS host_id"
    IS_READER_SQL = "SELECT @@read_only"

    def _probe(self, query: AuxQuery) -> bool:
        return "mysql" in _variable_value(query(VERSION_COMMENT_SQL, None)).lower()


class RdsMysqlDialect(MysqlDialect):
    """RDS for MySQL: ``version_comment`` is ``Source distribution`` and ``report_host`` set."""

    code = "rds-mysql"
    update_candidates: ClassVar[tuple[str, ...]] = (
        "aurora-mysql",
        "global-aurora-mysql",
        "multi-az-mysql",
    )

    INSTANCE_ID_SQL = (
        "SELECT id, SUBSTRING_INDEX(endpoint, '.', 1) FROM mysql.rds_topology "
        "WHERE id = @@server_id"
    )
    BLUE_GREEN_EXISTS_SQL = _BG_EXISTS_SQL
    BLUE_GREEN_STATUS_SQL = _BG_STATUS_SQL

    def _probe(self, query: AuxQuery) -> bool:
        comment = _variable_value(query(VERSION_COMMENT_SQL, None))
        if comment.lower() != "source distribution":
            return False
        return bool(_variable_value(query(REPORT_HOST_SQL, None)))


class AuroraMysqlDialect(MysqlDialect):
    """Aurora MySQL: topology from ``information_schema.replica_host_status``."""

    code = "aurora-mysql"
    update_candidates: ClassVar[tuple[str, ...]] = ("global-aurora-mysql", "multi-az-mysql")
    supports_topology = True

    INSTANCE_ID_SQL = "SELECT @@aurora_server_id, @@aurora_server_id"
    IS_READER_SQL = "SELECT @@innodb_read_only"
    TOPOLOGY_SQL = (
        "SELECT SERVER_ID, CASE WHEN SESSION_ID = 'MASTER_SESSION_ID' THEN TRUE ELSE FALSE END, "
        "CPU, REPLICA_LAG_IN_MILLISECONDS, LAST_UPDATE_TIMESTAMP "
        "FROM information_schema.replica_host_status "
        "WHERE time_to_sec(timediff(now(), LAST_UPDATE_TIMESTAMP)) <= 300 "
        "OR SESSION_ID = 'MASTER_SESSION_ID' "
    )
    WRITER_CHECK_SQL = (
        "SELECT SERVER_ID FROM information_schema.replica_host_status "
        "WHERE SESSION_ID = 'MASTER_SESSION_ID' AND SERVER_ID = @@aurora_server_id"
    )
    BLUE_GREEN_EXISTS_SQL = _BG_EXISTS_SQL
    BLUE_GREEN_STATUS_SQL = _BG_STATUS_SQL

    def _probe(self, query: AuxQuery) -> bool:
        return bool(query(AURORA_VERSION_SQL, None))


class GlobalAuroraMysqlDialect(GlobalTopologyMixin, AuroraMysqlDialect):
    """Aurora MySQL Global Database. ``query_topology`` takes ``host_pattern`` in the
    ``region:host-pattern[:port],...`` form."""

    code = "global-aurora-mysql"
    update_candidates: ClassVar[tuple[str, ...]] = ()

    TOPOLOGY_SQL = (
        "SELECT SERVER_ID, CASE WHEN SESSION_ID = 'MASTER_SESSION_ID' THEN TRUE ELSE FALSE END, "
        "VISIBILITY_LAG_IN_MSEC, AWS_REGION "
        "FROM information_schema.aurora_global_db_instance_status "
    )
    REGION_SQL = (
        "SELECT AWS_REGION FROM information_schema.aurora_global_db_instance_status "
        "WHERE SERVER_ID = %s"
    )

    def _probe(self, query: AuxQuery) -> bool:
        if not query(GLOBAL_STATUS_TABLE_SQL, None):
            return False
        if not query(GLOBAL_INSTANCE_STATUS_TABLE_SQL, None):
            return False
        count = _first_value(query(GLOBAL_STATUS_COUNT_SQL, None))
        return isinstance(count, int) and count > 1


class MultiAzMysqlDialect(MysqlDialect):
    """RDS Multi-AZ DB cluster (MySQL): topology from ``mysql.rds_topology``."""

    code = "multi-az-mysql"
    update_candidates: ClassVar[tuple[str, ...]] = ()
    supports_topology = True

    INSTANCE_ID_SQL = RdsMysqlDialect.INSTANCE_ID_SQL
    TOPOLOGY_SQL = RDS_TOPOLOGY_SQL
    WRITER_ID_SQL = REPLICA_STATUS_SQL

    def _probe(self, query: AuxQuery) -> bool:
        if not query(RDS_TOPOLOGY_SQL, None):
            return False
        return bool(_variable_value(query(REPORT_HOST_SQL, None)))

    def writer_id(self, query: AuxQuery) -> str | None:
        """``Source_Server_Id`` of ``SHOW REPLICA STATUS``; without a row this instance is
        the writer and its own id (column 0 of the instance-id query) is returned."""
        rows = query(self.WRITER_ID_SQL, None)
        if rows:  # a replica: the writer is its source (unknown on a too-short row)
            row = rows[0]
            return (
                _text(row[SOURCE_SERVER_ID_COLUMN]) if len(row) > SOURCE_SERVER_ID_COLUMN else None
            )
        own = self.instance_id(query)
        return own[0] if own else None

    def writer_check(self, query: AuxQuery) -> bool:
        """True when this instance's id equals the writer id."""
        own = self.instance_id(query)
        return own is not None and own[0] == self.writer_id(query)

    def connect_attributes(self) -> dict[str, str]:
        """Connection attributes the driver dialect sends to Multi-AZ MySQL clusters."""
        return {
            "python_wrapper_name": "aws_python_driver",
            "python_wrapper_version": driver_version(),
        }

    def query_topology(
        self, query: AuxQuery, *, host_pattern: str, default_port: int | None
    ) -> list[HostInfo]:
        """Multi-AZ topology: role = (row id == writer id); invalid without a writer."""
        pattern = parse_host_pattern(host_pattern)
        writer = self.writer_id(query)
        assert self.TOPOLOGY_SQL is not None
        return multi_az_topology(query(self.TOPOLOGY_SQL, None), writer, pattern, default_port)
