"""MariaDB cluster harness that emulates Aurora MySQL (GTID replication, rewriting proxies).

Public API: :class:`MariaDBCluster`, :class:`MySQLBlueGreen`, :class:`QueryRewriter`,
:func:`find_mariadb`, and the fixture helpers in :mod:`awsdb_testing.mysql.fixtures`.
Importing this package starts nothing.
"""

from __future__ import annotations

from awsdb_testing.mysql._server import MariaDBBinaries, find_mariadb
from awsdb_testing.mysql.bluegreen import BG_STATUSES, MySQLBlueGreen
from awsdb_testing.mysql.cluster import MariaDBCluster, NodeRef, ReplicationError
from awsdb_testing.mysql.rewriter import (
    DEFAULT_AURORA_VERSION,
    QueryRewriter,
    rewrite_sql,
    rewriter_factory,
)

__all__ = [
    "BG_STATUSES",
    "DEFAULT_AURORA_VERSION",
    "MariaDBBinaries",
    "MariaDBCluster",
    "MySQLBlueGreen",
    "NodeRef",
    "QueryRewriter",
    "ReplicationError",
    "find_mariadb",
    "rewrite_sql",
    "rewriter_factory",
]
