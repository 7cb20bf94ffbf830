"""``PgCluster.add_node``: a new instance appears in the cluster (real servers)."""

from __future__ import annotations

import psycopg
import pytest

from awsdb.resolver import get_resolver
from awsdb_testing.pg import PgCluster

pytestmark = pytest.mark.pg


def test_added_node_replicates_is_in_the_topology_and_can_become_writer(
    fresh_pg_cluster: PgCluster,
) -> None:
    cluster = fresh_pg_cluster
    with cluster.names_installed():
        node = cluster.add_node()
        assert node.instance_id == "instance-4"
        assert node.host.startswith("127.0.0.")
        assert [n.instance_id for n in cluster.nodes][-1] == "instance-4"
        assert "instance-4" in {n.instance_id for n in cluster.readers()}
        assert get_resolver().resolve(node.name) == node.host
        # every node's topology query lists it as a reader
        for member in cluster.nodes:
            rows = {str(r[0]): bool(r[1]) for r in cluster.topology(member)}
            assert rows.get("instance-4") is False
        cluster.wait_converged(timeout=20)
        report = cluster.failover(target="instance-4")
        assert report.new_writer == "instance-4"
        with psycopg.connect(**cluster.app_conninfo_kwargs("instance-4"), autocommit=True) as c:
            c.execute("INSERT INTO t (v) VALUES ('on the added node')")
        assert cluster.reported_writers("instance-2") == ["instance-4"]
    cluster.restore()
    assert [n.instance_id for n in cluster.nodes] == ["instance-1", "instance-2", "instance-3"]
    assert cluster.writer().instance_id == "instance-1"
    assert "instance-4" not in {str(r[0]) for r in cluster.topology("instance-2")}
