"""Aurora-shaped host names through the process resolver, and the writer endpoint flip."""

from __future__ import annotations

import time

import psycopg
import pytest

from awsdb import rds
from awsdb.resolver import get_resolver
from awsdb_testing.pg import PgCluster

pytestmark = pytest.mark.pg


def _instance_id_via_name(cluster: PgCluster, name: str) -> str:
    address = get_resolver().resolve(name)
    assert address is not None
    # libpq connects to hostaddr while keeping host as the name, as the core driver does
    with psycopg.connect(
        host=name, hostaddr=address, port=cluster.nodes[0].port, user="app", dbname="app"
    ) as conn:
        row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
    assert row is not None
    return str(row[0])


def test_names_resolve_to_nodes_and_are_removed(pg_cluster: PgCluster) -> None:
    names = pg_cluster.names
    with pg_cluster.names_installed() as mapping:
        assert rds.classify(names.writer_endpoint).name == "RDS_WRITER_CLUSTER"
        assert rds.classify(names.reader_endpoint).name == "RDS_READER_CLUSTER"
        assert rds.region_of(names.writer_endpoint) == "us-east-1"
        pattern = rds.instance_host_pattern(names.writer_endpoint)
        assert pattern == names.instance_host_pattern
        for node in pg_cluster.nodes:
            # the host pattern maps the reported instance id to the node's name
            assert pattern is not None
            name = pattern.replace("?", node.instance_id)
            assert name == node.name
            assert mapping[name] == node.host
            assert _instance_id_via_name(pg_cluster, name) == node.instance_id
        assert _instance_id_via_name(pg_cluster, names.writer_endpoint) == "instance-1"
        assert _instance_id_via_name(pg_cluster, names.reader_endpoint) != "instance-1"
    for name in mapping:
        assert get_resolver().override(name) is None


def test_writer_endpoint_flips_after_stale_dns_delay(awsdb_leak_check: None) -> None:
    with PgCluster(stale_dns_s=0.5, first_octet=61) as cluster, cluster.names_installed():
        endpoint = cluster.names.writer_endpoint
        assert get_resolver().override(endpoint) == "127.0.0.61"
        report = cluster.failover(target="instance-2")
        elapsed = report.steps["replicated"]
        if elapsed < 0.45:  # still inside the emulated DNS TTL: the name is stale
            assert get_resolver().override(endpoint) == "127.0.0.61"
        deadline = time.monotonic() + 10
        while get_resolver().override(endpoint) != "127.0.0.62":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert _instance_id_via_name(cluster, endpoint) == "instance-2"
    assert get_resolver().override(endpoint) is None
