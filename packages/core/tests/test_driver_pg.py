"""psycopg driver dialect against a real PostgreSQL: classification, abort, aux queries."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from awsdb.drivers import ErrorKind
from awsdb.drivers._psycopg import PsycopgDialect

D = PsycopgDialect()


def _error(fn: Any) -> BaseException:
    try:
        fn()
    except BaseException as exc:
        return exc
    raise AssertionError("no error raised")


def test_terminated_backend_is_a_network_error(pg_server: Any) -> None:
    victim = pg_server.connect(autocommit=True)
    pid = victim.info.backend_pid
    with psycopg.connect(
        host=pg_server.extra["socket_dir"],
        port=pg_server.port,
        user="postgres",
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    exc = _error(lambda: victim.execute("SELECT 1"))
    assert D.classify(exc) is ErrorKind.NETWORK
    victim.close()


def test_statement_timeout_is_not_a_network_error(pg_server: Any) -> None:
    with pg_server.connect(autocommit=True) as conn:
        conn.execute("SET statement_timeout = 50")
        exc = _error(lambda: conn.execute("SELECT pg_sleep(2)"))
        assert isinstance(exc, psycopg.errors.QueryCanceled)
        assert D.classify(exc) is ErrorKind.TIMEOUT


def test_client_cancel_is_not_a_network_error(pg_server: Any) -> None:
    with pg_server.connect(autocommit=True) as conn:
        timer = threading.Timer(0.2, conn.cancel_safe)
        timer.start()
        exc = _error(lambda: conn.execute("SELECT pg_sleep(5)"))
        timer.join()
        assert D.classify(exc) is ErrorKind.TIMEOUT


def test_read_only_transaction_is_a_read_only_error(pg_server: Any) -> None:
    with pg_server.connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS ro (v int)")
        conn.commit()
        conn.read_only = True
        exc = _error(lambda: conn.execute("INSERT INTO ro VALUES (1)"))
        assert D.classify(exc) is ErrorKind.READ_ONLY
        conn.rollback()
        conn.read_only = False
        conn.execute("DROP TABLE ro")
        conn.commit()


def test_bad_password_is_a_login_error(pg_server: Any) -> None:
    exc = _error(lambda: pg_server.connect(password="wrong"))
    assert D.classify(exc) is ErrorKind.LOGIN
    assert "wrong" not in str(exc)


def test_refused_connect_is_a_network_error(pg_server: Any) -> None:
    from _servers import free_port

    exc = _error(lambda: psycopg.connect(host="127.0.0.1", port=free_port(), connect_timeout=2))
    assert D.classify(exc) is ErrorKind.NETWORK


def test_local_close_is_not_a_network_error(pg_server: Any) -> None:
    conn = pg_server.connect()
    conn.close()
    exc = _error(lambda: conn.execute("SELECT 1"))
    assert D.classify(exc) is ErrorKind.OTHER


def test_sqlstate_prefix_rules() -> None:
    for state, kind in [
        ("08006", ErrorKind.NETWORK),
        ("08001", ErrorKind.NETWORK),
        ("53300", ErrorKind.RESOURCE),
        ("57P01", ErrorKind.NETWORK),
        ("57P02", ErrorKind.NETWORK),
        ("57P03", ErrorKind.NETWORK),
        ("58030", ErrorKind.NETWORK),
        ("XX000", ErrorKind.OTHER),
        ("F0000", ErrorKind.NETWORK),
        ("57014", ErrorKind.TIMEOUT),
        ("57P05", ErrorKind.TIMEOUT),
        ("57000", ErrorKind.OTHER),
        ("28P01", ErrorKind.LOGIN),
        ("28000", ErrorKind.LOGIN),
        ("25006", ErrorKind.READ_ONLY),
        ("23505", ErrorKind.OTHER),
        ("42601", ErrorKind.OTHER),
    ]:
        cls = psycopg.errors.lookup(state)
        assert D.classify(cls("x")) is kind, state


def test_abort_unblocks_a_call_in_another_thread(pg_server: Any) -> None:
    conn = pg_server.connect(autocommit=True)
    result: list[BaseException] = []

    def owner() -> None:
        try:
            conn.execute("SELECT pg_sleep(30)")
        except BaseException as exc:
            result.append(exc)

    t = threading.Thread(target=owner)
    t.start()
    time.sleep(0.3)
    D.abort(conn)
    t.join(10)
    assert not t.is_alive()  # unblocked (a hang guard, not a timing figure)
    assert result and D.classify(result[0]) is ErrorKind.NETWORK
    conn.close()  # the owner closes; the descriptor was not closed under it
    assert conn.closed


@pytest.mark.parametrize("autocommit", [True, False])
def test_aux_query_leaves_session_state_as_found(pg_server: Any, autocommit: bool) -> None:
    with pg_server.connect(autocommit=autocommit) as conn:
        rows = D.run_aux_query(conn, "SELECT pg_catalog.pg_is_in_recovery()")
        assert rows == [(False,)]
        assert not D.in_transaction(conn)
        with pytest.raises(psycopg.Error):
            D.run_aux_query(conn, "SELECT 1 FROM pg_catalog.aurora_replica_status() LIMIT 1")
        assert not D.in_transaction(conn)
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)


def test_aux_query_inside_a_transaction_keeps_it_usable(pg_server: Any) -> None:
    with pg_server.connect() as conn:
        conn.execute("CREATE TEMP TABLE tx (v int)")
        conn.execute("INSERT INTO tx VALUES (1)")
        with pytest.raises(psycopg.Error):
            D.run_aux_query(conn, "SELECT no_such_column FROM tx")
        assert D.in_transaction(conn)
        assert conn.execute("SELECT count(*) FROM tx").fetchone() == (1,)


def test_aux_query_timeout_applies(pg_server: Any) -> None:
    with pg_server.connect(autocommit=True) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled):
            D.run_aux_query(conn, "SELECT pg_sleep(5)", timeout_s=0.1)
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("autocommit", [True, False])
def test_aux_query_without_params_is_one_message_and_restores_the_mode(
    pg_server: Any, autocommit: bool
) -> None:
    with pg_server.connect(autocommit=autocommit) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled):
            D.run_aux_query(conn, "SELECT pg_catalog.pg_sleep(5)", timeout_s=0.1)
        assert conn.autocommit is autocommit and not D.in_transaction(conn)
        assert D.run_aux_query(conn, "SELECT 1;") == [(1,)]
        assert D.run_aux_query(conn, "SELECT %s::int", (7,)) == [(7,)]  # bound: own path
        assert conn.autocommit is autocommit
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)
        assert D.in_transaction(conn) is (not autocommit)  # the driver's own BEGIN, as before
