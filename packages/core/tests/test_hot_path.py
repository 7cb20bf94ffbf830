"""The cursor's direct paths (no subscribed plugin) behave like the driver on a real PostgreSQL;
subscribed methods still go through their chains; replaced connections poison cursors."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any, ClassVar

import psycopg
import pytest
from _plugins import Recorder

import awsdb
from awsdb._cursor import AwsWrapperCursor, cursor_class, cursor_shape
from awsdb.errors import InterfaceError

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
