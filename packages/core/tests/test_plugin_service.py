"""The plugin-facing seams of the core, on a real PostgreSQL server.

Claiming errors, one source of truth for subscriptions, hook validation, connecting through
the pipeline while skipping the caller, replacing and aborting the current connection,
session state carried over a switch, cluster-wide host events, and properties that are
rejected rather than ignored.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import psycopg
import pytest
from psycopg import IsolationLevel

import awsdb
from awsdb import hookimpl
from awsdb._plugin_service import ConnectionInfo
from awsdb._service import get_services
from awsdb.plugin import HostChange, Plugin, PluginSpec


def _connect(dsn: str, plugins: str = "", **kw: Any) -> awsdb.AwsWrapperConnection:
    return awsdb.connect(psycopg.Connection.connect, dsn, plugins=plugins, **kw)


def test_three_distinct_errors_are_each_claimed_once(pg_server: Any) -> None:
    with _connect(pg_server.dsn) as conn:
        service = conn.plugin_service
        claims = []
        for _ in range(3):
            exc = psycopg.OperationalError("server closed the connection")
            claims.append(service.claim_error(exc))
            claims.append(service.claim_error(exc))  # the same object: second claim refused
            del exc  # the next error may get the same id(): it must still be claimable
        assert claims == [True, False, True, False, True, False]


class _Audit(Plugin):
    """Implements execute; what it is subscribed to comes from its spec."""

    seen: ClassVar[list[str]] = []

    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        _Audit.seen.append(method)
        return call_next(*args, **kwargs)


def test_spec_subscriptions_drive_the_chains_for_a_function_factory(pg_server: Any) -> None:
    _Audit.seen = []

    def factory(service: Any, props: Any) -> Plugin:
        return _Audit(service, props)

    awsdb.register_plugin(
        PluginSpec(code="audit", factory=factory, subscribed_methods=frozenset({"Cursor.execute"}))
    )
    with _connect(pg_server.dsn, "audit") as conn:
        assert set(conn.plugin_service.chains) == {"Cursor.execute"}
        conn.cursor().execute("SELECT 1").fetchall()
    assert _Audit.seen == ["Cursor.execute"]
    info = {i.code: i for i in get_services().plugins.describe()}["audit"]
    assert info.methods == frozenset({"Cursor.execute"})  # what `awsdb plugins` shows


def test_subscribed_but_unimplemented_hooks_are_rejected_clearly(pg_server: Any) -> None:
    class NoExecute(Plugin):
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute"})

    with pytest.raises(awsdb.ProgrammingError, match=r"does not implement \['execute'\]"):
        awsdb.register_plugin(NoExecute, code="noexec")

    class Bare(Plugin):
        pass

    def make_bare(service: Any, props: Any) -> Plugin:
        return Bare(service, props)

    # a function factory: checked at the first connect, before any driver call
    awsdb.register_plugin(
        PluginSpec(
            code="bare",
            factory=make_bare,
            subscribed_methods=frozenset({"connect"}),
        )
    )
    with pytest.raises(awsdb.ProgrammingError, match=r"does not implement \['connect'\]"):
        _connect(pg_server.dsn, "bare")


@pytest.mark.parametrize("option", ["tryfirst", "trylast", "wrapper", "hookwrapper"])
def test_pluggy_options_on_chain_hooks_are_rejected(option: str) -> None:
    class Ordered(Plugin):
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute"})

        @hookimpl(**{option: True})
        def execute(self, args: tuple[Any, ...], call_next: Callable[..., Any]) -> Any:
            return call_next(*args)

    with pytest.raises(awsdb.ProgrammingError, match=option):
        awsdb.register_plugin(Ordered, code="ordered")


class _Reconnector(Plugin):
    """Opens a second connection from inside its own connect hook, skipping itself."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"connect"})
    depth: ClassVar[int] = 0
    calls: ClassVar[list[str]] = []

    def connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        _Reconnector.calls.append("reconnector")
        conn = call_next(host, props, is_initial)
        if is_initial:
            spare = self.service.connect(host, props, skip=self)
            spare.close()
        return conn


class _Counter(Plugin):
    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"connect"})

    def connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        _Reconnector.calls.append("counter")
        return call_next(host, props, is_initial)


def test_connect_through_the_pipeline_skipping_the_caller(pg_server: Any) -> None:
    _Reconnector.calls = []
    awsdb.register_plugin(_Reconnector, code="reconnector", weight=10)
    awsdb.register_plugin(_Counter, code="counter", weight=20)
    with _connect(pg_server.dsn, "reconnector,counter") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    # the initial connect passes both; the inner one only the counter (no recursion)
    assert _Reconnector.calls == ["reconnector", "counter", "counter"]


def test_abort_current_from_another_thread_unblocks_the_owner(pg_server: Any) -> None:
    conn = _connect(pg_server.dsn)
    try:
        cur = conn.cursor()
        errors: list[BaseException] = []

        def run() -> None:
            try:
                cur.execute("SELECT pg_sleep(30)")
            except BaseException as exc:
                errors.append(exc)

        owner = threading.Thread(target=run)
        owner.start()
        time.sleep(0.3)
        conn.plugin_service.abort_current()
        owner.join(10)  # the query sleeps 30 s: only the abort can end it this early
        assert not owner.is_alive()
        assert errors and conn.plugin_service.is_network_error(errors[0])
    finally:
        conn.close()


def test_session_state_is_transferred_to_the_replacement(pg_server: Any) -> None:
    with _connect(pg_server.dsn) as conn:
        conn.autocommit = True
        conn.read_only = True
        conn.isolation_level = IsolationLevel.SERIALIZABLE  # a driver attribute
        assert conn.target_connection.isolation_level is IsolationLevel.SERIALIZABLE
        service = conn.plugin_service
        old = conn.target_connection
        host = service.current_host
        assert host is not None
        service.replace_connection(service.connect(host), host)
        new = conn.target_connection
        assert new is not old and old.closed
        assert new.autocommit is True and new.read_only is True
        assert new.isolation_level is IsolationLevel.SERIALIZABLE
        info = service.info
        assert isinstance(info, ConnectionInfo)
        assert info.generation == 1 and info.connection is new
        assert info.session_state["isolation_level"] is IsolationLevel.SERIALIZABLE
        with pytest.raises(dataclasses.FrozenInstanceError):
            info.generation = 5  # type: ignore[misc]
        with pytest.raises(AttributeError):
            service.current_connection = None  # type: ignore[misc]
        conn.autocommit = False  # psycopg applies the level to the transactions it begins
        assert conn.execute("SHOW transaction_isolation").fetchone() == ("serializable",)
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)


def test_transfer_can_be_turned_off(pg_server: Any) -> None:
    with _connect(pg_server.dsn, transfer_session_state_on_switch=False) as conn:
        conn.autocommit = True
        service = conn.plugin_service
        host = service.current_host
        assert host is not None
        service.replace_connection(service.connect(host), host)
        assert conn.target_connection.autocommit is False


def test_rollback_on_switch_rolls_back_the_old_transaction(pg_server: Any) -> None:
    with _connect(pg_server.dsn) as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS switch_rb (v int)")
        setup.execute("TRUNCATE switch_rb")
        setup.commit()
    for rollback, expected in ((True, 0), (False, 0)):
        with _connect(pg_server.dsn, rollback_on_switch=rollback) as conn:
            conn.execute("INSERT INTO switch_rb VALUES (1)")
            service = conn.plugin_service
            old = conn.target_connection
            host = service.current_host
            assert host is not None
            service.replace_connection(service.connect(host), host)
            assert old.closed
            # rolled back explicitly, or dropped by closing: never committed
            assert conn.execute("SELECT count(*) FROM switch_rb").fetchone() == (expected,)


def test_reset_session_state_on_close_restores_the_original_values(pg_server: Any) -> None:
    closed: list[Any] = []

    class Keep(Plugin):
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Connection.close"})

        def execute(self, target: Any, call_next: Callable[..., Any]) -> Any:
            closed.append(target)  # keep the driver connection open, like a pool would
            return None

    awsdb.register_plugin(Keep, code="keep")
    conn = _connect(pg_server.dsn, "keep")
    conn.autocommit = True
    conn.read_only = True
    conn.close()
    raw = closed[0]
    try:
        assert raw.autocommit is False and not raw.read_only
        assert raw.execute("SHOW transaction_read_only").fetchone() == ("off",)
    finally:
        raw.close()


def test_host_changes_reach_every_connection_of_the_cluster(pg_server: Any) -> None:
    received: list[tuple[int, Mapping[str, frozenset[HostChange]]]] = []

    class Listener(Plugin):
        def notify_host_list_changed(self, changes: Mapping[str, frozenset[HostChange]]) -> None:
            received.append((id(self.service), changes))

    awsdb.register_plugin(Listener, code="listener")
    conns = [_connect(pg_server.dsn, "listener") for _ in range(3)]
    outsider = _connect(pg_server.dsn, "listener")
    try:
        for conn in conns:
            conn.plugin_service.join_cluster("cluster-a")
        outsider.plugin_service.join_cluster("cluster-b")
        changes = {"db-1:5432": frozenset({HostChange.WENT_DOWN})}
        assert get_services().notify_host_list_changed("cluster-a", changes) == 3
        assert {sid for sid, _ in received} == {id(c.plugin_service) for c in conns}
        conns[0].close()
        assert get_services().notify_host_list_changed("cluster-a", changes) == 2
    finally:
        for conn in [*conns, outsider]:
            conn.close()
    assert get_services().clusters.cluster_ids() == []


def test_host_selection_hooks_answer_before_the_selectors(pg_server: Any) -> None:
    from awsdb.hosts import HostInfo, HostRole

    class Picky(Plugin):
        def accepts_strategy(self, strategy: str) -> bool | None:
            return True if strategy == "mine" else None

        def get_host_info_by_strategy(self, strategy: str, hosts: Any) -> Any:
            return hosts[-1] if strategy == "mine" else None

    awsdb.register_plugin(Picky, code="picky")
    hosts = [HostInfo("a", 5432, HostRole.READER), HostInfo("b", 5432, HostRole.READER)]
    with _connect(pg_server.dsn, "picky") as conn:
        service = conn.plugin_service
        assert service.accepts_strategy(HostRole.READER, "mine")
        assert not service.accepts_strategy(HostRole.READER, "nonsense")
        assert service.accepts_strategy(HostRole.READER, "random")
        assert service.get_host_info_by_strategy(HostRole.READER, "mine", hosts).host == "b"
        assert service.get_host_info_by_strategy(HostRole.READER, "random", hosts) in hosts


def test_dial_address_connects_to_the_ip_and_keeps_the_name(pg_server: Any) -> None:
    from awsdb.hosts import HostInfo

    with _connect(pg_server.dsn) as conn:
        service = conn.plugin_service
        host = HostInfo("db.green.example.invalid", pg_server.port, dial_address="127.0.0.1")
        raw = service.connect(host)
        try:
            assert raw.info.host == "db.green.example.invalid"
            assert raw.info.hostaddr == "127.0.0.1"
        finally:
            raw.close()


def test_resolver_lives_on_the_services_and_survives_release() -> None:
    from awsdb.resolver import get_resolver

    resolver = get_resolver()
    assert resolver is get_services().resolver
    resolver.set("db.example.invalid", "127.0.0.9")
    try:
        awsdb.release_resources()
        assert get_resolver() is resolver
        assert get_resolver().override("db.example.invalid") == "127.0.0.9"
    finally:
        resolver.remove("db.example.invalid")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("enable_telemetry", True),
        ("telemetry_traces_backend", "XRAY"),
        ("profile_name", "prod"),
        ("default_host_availability_strategy", "exponential_backoff"),
        ("gdb_accessible_regions", "us-east-1"),
    ],
)
def test_unimplemented_properties_are_rejected_not_ignored(
    pg_server: Any, name: str, value: object
) -> None:
    with pytest.raises(awsdb.NotSupportedError, match=name):
        _connect(pg_server.dsn, **{name: value})


def test_unimplemented_property_at_its_default_is_accepted(pg_server: Any) -> None:
    with _connect(pg_server.dsn, enable_telemetry=False) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_property_of_a_plugin_not_in_the_chain_warns_once(
    pg_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="awsdb"):
        for _ in range(3):
            _connect(pg_server.dsn, failure_detection_time_ms=6000).close()
    warnings = [r for r in caplog.records if "failure_detection_time_ms" in r.getMessage()]
    assert len(warnings) == 1
    assert "'efm'" in warnings[0].getMessage()


def test_unknown_core_code_with_autoload_off_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from awsdb._registry import DISABLE_AUTOLOAD_ENV, PluginRegistry

    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    registry = PluginRegistry()
    with pytest.raises(awsdb.ProgrammingError) as info:
        registry.get("execute_time")
    message = str(info.value)
    assert "not installed" not in message
    assert DISABLE_AUTOLOAD_ENV in message and "awsdb.plugins.execute_time" in message
