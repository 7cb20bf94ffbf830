"""The cursor's direct paths (no subscribed plugin) behave like the driver on a real PostgreSQL;
subscribed methods still go through their chains; replaced connections poison cursors."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import psycopg
import pytest
from _plugins import Recorder

import awsdb
from awsdb import hookimpl
from awsdb._cursor import AwsWrapperCursor, cursor_class, cursor_shape
from awsdb.errors import InterfaceError
from awsdb.plugin import FETCH_METHODS, Plugin

ROWS = "SELECT g, 'r' || g FROM generate_series(1, 5) AS g"
EXPECTED = [(i, f"r{i}") for i in range(1, 6)]


class ExecuteRecorder(Recorder):
    """Subscribed to ``Cursor.execute`` only (the default chain shape of cluster plugins)."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute"})


class FetchRecorder(Recorder):
    """Subscribed to the cursor's fetch methods and iteration only."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset(
        {"Cursor.fetchone", "Cursor.fetchmany", "Cursor.fetchall", "Cursor.__next__"}
    )


@pytest.fixture
def connect(pg_server: Any) -> Iterator[Any]:
    awsdb.register_plugin(ExecuteRecorder, code="exec_recorder", weight=10)
    awsdb.register_plugin(FetchRecorder, code="fetch_recorder", weight=20)
    opened: list[Any] = []

    def make(plugins: str) -> Any:
        conn = awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins=plugins)
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        conn.close()


def _replace(conn: Any, pg_server: Any) -> None:
    service = conn.plugin_service
    new = psycopg.connect(pg_server.dsn)
    replace = service.replace_connection
    replace(new, service.current_host)


def _exercise(cur: Any) -> None:
    """Every PEP 249 path, checked against the rows PostgreSQL returns."""
    assert cur.execute(ROWS) is cur
    assert [d.name for d in cur.description] == ["g", "?column?"]
    assert cur.rowcount == 5
    assert cur.fetchone() == EXPECTED[0]
    assert cur.fetchmany(2) == EXPECTED[1:3]
    assert cur.fetchall() == EXPECTED[3:]
    assert cur.fetchone() is None
    cur.execute("SELECT g FROM generate_series(1, 3) AS g WHERE g > %s", (1,))
    assert list(cur) == [(2,), (3,)]
    cur.arraysize = 3
    assert cur.arraysize == 3
    cur.execute(ROWS)
    assert cur.fetchmany() == EXPECTED[:3]
    assert cur.rownumber == 3  # driver extension, forwarded


@pytest.mark.parametrize("plugins", ["", "exec_recorder", "fetch_recorder"])
def test_every_path_returns_the_driver_results(connect: Any, plugins: str) -> None:
    conn = connect(plugins)
    with conn.cursor() as cur:
        assert isinstance(cur, AwsWrapperCursor)
        assert not hasattr(cur, "__dict__")  # nothing can shadow a class attribute
        _exercise(cur)
        assert not cur.closed
    assert cur.closed
    assert conn.execute(ROWS).fetchall() == EXPECTED


def test_no_plugin_fetch_is_the_driver_bound_method(connect: Any) -> None:
    cur = connect("").cursor()
    raw = cur.target_cursor
    for name in ("fetchone", "fetchmany", "fetchall"):
        assert getattr(cur, name) == getattr(raw, name)
        assert getattr(cur, name).__self__ is raw
    assert type(cur).execute is not AwsWrapperCursor.execute  # class-level direct path


def test_execute_only_plugin_leaves_fetch_direct(connect: Any) -> None:
    conn = connect("exec_recorder")
    rec = conn.plugin_service.plugins[0]
    cur = conn.cursor()
    assert cur.fetchone.__self__ is cur.target_cursor
    rec.calls.clear()
    cur.execute(ROWS)
    assert cur.fetchone() == EXPECTED[0]
    assert cur.fetchall() == EXPECTED[1:]
    cur.execute("SELECT %s::int", (7,))
    assert cur.fetchone() == (7,)
    cur.close()
    assert rec.calls == ["Cursor.execute", "Cursor.execute"]


def test_fetch_plugin_sees_fetches_not_execute(connect: Any) -> None:
    conn = connect("fetch_recorder")
    rec = conn.plugin_service.plugins[0]
    cur = conn.cursor()
    rec.calls.clear()
    cur.execute(ROWS)
    assert cur.fetchone() == EXPECTED[0]
    assert cur.fetchmany(1) == EXPECTED[1:2]
    assert list(cur) == EXPECTED[2:]
    assert cur.fetchall() == []
    assert rec.calls == [
        "Cursor.fetchone",
        "Cursor.fetchmany",
        "Cursor.__next__",
        "Cursor.__next__",
        "Cursor.__next__",
        "Cursor.__next__",  # the one that raised StopIteration
        "Cursor.fetchall",
    ]


def test_one_class_per_chain_shape(connect: Any) -> None:
    bare, bare2 = connect(""), connect("")
    execute, fetch = connect("exec_recorder"), connect("fetch_recorder")
    assert type(bare.cursor()) is type(bare2.cursor())
    classes = {type(c.cursor()) for c in (bare, execute, fetch)}
    assert len(classes) == 3
    assert all(issubclass(c, AwsWrapperCursor) for c in classes)
    cur = execute.cursor()
    shape = cursor_shape(execute.plugin_service.chains)
    assert cursor_class(shape, type(cur.target_cursor)) is type(cur)


def test_no_getattr_hook_and_driver_attributes_are_forwarded(connect: Any) -> None:
    # a __getattr__ anywhere on the class would turn off attribute specialisation
    conn = connect("")
    cur = conn.cursor()
    assert not any("__getattr__" in vars(k) for k in type(cur).__mro__ if k is not object)
    cur.execute(ROWS)
    assert cur.rownumber == 0  # psycopg extension, read through the forwarding descriptor
    from psycopg.rows import dict_row

    cur.row_factory = dict_row  # and set through it
    assert cur.target_cursor.row_factory is dict_row
    with pytest.raises(AttributeError):
        _ = cur.no_such_attribute


@pytest.mark.parametrize("plugins", ["", "exec_recorder", "fetch_recorder"])
def test_cursor_of_replaced_connection_raises(connect: Any, pg_server: Any, plugins: str) -> None:
    conn = connect(plugins)
    cur = conn.cursor()
    cur.execute(ROWS)
    shortcut = conn.execute(ROWS)
    _replace(conn, pg_server)
    for stale in (cur, shortcut):
        for call in (
            stale.fetchone,
            stale.fetchall,
            lambda s=stale: s.fetchmany(2),
            lambda s=stale: s.execute("SELECT 1"),
            lambda s=stale: next(iter(s)),
            lambda s=stale: s.description,
            lambda s=stale: s.rowcount,
        ):
            with pytest.raises(InterfaceError, match="replaced"):
                call()
        assert stale.closed
        stale.close()  # harmless
    with conn.cursor() as fresh:
        _exercise(fresh)


def test_cursors_are_not_kept_alive(connect: Any) -> None:
    conn = connect("exec_recorder")
    cur = conn.cursor()
    cur.execute("SELECT 1")
    ref = weakref.ref(cur)
    del cur
    gc.collect()
    assert ref() is None


def test_unknown_attribute_is_attribute_error(connect: Any) -> None:
    cur = connect("").cursor()
    with pytest.raises(AttributeError):
        cur.no_such_attribute  # noqa: B018
    with pytest.raises(AttributeError):
        cur.__no_such_dunder__  # noqa: B018


class FastLayer(Plugin):
    """Provides its own layers (``bind_execute``); the generic ``execute`` must not run."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset(
        {"Connection.cursor", "Connection.commit", "Cursor.execute"}
    )

    def __init__(self, service: Any, props: Any) -> None:
        super().__init__(service, props)
        self.calls: list[tuple[str, Any, tuple[Any, ...], dict[str, Any]]] = []
        self.bound: list[tuple[str, Any]] = []

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        self.calls.append(("generic:" + method, target, args, kwargs))
        return call_next(*args, **kwargs)

    def bind_execute(
        self,
        method: str,
        connection: Any,
        call_next: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any],
    ) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], Any] | None:
        self.bound.append((method, connection))
        if method == "Connection.commit":
            return None  # declined: the generic path around execute

        def layer(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            self.calls.append((method, target, args, kwargs))
            return call_next(target, args, kwargs)

        return layer


@pytest.fixture
def fast(pg_server: Any) -> Iterator[Any]:
    awsdb.register_plugin(FastLayer, code="fast_layer", weight=10)
    conn = awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="fast_layer")
    yield conn
    conn.close()


def test_plugin_layers_see_every_subscribed_call(fast: Any) -> None:
    plugin = fast.plugin_service.plugins[0]
    raw_conn = fast.target_connection
    cur = fast.cursor()
    assert cur.execute(ROWS) is cur
    assert cur.fetchall() == EXPECTED
    cur.execute("SELECT %s::int", (7,), prepare=False)
    assert cur.fetchone() == (7,)
    fast.commit()
    assert [c[0] for c in plugin.calls] == [
        "Connection.cursor",
        "Cursor.execute",
        "Cursor.execute",
        "generic:Connection.commit",
    ]
    assert plugin.calls[0][1] is raw_conn
    assert plugin.calls[1][1:] == (cur.target_cursor, (ROWS,), {})
    assert plugin.calls[2][1:] == (cur.target_cursor, ("SELECT %s::int", (7,)), {"prepare": False})
    # each chain is bound once per driver connection, and shared by its cursors
    other = fast.cursor()
    other.execute("SELECT 1")
    other.close()
    assert plugin.calls[-1][1] is other.target_cursor
    assert sorted(m for m, _ in plugin.bound) == [
        "Connection.commit",
        "Connection.cursor",
        "Cursor.execute",
    ]
    assert all(c is raw_conn for _, c in plugin.bound)


def test_plugin_layers_are_bound_again_after_replacement(fast: Any, pg_server: Any) -> None:
    plugin = fast.plugin_service.plugins[0]
    old = fast.cursor()
    old.execute("SELECT 1")
    old_conn = fast.target_connection
    _replace(fast, pg_server)
    new_conn = fast.target_connection
    plugin.calls.clear()
    plugin.bound.clear()
    cur = fast.cursor()
    cur.execute("SELECT 2")
    assert cur.fetchone() == (2,)
    assert [(c[0], c[1]) for c in plugin.calls] == [
        ("Connection.cursor", new_conn),
        ("Cursor.execute", cur.target_cursor),
    ]
    assert cur.target_cursor.connection is new_conn
    assert plugin.bound == [("Connection.cursor", new_conn), ("Cursor.execute", new_conn)]
    assert new_conn is not old_conn
    with pytest.raises(InterfaceError, match="replaced"):
        old.execute("SELECT 1")


def test_unsubscribed_cursor_creation_calls_the_driver(connect: Any) -> None:
    conn = connect("exec_recorder")
    rec = conn.plugin_service.plugins[0]
    rec.calls.clear()
    first, second = conn.cursor(), conn.cursor()
    assert rec.calls == []  # Connection.cursor has no chain
    assert "execute" in vars(type(first))  # the generated class's chained execute
    first.execute("SELECT 1")
    second.execute("SELECT 2")
    first.execute("SELECT 3")
    assert rec.calls == ["Cursor.execute"] * 3
    assert first.fetchone() == (3,) and second.fetchone() == (2,)
    conn.close()
    with pytest.raises(InterfaceError, match="closed"):
        conn.cursor()


def test_psycopg_transaction_probe_answers_like_in_transaction(pg_server: Any) -> None:
    from awsdb.drivers._psycopg import PsycopgDialect

    dialect = PsycopgDialect()
    conn = psycopg.connect(pg_server.dsn)
    probe = dialect.transaction_probe(conn)

    def both() -> tuple[bool, bool]:
        return probe(), dialect.in_transaction(conn)

    assert both() == (False, False)
    conn.execute("SELECT 1")
    assert both() == (True, True)
    conn.rollback()
    assert both() == (False, False)
    conn.autocommit = True
    conn.execute("SELECT 1")
    assert both() == (False, False)
    conn.execute("BEGIN")  # an explicit transaction on an autocommit connection
    assert both() == (True, True)
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute("SELECT 1 / 0")
    assert both() == (True, True)  # failed transaction
    conn.execute("ROLLBACK")
    assert both() == (False, False)
    conn.close()
    assert both() == (True, True)  # unknown once closed: never taken for idle


class ServerOnlyRecorder(Recorder):
    """Subscribed like the cluster plugins: server calls and fetches, ``server_calls_only``."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset(
        {"Connection.cursor", "Connection.commit", "Cursor.execute"} | FETCH_METHODS
    )
    server_calls_only: ClassVar[bool] = True


@pytest.fixture
def server_only(connect: Any) -> Any:
    awsdb.register_plugin(ServerOnlyRecorder, code="server_only", weight=5)
    return connect


def test_server_calls_only_plugin_skips_local_calls_and_buffered_fetches(server_only: Any) -> None:
    conn = server_only("server_only")
    rec = conn.plugin_service.plugins[0]
    assert "Connection.cursor" not in conn.plugin_service.chains  # psycopg: a local call
    rec.calls.clear()
    cur = conn.cursor()
    assert rec.calls == []
    cur.execute(ROWS)
    for name in ("fetchone", "fetchmany", "fetchall"):  # client-side: the driver's own
        assert getattr(cur, name).__self__ is cur.target_cursor
    assert cur.fetchone() == EXPECTED[0]
    assert list(cur) == EXPECTED[1:]
    conn.commit()
    assert rec.calls == ["Cursor.execute", "Connection.commit"]


def test_server_calls_only_plugin_sees_fetches_of_named_cursors(server_only: Any) -> None:
    conn = server_only("server_only,fetch_recorder")
    rec, plain = conn.plugin_service.plugins
    rec.calls.clear()
    named = conn.cursor("awsdb_named")
    assert isinstance(named.target_cursor, psycopg.ServerCursor)
    named.execute(ROWS)
    assert named.fetchone() == EXPECTED[0]
    assert named.fetchmany(2) == EXPECTED[1:3]
    assert named.fetchall() == EXPECTED[3:]
    named.execute("SELECT g FROM generate_series(1, 2) AS g")
    assert list(named) == [(1,), (2,)]
    named.close()
    fetches = ["Cursor.fetchone", "Cursor.fetchmany", "Cursor.fetchall"]
    iteration = ["Cursor.__next__"] * 3  # the last one raised StopIteration
    assert rec.calls == ["Cursor.execute", *fetches, "Cursor.execute", *iteration]
    assert plain.calls[-6:] == fetches + iteration  # the plain subscriber's, inside
    # a client-side cursor of the same connection: only the plain subscriber's chain
    rec.calls.clear()
    plain.calls.clear()
    cur = conn.cursor()
    cur.execute(ROWS)
    assert cur.fetchall() == EXPECTED
    assert rec.calls == ["Cursor.execute"]
    assert plain.calls == ["Cursor.fetchall"]
    assert type(cur) is not type(named)
    conn.commit()


def test_mysql_buffered_cursors_do_not_fetch_from_the_server() -> None:
    from mysql.connector import cursor as my

    from awsdb.drivers._mysql import MySQLConnectorDialect

    dialect = MySQLConnectorDialect()
    for cls in (my.MySQLCursor, my.MySQLCursorDict, my.MySQLCursorRaw, my.MySQLCursorPrepared):
        assert dialect.fetches_from_server(cls)
    for cls in (my.MySQLCursorBuffered, my.MySQLCursorBufferedDict, my.MySQLCursorBufferedRaw):
        assert not dialect.fetches_from_server(cls)

    class Custom(my.MySQLCursorBuffered):
        pass

    assert not dialect.fetches_from_server(Custom)


def test_psycopg_named_cursors_fetch_from_the_server() -> None:
    from awsdb.drivers._psycopg import PsycopgDialect

    dialect = PsycopgDialect()
    assert dialect.fetches_from_server(psycopg.ServerCursor)
    assert not dialect.fetches_from_server(psycopg.Cursor)
    assert not dialect.fetches_from_server(psycopg.ClientCursor)
    assert dialect.local_methods == frozenset({"Connection.cursor"})


def test_a_cursor_asks_its_connection_for_each_method_once(connect: Any) -> None:
    conn = connect("exec_recorder")
    rec = conn.plugin_service.plugins[0]
    raw = conn.target_connection.cursor()
    cur = AwsWrapperCursor(conn, raw)  # the base class: no shape, it asks the connection
    asked: list[str] = []
    real = conn._chain

    def counting(method: str) -> Any:
        asked.append(method)
        return real(method)

    conn._chain = counting
    rec.calls.clear()
    cur.execute(ROWS)
    assert cur.fetchone() == EXPECTED[0]
    assert cur.fetchone() == EXPECTED[1]
    cur.execute(ROWS)
    assert cur.fetchall() == EXPECTED
    assert sorted(asked) == ["Cursor.execute", "Cursor.fetchall", "Cursor.fetchone"]
    assert rec.calls == ["Cursor.execute", "Cursor.execute"]
