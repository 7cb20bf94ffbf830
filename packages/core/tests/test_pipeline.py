"""Chain compilation and ordering, with plugins calling call_next 0, 1 or several times."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import psycopg
import pytest

import awsdb
from awsdb import hookimpl
from awsdb.plugin import Plugin, PluginSpec

TRACE: list[str] = []


def _tracer(name: str, weight: int | None) -> PluginSpec:
    class Tracer(Plugin):
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute", "connect"})

        @hookimpl
        def connect(
            self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
        ) -> Any:
            TRACE.append(f"{name}:connect")
            return call_next(host, props, is_initial)

        @hookimpl
        def execute(
            self,
            target: Any,
            method: str,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
            call_next: Callable[..., Any],
        ) -> Any:
            TRACE.append(name)
            return call_next(*args, **kwargs)

    return PluginSpec(code=name, factory=Tracer, weight=weight)


@pytest.fixture(autouse=True)
def _tracers() -> None:
    TRACE.clear()
    for name, weight in [("w100", 100), ("w50", 50), ("w700", 700), ("rel", None)]:
        awsdb.register_plugin(_tracer(name, weight))


def test_sorted_by_weight_with_relative_after_previous(pg_server: Any) -> None:
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="w700,rel,w100,w50") as c:
        TRACE.clear()
        c.cursor().execute("SELECT 1")
        # rel takes 701 (after w700): it stays right behind the plugin listed before it
        assert TRACE == ["w50", "w100", "w700", "rel"]


def test_auto_sort_off_keeps_written_order(pg_server: Any) -> None:
    with awsdb.connect(
        psycopg.Connection.connect,
        pg_server.dsn,
        plugins="w700,w50,rel",
        auto_sort_wrapper_plugin_order="false",
    ) as c:
        assert TRACE == ["w700:connect", "w50:connect", "rel:connect"]
        TRACE.clear()
        c.cursor().execute("SELECT 1")
        assert TRACE == ["w700", "w50", "rel"]


def test_plugin_list_accepts_spaces_and_lists(pg_server: Any) -> None:
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins=" w50 , w100") as c:
        assert len(c.plugin_service.plugins) == 2
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins=["w100", "w50"]) as c:
        assert [type(p).__name__ for p in c.plugin_service.plugins] == ["Tracer", "Tracer"]


@pytest.mark.parametrize("bad", ["w50,,w100", "w50,", ",w50", [""], "w50, "])
def test_empty_plugin_entries_are_rejected(pg_server: Any, bad: Any) -> None:
    with pytest.raises(awsdb.ProgrammingError, match=r"empty entry|plugins"):
        awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins=bad)


class Skip(Plugin):
    """Answers without calling the driver (call_next zero times)."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.fetchall"})

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        return [("cached",)]


class Retry(Plugin):
    """Calls call_next a second time after a failure, with changed arguments."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute", "connect"})
    attempts: ClassVar[list[str]] = []

    @hookimpl
    def connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        try:
            return call_next(host, props.with_overrides(password="wrong-first"), is_initial)
        except psycopg.OperationalError:
            Retry.attempts.append("connect-retry")
            return call_next(host, props, is_initial)

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        try:
            return call_next(*args, **kwargs)
        except psycopg.errors.UndefinedTable:
            target.connection.rollback()
            Retry.attempts.append("execute-retry")
            return call_next("SELECT 'fallback'")


class SubsetArgs(Plugin):
    """Declares only some of the spec's arguments, as pluggy allows."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute"})
    seen: ClassVar[list[str]] = []

    @hookimpl
    def execute(self, method: str, call_next: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        SubsetArgs.seen.append(method)
        return call_next(*args)


def test_call_next_zero_one_and_several_times(pg_server: Any) -> None:
    awsdb.register_plugin(Skip, code="skip", weight=1)
    awsdb.register_plugin(Retry, code="retry", weight=2)
    awsdb.register_plugin(SubsetArgs, code="subset", weight=3)
    Retry.attempts.clear()
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="skip,retry,subset") as c:
        assert Retry.attempts == ["connect-retry"]
        cur = c.cursor()
        cur.execute("SELECT * FROM no_such_table")
        assert Retry.attempts == ["connect-retry", "execute-retry"]
        assert cur.fetchone() == ("fallback",)
        assert cur.fetchall() == [("cached",)]
        assert SubsetArgs.seen[-2:] == ["Cursor.execute", "Cursor.execute"]


def test_hookimpl_with_unknown_argument_is_rejected(pg_server: Any) -> None:
    class Bad(Plugin):
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute"})

        @hookimpl
        def execute(self, target: Any, nonsense: Any) -> Any:
            return None

    # rejected when the class is registered, before any connection
    with pytest.raises(awsdb.ProgrammingError, match="nonsense"):
        awsdb.register_plugin(Bad, code="bad")


def test_unknown_subscription_is_rejected() -> None:
    class Typo(Plugin):
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.exceute"})

    with pytest.raises(awsdb.ProgrammingError, match="exceute"):
        awsdb.register_plugin(Typo, code="typo")


def test_unsubscribed_methods_have_no_chain(pg_server: Any) -> None:
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="w50") as c:
        assert set(c.plugin_service.chains) == {"Cursor.execute"}


def test_timing_plugins_accumulate_per_connection_and_process(pg_server: Any) -> None:
    from awsdb.plugins import connect_time, execute_time

    before_exec = execute_time.process_totals().count
    before_conn = connect_time.process_totals().count
    with awsdb.connect(
        psycopg.Connection.connect, pg_server.dsn, plugins="connect_time,execute_time"
    ) as c:
        c.cursor().execute("SELECT 1").fetchall()
        timers = {type(p).__name__: p for p in c.plugin_service.plugins}
        assert timers["ConnectTimePlugin"].connects == 1
        assert timers["ConnectTimePlugin"].elapsed_ns > 0
        assert timers["ExecuteTimePlugin"].calls >= 3  # cursor, execute, fetchall
    assert connect_time.process_totals().count == before_conn + 1
    assert execute_time.process_totals().count > before_exec
