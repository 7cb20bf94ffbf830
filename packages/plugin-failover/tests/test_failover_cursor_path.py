"""The per-statement path of the default chain on a real emulated Aurora PostgreSQL cluster.

The tracker and failover layers are bound once per cursor (and per driver connection); these
tests check that what they decide per call still reflects the state at the moment of the
call: a transaction opened after the cursor's chain was bound is reported unknown, a cursor
bound on the replacement connection reads the replacement's state, and commits stay
ambiguous.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import awsdb
from awsdb_testing.pg import PgCluster

pytestmark = pytest.mark.pg

FAST = {"topology_refresh_ms": 500, "failover_timeout_sec": 30}


def _connect(cluster: PgCluster, **kw: Any) -> Any:
    return awsdb.connect(
        psycopg.Connection.connect,
        f"host={cluster.names.writer_endpoint} port={cluster.nodes[0].port} user=app dbname=app",
        **{**FAST, **kw},
    )


def _server_id(conn: Any) -> str:
    row = conn.execute("SELECT pg_catalog.aurora_db_instance_identifier()").fetchone()
    return str(row[0])


def test_default_chain_cursor_reports_the_transaction_state_of_each_call(
    cluster: PgCluster,
) -> None:
    with psycopg.connect(**cluster.app_conninfo_kwargs(cluster.writer()), autocommit=True) as c:
        c.execute("CREATE TABLE IF NOT EXISTS fo_cur (id int PRIMARY KEY)")
        c.execute("TRUNCATE fo_cur")
    conn = _connect(cluster, autocommit=True)  # the default chain
    try:
        names = [type(p).__name__ for p in conn.plugin_service.plugins]
        assert "FailoverPlugin" in names and "AuroraConnectionTrackerPlugin" in names
        cur = conn.cursor()
        cur.execute("SELECT 1")  # the cursor's chain is bound here, outside a transaction
        assert cur.fetchall() == [(1,)]
        cur.execute("BEGIN")  # an explicit transaction on an autocommit connection
        cur.execute("INSERT INTO fo_cur VALUES (1)")
        cluster.failover(target="instance-2")
        with pytest.raises(awsdb.TransactionResolutionUnknownError) as info:
            cur.execute("INSERT INTO fo_cur VALUES (2)")
        assert isinstance(info.value.__cause__, psycopg.OperationalError)
        assert _server_id(conn) == "instance-2"
        assert conn.execute("SELECT count(*) FROM fo_cur").fetchone() == (0,)

        # a cursor bound on the replacement connection, idle at the failing call
        cur = conn.cursor()
        cur.execute("SELECT 2")
        assert cur.fetchone() == (2,)
        cluster.failover(target="instance-3")
        with pytest.raises(awsdb.FailoverSuccessError):
            cur.execute("SELECT 3")
        assert _server_id(conn) == "instance-3"
        with pytest.raises(awsdb.InterfaceError, match="replaced"):
            cur.fetchall()
    finally:
        conn.close()


def test_first_statement_of_a_transaction_succeeds_over_and_commit_is_ambiguous(
    cluster: PgCluster,
) -> None:
    conn = _connect(cluster)  # not autocommit: psycopg opens each transaction itself
    try:
        conn.commit()  # binds the commit chain while no transaction is open
        cur = conn.cursor()
        cluster.failover(target="instance-2")
        with pytest.raises(awsdb.FailoverSuccessError):
            cur.execute("SELECT 1")  # idle before the call: nothing was lost
        assert _server_id(conn) == "instance-2"  # opens a transaction on the new writer
        cluster.failover(target="instance-3")
        with pytest.raises(awsdb.TransactionResolutionUnknownError):
            conn.commit()
        assert _server_id(conn) == "instance-3"
    finally:
        conn.close()


def test_a_lost_connection_under_a_named_cursor_fetch_is_failed_over(cluster: PgCluster) -> None:
    conn = _connect(cluster, plugins="initial_connection,aurora_connection_tracker,failover")
    try:
        named = conn.cursor("awsdb_stream")
        named.execute("SELECT g FROM generate_series(1, 100000) AS g")
        assert named.fetchmany(3) == [(1,), (2,), (3,)]
        cluster.failover(target="instance-2")
        # the named cursor lives in a transaction: its rows on the old writer are gone
        with pytest.raises(awsdb.TransactionResolutionUnknownError):
            named.fetchmany(3)
        with pytest.raises(awsdb.InterfaceError, match="replaced"):
            named.fetchall()
        # the connection itself carries on, on the new writer
        assert _server_id(conn) == "instance-2"
        conn.rollback()
        # a client-side cursor's fetches are the driver's own, never failed over
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchall.__self__ is cur.target_cursor
    finally:
        conn.close()
