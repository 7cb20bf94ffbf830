"""How the driver dialects classify the errors that matter to EFM, on real servers.

EFM aborts a connection only on a host verdict; what reaches the application (and a
failover plugin) is classified by the driver dialect: a cancel or a statement timeout is
*not* a network error (no failover for a slow query), an aborted socket is. PostgreSQL
follows aurora-facts §4.1 (classes ``08``, ``53``, ``58``, ``XX``, ``F0`` and ``57P01``-``03``
are network errors), MySQL §4.2.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import mysql.connector
import psycopg
import pytest
from _efm_support import connect_mdb, connect_pg

import awsdb
from awsdb.drivers import ErrorKind
from awsdb_testing.proxy import FaultProxy


def _error(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("the call did not fail")


def _raise_pg(conn: awsdb.AwsWrapperConnection, sqlstate: str) -> BaseException:
    sql = f"DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '{sqlstate}'; END $$"
    err = _error(lambda: conn.execute(sql))
    conn.rollback()
    return err


@pytest.mark.pg
class TestPostgres:
    def test_statement_timeout_is_not_network(self, pg_hosts: list[FaultProxy]) -> None:
        with connect_pg(pg_hosts[0]) as conn:
            conn.execute("SET statement_timeout = 100")
            err = _error(lambda: conn.execute("SELECT pg_sleep(5)"))
            assert isinstance(err, psycopg.errors.QueryCanceled)
            service = conn.plugin_service
            assert not service.is_network_error(err)
            assert service.classify(err) is ErrorKind.TIMEOUT

    def test_client_cancel_is_not_network(self, pg_hosts: list[FaultProxy]) -> None:
        with connect_pg(pg_hosts[0]) as conn:
            raw = conn.target_connection
            timer = threading.Timer(0.3, raw.cancel_safe)
            timer.start()
            try:
                err = _error(lambda: conn.execute("SELECT pg_sleep(10)"))
            finally:
                timer.join()
            assert isinstance(err, psycopg.errors.QueryCanceled)
            assert not conn.plugin_service.is_network_error(err)

    @pytest.mark.parametrize(
        ("sqlstate", "kind"),
        [
            ("XX000", ErrorKind.OTHER),  # internal_error: one statement failed, host is fine
            ("53300", ErrorKind.RESOURCE),  # too_many_connections: retry, not a failover
            ("53200", ErrorKind.RESOURCE),  # out_of_memory
            ("57014", ErrorKind.TIMEOUT),  # query_canceled
            ("57P05", ErrorKind.TIMEOUT),  # idle_session_timeout
            ("23505", ErrorKind.OTHER),  # unique_violation
            ("25006", ErrorKind.READ_ONLY),
        ],
    )
    def test_sqlstates(self, pg_hosts: list[FaultProxy], sqlstate: str, kind: ErrorKind) -> None:
        with connect_pg(pg_hosts[0]) as conn:
            err = _raise_pg(conn, sqlstate)
            assert isinstance(err, psycopg.Error) and err.sqlstate == sqlstate
            assert conn.plugin_service.classify(err) is kind
            assert conn.plugin_service.is_network_error(err) is (kind is ErrorKind.NETWORK)

    def test_terminated_backend_is_network(self, pg_hosts: list[FaultProxy]) -> None:
        with connect_pg(pg_hosts[0]) as victim, connect_pg(pg_hosts[0]) as killer:
            (pid,) = victim.execute("SELECT pg_backend_pid()").fetchone()
            killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
            err = _error(lambda: victim.execute("SELECT 1"))
            assert victim.plugin_service.is_network_error(err)

    def test_aborted_socket_is_network(self, pg_hosts: list[FaultProxy]) -> None:
        with connect_pg(pg_hosts[0]) as conn:
            service = conn.plugin_service
            timer = threading.Timer(0.3, service.abort_current)
            timer.start()
            try:
                err = _error(lambda: conn.execute("SELECT pg_sleep(10)"))
            finally:
                timer.join()
            assert service.is_network_error(err)

    def test_local_close_is_not_network(self, pg_hosts: list[FaultProxy]) -> None:
        conn = connect_pg(pg_hosts[0])
        raw = conn.target_connection
        raw.close()
        err = _error(lambda: raw.execute("SELECT 1"))
        assert not conn.plugin_service.is_network_error(err)
        conn.close()


def _mdb_query(conn: awsdb.AwsWrapperConnection, sql: str) -> list[Any]:
    cur = conn.cursor()
    try:
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


@pytest.mark.mysql
class TestMySQL:
    def test_kill_query_is_not_network(self, mdb_hosts: list[FaultProxy]) -> None:
        victim, killer = connect_mdb(mdb_hosts[0]), connect_mdb(mdb_hosts[0])
        try:
            ((conn_id,),) = _mdb_query(victim, "SELECT CONNECTION_ID()")
            timer = threading.Timer(0.3, lambda: _mdb_query(killer, f"KILL QUERY {conn_id}"))
            timer.start()
            try:
                err = _error(lambda: _mdb_query(victim, "SELECT SLEEP(5) FROM seq_1_to_3"))
            finally:
                timer.join()
            assert isinstance(err, mysql.connector.Error) and err.errno == 1317
            assert victim.plugin_service.classify(err) is ErrorKind.TIMEOUT
            assert _mdb_query(victim, "SELECT 1") == [(1,)]  # the connection is still good
        finally:
            victim.close()
            killer.close()

    def test_statement_time_limit_is_not_network(self, mdb_hosts: list[FaultProxy]) -> None:
        with connect_mdb(mdb_hosts[0]) as conn:
            sql = "SET STATEMENT max_statement_time=0.2 FOR SELECT SLEEP(5) FROM seq_1_to_2"
            err = _error(lambda: _mdb_query(conn, sql))
            assert isinstance(err, mysql.connector.Error)
            assert conn.plugin_service.classify(err) is ErrorKind.TIMEOUT

    def test_generic_hy000_is_not_network(self, mdb_hosts: list[FaultProxy]) -> None:
        with connect_mdb(mdb_hosts[0]) as conn:
            err = _error(lambda: _mdb_query(conn, "SIGNAL SQLSTATE 'HY000'"))
            assert isinstance(err, mysql.connector.Error)
            assert not conn.plugin_service.is_network_error(err)

    def test_aborted_socket_is_network(self, mdb_hosts: list[FaultProxy]) -> None:
        with connect_mdb(mdb_hosts[0]) as conn:
            service = conn.plugin_service
            timer = threading.Timer(0.3, service.abort_current)
            timer.start()
            try:
                err = _error(lambda: _mdb_query(conn, "SELECT SLEEP(10)"))
            finally:
                timer.join()
            assert service.is_network_error(err)
