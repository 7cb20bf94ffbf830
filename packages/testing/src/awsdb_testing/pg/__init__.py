"""Local PostgreSQL clusters that emulate Aurora PostgreSQL / RDS PostgreSQL.

Example::

    from awsdb_testing.pg import PgCluster

    with PgCluster() as cluster, cluster.names_installed():
        report = cluster.failover()
        print(report.new_writer, report.writable_s)
"""

from awsdb_testing.pg.binaries import PgBinaries, PgBinariesNotFoundError, find_pg_binaries
from awsdb_testing.pg.cluster import TOPOLOGY_SQL, WRITER_CHECK_SQL, PgCluster, PgClusterConfig
from awsdb_testing.pg.names import ClusterNames, random_cluster_hash

__all__ = [
    "TOPOLOGY_SQL",
    "WRITER_CHECK_SQL",
    "ClusterNames",
    "PgBinaries",
    "PgBinariesNotFoundError",
    "PgCluster",
    "PgClusterConfig",
    "find_pg_binaries",
    "random_cluster_hash",
]
