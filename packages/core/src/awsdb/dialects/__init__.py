"""Database dialects: the SQL of each database kind and how a connection's kind is detected.

Codes: ``pg``, ``rds-pg``, ``aurora-pg``, ``multi-az-pg``, ``global-aurora-pg``, ``mysql``,
``rds-mysql``, ``aurora-mysql``, ``multi-az-mysql``, ``global-aurora-mysql``
(aurora-facts §3). Detection (:func:`detect_dialect`) follows §3.2: ``wrapper_dialect``
override, the per-URL cache, a guess from the host-name taxonomy, then the probes of the
guess's update candidates. Dialects only run statements through an :data:`AuxQuery` supplied
by the driver dialect; they never touch raw connections.
"""

from __future__ import annotations

from awsdb.dialects._base import (
    AuxQuery,
    BlueGreenRow,
    DatabaseDialect,
    TopologyRow,
    build_topology,
    driver_version,
    global_topology,
    multi_az_topology,
    parse_global_host_patterns,
    truthy,
)
from awsdb.dialects._detect import (
    BUILTIN_DIALECTS,
    UNKNOWN_CANDIDATES,
    DialectCache,
    DialectRegistry,
    detect_dialect,
    guess_dialect,
    normalize_family,
)
from awsdb.dialects.mysql import (
    AuroraMysqlDialect,
    GlobalAuroraMysqlDialect,
    MultiAzMysqlDialect,
    MysqlDialect,
    RdsMysqlDialect,
)
from awsdb.dialects.pg import (
    AuroraPgDialect,
    GlobalAuroraPgDialect,
    MultiAzPgDialect,
    PgDialect,
    RdsPgDialect,
)

__all__ = [
    "BUILTIN_DIALECTS",
    "UNKNOWN_CANDIDATES",
    "AuroraMysqlDialect",
    "AuroraPgDialect",
    "AuxQuery",
    "BlueGreenRow",
    "DatabaseDialect",
    "DialectCache",
    "DialectRegistry",
    "GlobalAuroraMysqlDialect",
    "GlobalAuroraPgDialect",
    "MultiAzMysqlDialect",
    "MultiAzPgDialect",
    "MysqlDialect",
    "PgDialect",
    "RdsMysqlDialect",
    "RdsPgDialect",
    "TopologyRow",
    "build_topology",
    "detect_dialect",
    "driver_version",
    "global_topology",
    "guess_dialect",
    "multi_az_topology",
    "normalize_family",
    "parse_global_host_patterns",
    "truthy",
]
