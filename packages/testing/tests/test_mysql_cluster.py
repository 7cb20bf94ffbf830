"""The MariaDB cluster answers the exact Aurora MySQL SQL through the rewriting proxies.

Real servers: a 3-node MariaDB GTID cluster started by the module fixture; the client is
mysql-connector-python in pure-Python mode, connected as the non-admin ``app`` user.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import mysql.connector
import pytest

from awsdb.dialects.mysql import AuroraMysqlDialect
from awsdb.resolver import get_resolver
from awsdb_testing.model import TopologyRow
from awsdb_testing.mysql import MariaDBCluster
from awsdb_testing.mysql.fixtures import mariadb_missing_reason, mdb_cluster, mdb_fresh

pytestmark = pytest.mark.mysql

# verbatim from the Aurora MySQL dialect reference (aurora-facts.md §3.3 / §3.4)
TOPOLOGY_SQL = (
    "SELECT SERVER_ID, CASE WHEN SESSION_ID = 'MASTER_SESSION_ID' THEN TRUE ELSE FALSE END, "
    "CPU, REPLICA_LAG_IN_MILLISECONDS, LAST_UPDATE_TIMESTAMP FROM "
    "information_schema.replica_host_status WHERE time_to_sec(timediff(now(), "
    "LAST_UPDATE_TIMESTAMP)) <= 300 OR SESSION_ID = 'MASTER_SESSION_ID' "
)
WRITER_CHECK_SQL = (
    "SELECT SERVER_ID FROM information_schema.replica_host_status WHERE SESSION_ID = "
    "'MASTER_SESSION_ID' AND SERVER_ID = @@aurora_server_id"
)
INSTANCE_ID_SQL = "SELECT @@aurora_server_id, @@aurora_server_id"
IS_READER_SQL = "SELECT @@innodb_read_only"
AURORA_VERSION_SQL = "SHOW VARIABLES LIKE 'aurora_version'"


@pytest.fixture(scope="module")
def cluster(awsdb_leak_check: None) -> Iterator[MariaDBCluster]:
    reason = mariadb_missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    with mdb_cluster() as c:
        yield c


@pytest.fixture
def fresh(cluster: MariaDBCluster) -> Iterator[MariaDBCluster]:
    with mdb_fresh(cluster) as c:
        yield c


def _rows(cluster: MariaDBCluster, instance_id: str, sql: str, **kw: Any) -> list[Any]:
    conn = cluster.connect_app(instance_id, autocommit=True, connection_timeout=5, **kw)
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        conn.close()


def _check_aurora_sql(cluster: MariaDBCluster, writer: str) -> None:
    """Every live node answers the exact Aurora SQL consistently with ``writer``."""
    ids = sorted(n.instance_id for n in cluster.nodes)
    for node in cluster.nodes:
        if node.pid is None:
            continue
        me = node.instance_id
        topo = _rows(cluster, me, TOPOLOGY_SQL)
        assert sorted(r[0] for r in topo) == ids
        assert [r[0] for r in topo if r[1] == 1] == [writer]
        assert all(r[3] == 0 for r in topo if r[0] == writer)
        assert _rows(cluster, me, INSTANCE_ID_SQL) == [(me, me)]
        assert _rows(cluster, me, IS_READER_SQL) == [(0 if me == writer else 1,)]
        assert _rows(cluster, me, WRITER_CHECK_SQL) == ([(me,)] if me == writer else [])
        assert _rows(cluster, me, AURORA_VERSION_SQL) == [("aurora_version", "3.08.0")]


def test_sql_matches_the_core_dialect() -> None:
    assert AuroraMysqlDialect.TOPOLOGY_SQL == TOPOLOGY_SQL
    assert AuroraMysqlDialect.WRITER_CHECK_SQL == WRITER_CHECK_SQL
    assert AuroraMysqlDialect.INSTANCE_ID_SQL == INSTANCE_ID_SQL
    assert AuroraMysqlDialect.IS_READER_SQL == IS_READER_SQL


def test_exact_aurora_sql_on_every_node(cluster: MariaDBCluster) -> None:
    assert cluster.writer().instance_id == "instance-1"
    _check_aurora_sql(cluster, "instance-1")


def test_core_dialect_reads_topology_through_the_proxy(cluster: MariaDBCluster) -> None:
    conn = cluster.connect_app(2, autocommit=True)
    try:

        def query(sql: str, params: Any) -> list[tuple[object, ...]]:
            cur = conn.cursor()
            cur.execute(sql, params)
            return list(cur.fetchall())

        dialect = AuroraMysqlDialect()
        assert dialect.is_dialect(query)
        hosts = dialect.query_topology(
            query, host_pattern=cluster.instance_host_pattern, default_port=cluster.port
        )
        assert dialect.is_reader(query)
        assert not dialect.writer_check(query)
    finally:
        conn.close()
    assert hosts[-1].host == cluster.instance_name(1)
    assert hosts[-1].host_id == "instance-1"
    assert sorted(h.host for h in hosts[:-1]) == [
        cluster.instance_name(2),
        cluster.instance_name(3),
    ]


def test_prepared_statement_through_the_rewriter(cluster: MariaDBCluster) -> None:
    conn = cluster.connect_app(3, autocommit=True)
    try:
        cur = conn.cursor(prepared=True)
        cur.execute(
            "SELECT SERVER_ID FROM information_schema.replica_host_status "
            "WHERE SERVER_ID = ? AND @@aurora_server_id = ?",
            ("instance-1", "instance-3"),
        )
        assert [tuple(r) for r in cur.fetchall()] == [("instance-1",)]
        cur.close()
    finally:
        conn.close()


def test_300kb_query_through_the_rewriter(cluster: MariaDBCluster) -> None:
    blob = "z" * 300_000
    rows = _rows(cluster, "instance-2", f"SELECT @@aurora_server_id, LENGTH('{blob}')")
    assert rows == [("instance-2", 300_000)]
    assert cluster.proxy(2).stats().bytes_up > 300_000


def test_reader_rejects_writes_like_aurora(cluster: MariaDBCluster) -> None:
    conn = cluster.connect_app(2, autocommit=True)
    try:
        with pytest.raises(mysql.connector.errors.DatabaseError) as info:
            conn.cursor().execute("INSERT INTO marker (v) VALUES ('x')")
        assert info.value.errno == 1290
        assert "--read-only option" in str(info.value)
    finally:
        conn.close()


def test_names_resolve_to_the_proxies(cluster: MariaDBCluster) -> None:
    resolver = get_resolver()
    with cluster.install_names():
        for node in cluster.nodes:
            addr = resolver.resolve(node.name)
            assert addr == node.host
            conn = mysql.connector.connect(
                host=addr, port=cluster.port, user="app", password="app", use_pure=True
            )
            cur = conn.cursor()
            cur.execute(INSTANCE_ID_SQL)
            rows: list[Any] = cur.fetchall()
            assert rows[0][0] == node.name.split(".")[0]
            conn.close()
        assert resolver.resolve(cluster.writer_endpoint) == cluster.node(1).host
        assert resolver.resolve(cluster.reader_endpoint) != cluster.node(1).host
    assert resolver.override(cluster.writer_endpoint) is None
    assert cluster.instance_host_pattern.startswith("?.")


def test_static_topology(fresh: MariaDBCluster) -> None:
    fresh.set_topology_static(
        [
            TopologyRow("instance-1", True),
            TopologyRow("instance-2", True, cpu=42.5),
            TopologyRow("instance-3", False, last_update_age_s=600),
            TopologyRow("instance-9", False, replica_lag_ms=1234.0),
            TopologyRow("instance-5", False, hidden=True),
        ]
    )
    for node in ("instance-1", "instance-2", "instance-3"):
        topo = {r[0]: r for r in _rows(fresh, node, TOPOLOGY_SQL)}
        assert sorted(topo) == ["instance-1", "instance-2", "instance-9"]  # stale and hidden gone
        assert topo["instance-1"][1] == 1 and topo["instance-2"][1] == 1  # two writers
        assert topo["instance-2"][2] == 42.5
        assert topo["instance-9"][3] == 1234.0
    fresh.set_topology_static([TopologyRow("instance-2", False), TopologyRow("instance-3", False)])
    for node in ("instance-1", "instance-2", "instance-3"):
        assert [r for r in _rows(fresh, node, TOPOLOGY_SQL) if r[1] == 1] == []
        assert _rows(fresh, node, WRITER_CHECK_SQL) == []
    fresh.set_live()
    _check_aurora_sql(fresh, "instance-1")


def test_failover_rejoin_and_names(fresh: MariaDBCluster) -> None:
    resolver = get_resolver()
    fresh.install_names()
    victim = fresh.connect_app(1, autocommit=True)
    victim_cur = victim.cursor()
    victim_cur.execute("INSERT INTO marker (v) VALUES ('before')")
    report = fresh.failover()
    assert report.old_writer == "instance-1"
    assert report.new_writer in ("instance-2", "instance-3")
    for step in ("killed", "promoted", "writable", "repointed", "converged", "replicated"):
        assert step in report.steps
    # the client on the killed writer gets mysql-connector's lost-connection error
    with pytest.raises(mysql.connector.errors.Error) as info:
        victim_cur.execute("SELECT 1")
        victim_cur.fetchall()
    assert info.value.errno in (2013, 2055)
    victim.close()
    assert fresh.writer().instance_id == report.new_writer
    assert resolver.resolve(fresh.writer_endpoint) == fresh.node(report.new_writer).host
    _check_aurora_sql(fresh, report.new_writer)
    # writes on the new writer as app, visible on the other live replica
    _rows(fresh, report.new_writer, "INSERT INTO marker (v) VALUES ('after')")
    fresh.rejoin("instance-1")
    fresh.wait_converged(30)
    _check_aurora_sql(fresh, report.new_writer)
    for node in fresh.nodes:
        values = [r[0] for r in _rows(fresh, node.instance_id, "SELECT v FROM marker")]
        assert "before" in values and "after" in values


def test_failover_to_chosen_target_with_clean_stop(fresh: MariaDBCluster) -> None:
    report = fresh.failover(target="instance-3", kill=False)
    assert (report.method, report.new_writer) == ("stop", "instance-3")
    _check_aurora_sql(fresh, "instance-3")
    fresh.reclone("instance-1")
    assert fresh.replication_status("instance-1") is not None
    fresh.wait_converged(30)
    _check_aurora_sql(fresh, "instance-3")


def test_restore_brings_back_the_snapshot(cluster: MariaDBCluster) -> None:
    # runs after the destructive tests: the fixture restored node 1 as the writer
    assert cluster.writer().instance_id == "instance-1"
    assert [n.instance_id for n in cluster.readers()] == ["instance-2", "instance-3"]
    pids = cluster.pids()
    assert sorted(pids) == ["instance-1", "instance-2", "instance-3"]
    assert {n.instance_id: n.pid for n in cluster.nodes} == pids
