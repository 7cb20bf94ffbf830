"""HookRecorder and HookLog: what is recorded, in which order, and the assertion helpers."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

import awsdb
from awsdb.hosts import HostInfo
from awsdb.plugin import ConnectionChange, HostChange
from awsdb_testing.fake_driver import FakeDriver, IntegrityError
from awsdb_testing.recorder import HookLog, HookRecorder

DSN = "host=db1 port=5432 user=app"


@pytest.fixture(autouse=True)
def _fresh_services() -> Iterator[None]:
    awsdb.release_resources()
    yield
    awsdb.release_resources()


@pytest.fixture
def driver() -> FakeDriver:
    d = FakeDriver()
    d.script.on_sql("SELECT 1", [(1,)], columns=["one"])
    return d


def _register(log: HookLog, *codes: tuple[str, int]) -> None:
    for code, weight in codes:
        awsdb.register_plugin(HookRecorder.spec(log, code=code, weight=weight))


def test_records_every_hook_in_order_with_results(driver: FakeDriver) -> None:
    log = HookLog()
    _register(log, ("rec", 10))
    conn = awsdb.connect(driver.connect, DSN, plugins="rec")
    cur = conn.cursor()
    cur.execute("SELECT 1")
    rows = cur.fetchall()
    conn.commit()
    conn.close()
    log.assert_sequence(
        [
            "connect",
            "notify_connection_changed",
            "Connection.cursor",
            "Cursor.execute",
            "Cursor.fetchall",
            "Connection.commit",
            "Connection.close",
        ],
        exact=True,
    )
    connect = log.last("connect")
    host, props, is_initial = connect.args
    assert isinstance(host, HostInfo)
    assert (host.host, host.port, is_initial) == ("db1", 5432, True)
    assert props.get("user") == "app"
    assert connect.result is driver.connections()[0]
    (notify,) = log.calls("notify_connection_changed")
    assert notify.args == (frozenset({ConnectionChange.INITIAL_CONNECTION}),)
    execute = log.last("Cursor.execute")
    assert (execute.hook, execute.args, execute.kwargs) == ("execute", ("SELECT 1",), {})
    assert execute.target is cur.target_cursor
    fetch = log.last("Cursor.fetchall")
    assert fetch.result is rows
    assert all(c.done and c.recorder == "rec" for c in log.calls())
    assert log.recorders() == ["rec"]


def test_errors_are_recorded_and_passed_on(driver: FakeDriver) -> None:
    log = HookLog()
    _register(log, ("rec", 10))
    boom = IntegrityError("dup", sqlstate="23505")
    driver.script.fail("Cursor.execute", boom)
    with awsdb.connect(driver.connect, DSN, plugins="rec") as conn:
        with pytest.raises(IntegrityError) as info:
            conn.cursor().execute("INSERT 1")
        assert info.value is boom
    call = log.last("Cursor.execute")
    assert call.error is boom
    assert call.result is None


def test_two_recorders_show_the_chain_order(driver: FakeDriver) -> None:
    log = HookLog()
    _register(log, ("outer", 1), ("inner", 5000))
    with awsdb.connect(driver.connect, DSN, plugins="inner,outer") as conn:
        conn.cursor().execute("SELECT 1").fetchone()
    log.assert_nested("outer", "inner", "Cursor.execute")
    log.assert_nested("outer", "inner", "connect")
    with pytest.raises(AssertionError, match="chain order is not inner -> outer"):
        log.assert_nested("inner", "outer", "Cursor.execute")
    with pytest.raises(AssertionError, match="never recorded by 'inner'"):
        log.assert_nested("outer", "inner", "Cursor.nextset")
    assert log.methods(recorder="outer") == log.methods(recorder="inner")
    assert log.count("Cursor.execute") == 2
    outer, inner = log.calls("Cursor.execute")
    assert outer.encloses(inner) and not inner.encloses(outer)


def test_force_connect_and_host_list_notifications(driver: FakeDriver) -> None:
    log = HookLog()
    _register(log, ("rec", 10))
    conn = awsdb.connect(driver.connect, DSN, plugins="rec")
    service = conn.plugin_service
    assert service.current_host is not None
    raw = service.force_connect(service.current_host)
    raw.close()
    changes = {"db2:5432": frozenset({HostChange.WENT_DOWN})}
    service.notify_host_list_changed(changes)
    conn.close()
    forced = log.assert_called("force_connect", 1)[0]
    assert forced.args[2] is False
    assert forced.result is raw
    (notified,) = log.calls("notify_host_list_changed")
    assert notified.args == (changes,)
    log.assert_called("connect", 1)


def test_connection_change_notification_and_no_opinion(driver: FakeDriver) -> None:
    log = HookLog()
    _register(log, ("rec", 10))
    conn = awsdb.connect(driver.connect, DSN, plugins="rec")
    service = conn.plugin_service
    old = service.current_connection
    host2 = HostInfo("db2", 5432)
    service.replace_connection(service.connect(host2), host2)
    changes = log.last("notify_connection_changed").args[0]
    assert changes == frozenset(
        {ConnectionChange.CONNECTION_OBJECT_CHANGED, ConnectionChange.HOST_CHANGED}
    )
    assert old.closed  # no recorder asked to preserve it
    conn.close()
    assert driver.open_connections() == []


def test_narrowed_subscriptions(driver: FakeDriver) -> None:
    log = HookLog()
    awsdb.register_plugin(HookRecorder.spec(log, code="narrow", methods=["Cursor.execute"]))
    with awsdb.connect(driver.connect, DSN, plugins="narrow") as conn:
        conn.cursor().execute("SELECT 1").fetchall()
        (recorder,) = HookRecorder.of(conn, "narrow")
        assert type(recorder).subscriptions() == frozenset({"Cursor.execute"})
    assert log.methods(hook="execute") == ["Cursor.execute"]
    assert "connect" not in log.methods()
    with pytest.raises(awsdb.ProgrammingError, match="unknown methods"):
        HookRecorder.spec(log, code="bad", methods=["Cursor.teleport"])


def test_of_finds_recorders_by_name(driver: FakeDriver) -> None:
    log = HookLog()
    _register(log, ("a", 1), ("b", 2))
    with awsdb.connect(driver.connect, DSN, plugins="a,b,execute_time") as conn:
        assert [r.name for r in HookRecorder.of(conn)] == ["a", "b"]
        assert [r.name for r in HookRecorder.of(conn, "b")] == ["b"]
        assert all(r.log is log for r in HookRecorder.of(conn))


def test_assertion_helpers_fail_with_the_recorded_sequence() -> None:
    log = HookLog()
    for method in ("connect", "Cursor.execute", "Cursor.fetchone", "Cursor.execute"):
        log.exit(log.enter("r", "execute", method, ()))
    log.assert_sequence(["connect", "Cursor.fetchone"])
    log.assert_called("Cursor.execute", 2)
    log.assert_called("Cursor.execute")
    log.assert_not_called("Connection.commit")
    with pytest.raises(AssertionError, match="first missing: 'connect'"):
        log.assert_sequence(["Cursor.fetchone", "connect"])
    with pytest.raises(AssertionError, match="expected exactly"):
        log.assert_sequence(["connect"], exact=True)
    with pytest.raises(AssertionError, match="recorded 2 times, expected 1"):
        log.assert_called("Cursor.execute", 1)
    with pytest.raises(AssertionError, match="never recorded"):
        log.assert_called("Connection.rollback")
    with pytest.raises(AssertionError, match="recorded 1 times, expected 0"):
        log.assert_not_called("connect")
    assert len(log) == 4
    log.clear()
    assert len(log) == 0
    with pytest.raises(LookupError):
        log.last()


def test_recording_from_many_threads(driver: FakeDriver) -> None:
    log = HookLog()
    _register(log, ("rec", 10))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with awsdb.connect(driver.connect, DSN, plugins="rec") as conn:
                cur = conn.cursor()
                for _ in range(50):
                    cur.execute("SELECT 1")
                    cur.fetchall()
        except BaseException as exc:
            errors.append(exc)

    # Connect once first: the core reads the driver entry points on the first connection of
    # its services, and that first read is not safe to race from several threads.
    awsdb.connect(driver.connect, DSN, plugins="").close()
    threads = [threading.Thread(target=work, name=f"rec-{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert log.count("Cursor.execute") == 200
    assert log.count("connect") == 4
    seqs = [c.seq for c in log.calls()] + [c.end_seq or 0 for c in log.calls()]
    assert len(set(seqs)) == len(seqs)  # one shared, gap-free numbering
    assert sorted(seqs) == list(range(1, len(seqs) + 1))
    assert {c.thread for c in log.calls("Cursor.execute")} == {f"rec-{i}" for i in range(4)}


def test_hook_log_fixture(hook_log: HookLog, driver: FakeDriver) -> None:
    with awsdb.connect(driver.connect, DSN, plugins="execute_time,recorder") as conn:
        conn.execute("SELECT 1")
    hook_log.assert_sequence(["connect", "Connection.execute", "Connection.__exit__"])
    assert hook_log.recorders() == ["recorder"]
