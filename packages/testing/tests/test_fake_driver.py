"""The fake DB-API driver: scripted results and failures, the call log, and its dialect."""

from __future__ import annotations

import importlib.metadata as md
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import awsdb
from awsdb.drivers import ErrorKind
from awsdb_testing import fake_dialect, fake_driver
from awsdb_testing.fake_dialect import FakeDriverDialect
from awsdb_testing.fake_driver import (
    FakeDriver,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    Script,
)

DIALECT = FakeDriverDialect()


@pytest.fixture(autouse=True)
def _fresh_services() -> Iterator[None]:
    awsdb.release_resources()
    yield
    awsdb.release_resources()


def _run_in_thread(fn: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=target, name="fake-driver-test", daemon=True)
    thread.start()
    return thread, out


# --- module shape and exceptions -----------------------------------------------------------


def test_pep249_module_attributes_and_exception_tree() -> None:
    driver = FakeDriver()
    assert (driver.apilevel, driver.paramstyle) == ("2.0", "pyformat")
    assert fake_driver.threadsafety == driver.threadsafety == 2
    for name in ("InterfaceError", "DatabaseError"):
        assert issubclass(getattr(fake_driver, name), fake_driver.Error)
    for name in ("DataError", "OperationalError", "IntegrityError", "InternalError"):
        assert issubclass(getattr(fake_driver, name), fake_driver.DatabaseError)
    assert issubclass(fake_driver.ProgrammingError, fake_driver.DatabaseError)
    assert issubclass(fake_driver.NotSupportedError, fake_driver.DatabaseError)
    assert driver.OperationalError is fake_driver.OperationalError
    exc = IntegrityError("duplicate", sqlstate="23505", errno=1062)
    assert (exc.sqlstate, exc.errno, str(exc)) == ("23505", 1062, "duplicate")
    assert "sqlstate='23505'" in repr(exc)


def test_module_connect_uses_a_private_driver_with_the_given_script() -> None:
    script = Script().on_sql("SELECT 1", [(1,)])
    conn = fake_driver.connect(script=script, host="h1", port=5432, user="app")
    assert conn.execute("SELECT 1").fetchall() == [(1,)]
    assert (conn.host, conn.port, conn.kwargs["user"]) == ("h1", 5432, "app")
    other = fake_driver.connect(host="h1")
    assert other.driver is not conn.driver
    conn.close()
    other.close()


# --- results -------------------------------------------------------------------------------


def test_exact_and_regex_results_with_description_and_rowcount() -> None:
    driver = FakeDriver()
    driver.script.on_sql("SELECT id FROM t", [(1,), (2,), (3,)], columns=["id"])
    driver.script.on_sql(re.compile(r"^UPDATE t\b"), rowcount=7)
    driver.script.on_sql(r"select \d+", [(9, "x")], regex=True)
    cur = driver.connect(host="h").cursor()
    assert cur.execute("  SELECT id FROM t ") is cur
    assert cur.description == (("id", None, None, None, None, None, None),)
    assert cur.rowcount == 3
    assert cur.fetchone() == (1,)
    assert cur.fetchmany(5) == [(2,), (3,)]
    assert cur.fetchone() is None
    cur.execute("UPDATE t SET x = 1")
    assert cur.rowcount == 7
    assert cur.description is None
    with pytest.raises(ProgrammingError, match="didn't produce a result"):
        cur.fetchall()
    cur.execute("select 42")
    assert cur.description is not None
    assert [d[0] for d in cur.description] == ["column1", "column2"]
    assert list(cur) == [(9, "x")]


def test_latest_rule_wins_and_rows_may_depend_on_parameters() -> None:
    driver = FakeDriver()
    driver.script.on_sql(re.compile("FROM users"), [("old",)])
    driver.script.on_sql(
        re.compile("FROM users WHERE id"), lambda params: [(params["id"], f"user{params['id']}")]
    )
    cur = driver.connect().cursor()
    cur.execute("SELECT * FROM users WHERE id = %(id)s", {"id": 5})
    assert cur.fetchall() == [(5, "user5")]
    cur.execute("SELECT * FROM users")
    assert cur.fetchall() == [("old",)]


def test_unmatched_statement_has_no_result_or_fails_when_strict() -> None:
    cur = FakeDriver().connect().cursor()
    cur.execute("CREATE TABLE t (x int)")
    assert cur.description is None
    assert cur.rowcount == -1
    strict = FakeDriver(Script(strict=True)).connect().cursor()
    with pytest.raises(ProgrammingError, match="no scripted result") as info:
        strict.execute("SELECT nothing")
    assert info.value.sqlstate == "42601"


def test_scripted_error_result_is_raised_as_the_same_object() -> None:
    boom = IntegrityError("duplicate key", sqlstate="23505")
    driver = FakeDriver()
    driver.script.on_sql("INSERT 1", error=boom)
    cur = driver.connect().cursor()
    with pytest.raises(IntegrityError) as info:
        cur.execute("INSERT 1")
    assert info.value is boom
    assert driver.calls.last("Cursor.execute").error is boom


def test_executemany_callproc_and_nextset() -> None:
    driver = FakeDriver()
    driver.script.on_sql("INSERT x", rowcount=1)
    driver.script.on_sql("myproc", [(42,)], columns=["answer"])
    cur = driver.connect().cursor()
    cur.executemany("INSERT x", [{"a": 1}, {"a": 2}, {"a": 3}])
    assert cur.rowcount == 3
    assert cur.callproc("myproc", (1, 2)) == (1, 2)
    assert cur.fetchall() == [(42,)]
    assert cur.nextset() is None


# --- call log ------------------------------------------------------------------------------


def test_call_log_names_arguments_and_property_access() -> None:
    driver = FakeDriver()
    conn = driver.connect(host="db1", user="app", password="pw")
    conn.autocommit = True
    assert conn.autocommit is True
    cur = conn.cursor()
    cur.execute("SELECT 1", {"a": 1})
    cur.arraysize = 10
    _ = cur.arraysize
    cur.close()
    conn.close()
    assert driver.calls.methods() == [
        "connect",
        "Connection.autocommit.set",
        "Connection.autocommit",
        "Connection.cursor",
        "Cursor.execute",
        "Cursor.arraysize.set",
        "Cursor.arraysize",
        "Cursor.close",
        "Connection.close",
    ]
    connect = driver.calls.of("connect")[0]
    assert connect.kwargs == {"host": "db1", "user": "app", "password": "pw"}
    assert connect.connection_id == conn.id
    execute = driver.calls.last("Cursor.execute")
    assert (execute.args, execute.host) == (("SELECT 1", {"a": 1}), "db1")
    assert driver.calls.count("Cursor.arraysize") == 1
    driver.calls.clear()
    assert len(driver.calls) == 0
    with pytest.raises(LookupError):
        driver.calls.last()


def test_closed_connection_and_cursor_raise_interface_errors() -> None:
    driver = FakeDriver()
    conn = driver.connect()
    cur = conn.cursor()
    cur.close()
    cur.close()  # idempotent
    with pytest.raises(InterfaceError, match="cursor is closed"):
        cur.execute("SELECT 1")
    conn.close()
    conn.close()
    with pytest.raises(InterfaceError, match="connection is closed"):
        conn.cursor()
    assert driver.open_connections() == []
    assert driver.connections() == [conn]


# --- scripted failures ---------------------------------------------------------------------


def test_network_error_on_the_nth_call_breaks_the_connection() -> None:
    driver = FakeDriver()
    driver.script.network_error("Cursor.execute", nth=3)
    conn = driver.connect(host="db1")
    cur = conn.cursor()
    cur.execute("SELECT 1")
    cur.execute("SELECT 2")
    with pytest.raises(OperationalError) as info:
        cur.execute("SELECT 3")
    assert info.value.sqlstate == fake_driver.SQLSTATE_CONNECTION_FAILURE
    assert DIALECT.classify(info.value) is ErrorKind.NETWORK
    assert conn.broken and not conn.closed
    assert DIALECT.is_closed(conn)
    with pytest.raises(OperationalError) as again:
        conn.commit()
    assert DIALECT.classify(again.value) is ErrorKind.NETWORK
    conn.close()  # the owner can always close a broken connection
    assert driver.open_connections() == []


def test_failure_counting_filters_and_times() -> None:
    driver = FakeDriver()
    err = IntegrityError("dup", sqlstate="23505")
    driver.script.fail("Cursor.execute", err, nth=2, times=2, sql=re.compile("^INSERT"))
    cur = driver.connect().cursor()
    outcomes = []
    for sql in ["INSERT 1", "SELECT 1", "INSERT 2", "INSERT 3", "INSERT 4", "SELECT 2"]:
        try:
            cur.execute(sql)
            outcomes.append("ok")
        except IntegrityError as exc:
            assert exc is err
            outcomes.append("err")
    # the 2nd and 3rd INSERT fail; SELECTs are not counted
    assert outcomes == ["ok", "ok", "err", "err", "ok", "ok"]


def test_failure_forever_with_times_none() -> None:
    driver = FakeDriver()
    driver.script.read_only_error("Connection.commit", nth=2, times=None)
    conn = driver.connect()
    conn.commit()
    for _ in range(3):
        with pytest.raises(fake_driver.InternalError) as info:
            conn.commit()
        assert DIALECT.classify(info.value) is ErrorKind.READ_ONLY


def test_login_failure_on_connect_per_host() -> None:
    driver = FakeDriver()
    driver.script.login_failure(host="db2")
    assert driver.connect(host="db1").host == "db1"
    with pytest.raises(OperationalError) as info:
        driver.connect(host="db2")
    assert DIALECT.classify(info.value) is ErrorKind.LOGIN
    assert driver.calls.of("connect")[1].error is info.value
    assert driver.connect(host="db2").host == "db2"  # the failure fired once
    assert [c.host for c in driver.open_connections()] == ["db1", "db2"]


def test_argument_checks() -> None:
    script = Script()
    with pytest.raises(ValueError, match="nth"):
        script.fail("connect", OperationalError("x"), nth=0)
    with pytest.raises(ValueError, match="times"):
        script.fail("connect", OperationalError("x"), times=0)
    with pytest.raises(TypeError, match="exception instance"):
        script.fail("connect", OperationalError)  # type: ignore[arg-type]


def test_break_connections_like_a_server_crash() -> None:
    driver = FakeDriver()
    a, b, c = driver.connect(host="h1"), driver.connect(host="h2"), driver.connect(host="h1")
    assert driver.break_connections("h1") == 2
    assert (a.broken, b.broken, c.broken) == (True, False, True)
    with pytest.raises(OperationalError):
        a.cursor()
    b.cursor().execute("SELECT 1")
    for conn in (a, b, c):
        conn.close()


def test_transaction_state_and_autocommit() -> None:
    conn = FakeDriver().connect()
    assert not DIALECT.in_transaction(conn)
    conn.cursor().execute("UPDATE t SET x = 1")
    assert DIALECT.in_transaction(conn)
    with pytest.raises(ProgrammingError, match="inside a transaction"):
        conn.autocommit = True
    conn.rollback()
    assert not DIALECT.in_transaction(conn)
    conn.autocommit = True
    conn.execute("UPDATE t SET x = 2")
    assert not DIALECT.in_transaction(conn)
    conn.read_only = True
    assert conn.read_only is True


def test_two_phase_commit() -> None:
    conn = FakeDriver().connect()
    xid = conn.xid(1, "g", "b")
    with pytest.raises(ProgrammingError):
        conn.tpc_prepare()
    conn.tpc_begin(xid)
    assert conn.in_transaction
    conn.tpc_prepare()
    assert conn.tpc_recover() == [xid]
    conn.tpc_commit()
    assert conn.tpc_recover() == []
    assert not conn.in_transaction


# --- hangs ---------------------------------------------------------------------------------


def test_hang_until_released() -> None:
    driver = FakeDriver()
    driver.script.on_sql("SELECT slow", [(1,)])
    hang = driver.script.hang("Cursor.execute", sql="SELECT slow")
    cur = driver.connect().cursor()
    thread, out = _run_in_thread(lambda: cur.execute("SELECT slow").fetchall())
    assert hang.wait_started(10)
    assert hang.blocked == 1
    assert thread.is_alive()
    hang.release()
    thread.join(10)
    assert not thread.is_alive()
    assert out == {"value": [(1,)]}
    assert hang.released and hang.blocked == 0


def test_hang_is_unblocked_by_the_dialect_abort_like_a_socket_shutdown() -> None:
    driver = FakeDriver()
    hang = driver.script.hang("Cursor.fetchall")
    conn = driver.connect()
    cur = conn.cursor()
    cur.execute("SELECT 1")
    thread, out = _run_in_thread(cur.fetchall)
    assert hang.wait_started(10)
    DIALECT.abort(conn)
    thread.join(10)
    assert not thread.is_alive()
    assert isinstance(out["error"], OperationalError)
    assert DIALECT.classify(out["error"]) is ErrorKind.NETWORK
    assert not hang.released
    assert "shutdown" in driver.calls.methods()
    assert not conn.closed  # abort never closes; the owner does
    conn.close()


def test_hang_is_unblocked_by_close_from_another_thread() -> None:
    driver = FakeDriver()
    hang = driver.script.hang("Connection.commit")
    conn = driver.connect()
    thread, out = _run_in_thread(conn.commit)
    assert hang.wait_started(10)
    conn.close()
    thread.join(10)
    assert not thread.is_alive()
    assert DIALECT.classify(out["error"]) is ErrorKind.NETWORK


def test_hang_with_timeout_raises_a_timeout_error() -> None:
    driver = FakeDriver()
    driver.script.hang("Cursor.execute", timeout=0.05)
    cur = driver.connect().cursor()
    with pytest.raises(OperationalError) as info:
        cur.execute("SELECT 1")
    assert info.value.sqlstate == fake_driver.SQLSTATE_QUERY_CANCELED
    assert DIALECT.classify(info.value) is ErrorKind.TIMEOUT


def test_hang_on_connect_released() -> None:
    driver = FakeDriver()
    hang = driver.script.hang("connect")
    thread, out = _run_in_thread(lambda: driver.connect(host="db1"))
    assert hang.wait_started(10)
    assert driver.connections() == []
    hang.release()
    thread.join(10)
    assert out["value"].host == "db1"
    out["value"].close()


# --- dialect -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (fake_driver.network_error(), ErrorKind.NETWORK),
        (OperationalError("terminating", sqlstate="57P01"), ErrorKind.NETWORK),
        (OperationalError("lost", errno=2013), ErrorKind.NETWORK),
        (fake_driver.login_error(), ErrorKind.LOGIN),
        (OperationalError("denied", errno=1045), ErrorKind.LOGIN),
        (fake_driver.read_only_error(), ErrorKind.READ_ONLY),
        (OperationalError("read only", errno=1836), ErrorKind.READ_ONLY),
        (fake_driver.timeout_error(), ErrorKind.TIMEOUT),
        (OperationalError("interrupted", errno=1317), ErrorKind.TIMEOUT),
        (TimeoutError(), ErrorKind.TIMEOUT),
        (IntegrityError("dup", sqlstate="23505"), ErrorKind.OTHER),
        (InterfaceError("the connection is closed"), ErrorKind.OTHER),
        # the message alone never decides
        (OperationalError("server closed the connection unexpectedly"), ErrorKind.OTHER),
        (ValueError("08006"), ErrorKind.OTHER),
    ],
)
def test_classification_by_type_and_code(exc: BaseException, kind: ErrorKind) -> None:
    assert DIALECT.classify(exc) is kind


def test_dialect_matches_fake_targets_only() -> None:
    assert FakeDriverDialect.matches(FakeDriver().connect)
    assert FakeDriverDialect.matches(fake_driver.connect)
    assert not FakeDriverDialect.matches(dict)
    import psycopg

    assert not FakeDriverDialect.matches(psycopg.Connection.connect)


def test_failover_errors_derive_from_the_fake_operational_error() -> None:
    bound = DIALECT.failover_errors()
    err = bound.success("reconnected")
    assert isinstance(err, awsdb.FailoverSuccessError)
    assert isinstance(err, fake_driver.OperationalError)


def test_entry_point_is_declared() -> None:
    (ep,) = md.entry_points(group="awsdb.drivers", name="fake")
    assert ep.load() is FakeDriverDialect


def test_awsdb_connects_through_the_entry_point_and_passes_errors_unchanged() -> None:
    driver = FakeDriver()
    driver.script.on_sql("SELECT 1", [(1,)])
    boom = IntegrityError("dup", sqlstate="23505")
    driver.script.fail("Cursor.execute", boom, sql="INSERT 1")
    with awsdb.connect(driver.connect, "host=db1 port=6000 user=app", plugins="dev") as conn:
        assert conn.plugin_service.driver.code == "fake"
        assert conn.cursor().execute("SELECT 1").fetchall() == [(1,)]
        with pytest.raises(IntegrityError) as info:
            conn.cursor().execute("INSERT 1")
        assert info.value is boom
    (connect,) = driver.calls.of("connect")
    assert connect.kwargs == {"host": "db1", "port": 6000, "user": "app"}
    assert driver.open_connections() == []


def test_wrapper_abort_from_another_thread_unblocks_a_hanging_execute() -> None:
    driver = FakeDriver()
    hang = driver.script.hang("Cursor.execute")
    conn = awsdb.connect(driver.connect, "host=db1", plugins="")
    cur = conn.cursor()
    thread, out = _run_in_thread(lambda: cur.execute("SELECT pg_sleep(100)"))
    assert hang.wait_started(10)
    service = conn.plugin_service
    service.driver.abort(service.current_connection)
    thread.join(10)
    assert not thread.is_alive()
    assert service.is_network_error(out["error"])
    conn.close()
    assert driver.open_connections() == []


def test_register_without_entry_point_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWSDB_DISABLE_PLUGIN_AUTOLOAD", "1")
    awsdb.release_resources()
    driver = FakeDriver()
    with pytest.raises(awsdb.ProgrammingError, match="no driver dialect matches"):
        awsdb.connect(driver.connect, "host=db1", plugins="")
    fake_dialect.register()
    conn = awsdb.connect(driver.connect, "host=db1", plugins="")
    assert conn.plugin_service.driver.code == "fake"
    conn.close()


@pytest.fixture
def no_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWSDB_DISABLE_PLUGIN_AUTOLOAD", "1")
    awsdb.release_resources()


def test_fake_driver_fixture_works_with_autoload_off(
    no_autoload: None, fake_driver: FakeDriver
) -> None:
    # requested after no_autoload: the fixture registered the dialect in-process
    with awsdb.connect(fake_driver.connect, "host=db1", plugins="") as conn:
        assert conn.plugin_service.driver.code == "fake"
    assert fake_driver.calls.methods() == ["connect", "Connection.__exit__"]
