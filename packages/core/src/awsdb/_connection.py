"""The PEP 249 connection wrapper and the driver calls at the end of each chain."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from awsdb._cursor import AwsWrapperCursor, cursor_class, cursor_shape
from awsdb._pipeline import SERVER_FETCH
from awsdb.errors import InterfaceError, NotSupportedError

if TYPE_CHECKING:
    from awsdb._pipeline import Binder, Bound
    from awsdb._service import PluginService
    from awsdb.drivers import DriverDialect

__all__ = ["AwsWrapperConnection", "driver_terminal"]


def _missing(method: str, target: Any) -> NotSupportedError:
    return NotSupportedError(f"{type(target).__qualname__} does not support {method}")


def driver_terminal(driver: DriverDialect) -> Callable[[str], Binder]:
    """Return ``make(method)``: the binder of the layer that performs the real driver call.

    A terminal takes the call's target (the driver connection or cursor) with the call, so
    one terminal serves every driver connection and cursor.
    """

    def make(method: str) -> Binder:
        terminal = _terminal(driver, method)
        return lambda conn: terminal

    return make


def _terminal(driver: DriverDialect, method: str) -> Bound:
    owner, _, rest = method.partition(".")
    name, _, suffix = rest.partition(".")
    if method == "Cursor.execute":
        return lambda t, a, k: t.execute(*a, **k)
    if method == "Connection.cursor":
        return lambda t, a, k: t.cursor(*a, **k)
    if method == "Connection.autocommit":
        return lambda t, a, k: driver.get_autocommit(t)
    if method == "Connection.autocommit.set":
        return lambda t, a, k: driver.set_autocommit(t, a[0])
    if method == "Connection.read_only":
        return lambda t, a, k: driver.get_read_only(t)
    if method == "Connection.read_only.set":
        return lambda t, a, k: driver.set_read_only(t, a[0])
    if method == "Connection.execute":
        return _connection_execute
    if name == "__enter__":
        return lambda t, a, k: t.__enter__() if hasattr(t, "__enter__") else t
    if name == "__exit__":
        return lambda t, a, k: t.__exit__(*a) if hasattr(t, "__exit__") else t.close()
    if name == "__next__":
        return lambda t, a, k: next(t)
    if suffix == "set":
        return lambda t, a, k: setattr(t, name, a[0])
    if owner == "Cursor" and name in {"description", "rowcount", "arraysize", "lastrowid"}:
        return lambda t, a, k: getattr(t, name, None)

    def call(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        fn = getattr(target, name, None)
        if fn is None:
            raise _missing(method, target)
        return fn(*args, **kwargs)

    return call


def _connection_execute(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    execute = getattr(target, "execute", None)
    if execute is not None:
        return execute(*args, **kwargs)
    cur = target.cursor()  # drivers without the psycopg shortcut (mysql-connector)
    cur.execute(*args, **kwargs)
    return cur


class _Cursors:
    """The wrapper connection's cursor factory: the per-call state of ``cursor()`` and
    ``execute()`` in slots (the connection class forwards unknown attributes with
    ``__getattr__``, which leaves its own attribute look-ups on CPython's generic path).

    It holds the generated cursor class per driver cursor type, the driver's ``cursor``
    bound once per driver connection (or the ``Connection.cursor`` chain), and weak
    references to the cursors handed out, poisoned when the connection is replaced; dead
    references are pruned when the list doubles.
    """

    __slots__ = (
        "classes",
        "closed",
        "cursor_chain",
        "execute_chain",
        "prune_at",
        "raw",
        "refs",
        "server_shape",
        "service",
        "shape",
    )

    def __init__(self, service: PluginService) -> None:
        self.service = service
        self.shape = cursor_shape(service.chains)
        # the shape of driver cursors that fetch from the server, when it has its own chains
        self.server_shape = (
            cursor_shape(service.chains, server=True)
            if any(k.endswith(SERVER_FETCH) for k in service.chains)
            else None
        )
        self.classes: dict[type, type[AwsWrapperCursor]] = {}
        self.closed = False
        # the driver connection the two chains below are bound to (None: bind on next use)
        self.raw: Any = None
        self.cursor_chain: Bound | None = None  # Connection.cursor, when subscribed
        self.execute_chain: Bound | None = None  # Cursor.execute, when subscribed
        self.refs: list[weakref.ref[AwsWrapperCursor]] = []
        self.prune_at = 64

    def _bind(self) -> Any:
        service = self.service
        raw = self.raw = service.current_connection
        chains = service.chains
        binder = chains.get("Connection.cursor")
        self.cursor_chain = binder(raw) if binder is not None else None
        binder = chains.get("Cursor.execute")
        self.execute_chain = binder(raw) if binder is not None else None
        return raw

    def open(
        self, conn: AwsWrapperConnection, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> AwsWrapperCursor:
        """A new wrapper cursor over a new driver cursor."""
        if self.closed:
            raise InterfaceError("the awsdb connection is closed")
        raw = self.raw
        if raw is None:
            raw = self._bind()
        chain = self.cursor_chain
        if chain is None:
            return self.wrap(conn, raw.cursor(*args, **kwargs))
        return self.wrap(conn, chain(raw, args, kwargs))

    def wrap(self, conn: AwsWrapperConnection, raw: Any) -> AwsWrapperCursor:
        """Wrap the driver cursor ``raw`` and remember it for :meth:`retire`."""
        cls = self.classes.get(type(raw))
        if cls is None:
            cls = self.classes[type(raw)] = self._class_for(type(raw))
        cur = cls(conn, raw)
        if self.raw is None:
            self._bind()
        cur._exec = self.execute_chain  # shared by the cursors of this driver connection
        refs = self.refs
        refs.append(weakref.ref(cur))
        if len(refs) >= self.prune_at:
            live = [r for r in refs if r() is not None]
            self.refs = live
            self.prune_at = max(64, 2 * len(live))
        return cur

    def _class_for(self, raw_type: type) -> type[AwsWrapperCursor]:
        if self.server_shape is not None and self.service.driver.fetches_from_server(raw_type):
            return cursor_class(self.server_shape, raw_type, server=True)
        return cursor_class(self.shape, raw_type)

    def retire(self) -> None:
        """The connection was replaced: poison the cursors handed out, bind again later."""
        self.raw = self.cursor_chain = self.execute_chain = None
        refs, self.refs = self.refs, []
        for ref in refs:
            cursor = ref()
            if cursor is not None:
                cursor._poison()


class AwsWrapperConnection:
    """A DB-API connection over a driver connection, with the connection's plugins.

    Create it with :func:`awsdb.connect` or :meth:`connect`. Every DB-API entry point goes
    through its compiled plugin chain; a method no plugin subscribes to calls the driver
    directly. Attributes awsdb does not define are forwarded to the driver connection,
    unseen by plugins.
    """

    def __init__(self, service: PluginService) -> None:
        self._service = service
        self._binders = service.chains
        self._bound: dict[str, Bound] = {}
        self._closed = False
        self._cursors = _Cursors(service)
        service.on_switch(self._retire_cursors)

    @classmethod
    def connect(
        cls, target: Callable[..., Any], conninfo: str = "", **props: Any
    ) -> AwsWrapperConnection:
        """Connect through ``target`` (e.g. ``psycopg.Connection.connect``); AWS-wrapper
        compatible entry point. See :func:`awsdb.connect`."""
        from awsdb._connect import connect

        return connect(target, conninfo, **props)

    def _retire_cursors(self) -> None:
        self._bound = {}  # chains bound to the replaced connection
        self._cursors.retire()

    def _wrap(self, raw: Any) -> AwsWrapperCursor:
        return self._cursors.wrap(self, raw)

    def _chain(self, method: str) -> Bound | None:
        bound = self._bound.get(method)
        if bound is None:
            binder = self._binders.get(method)
            if binder is None:
                return None
            bound = self._bound[method] = binder(self._service.current_connection)
        return bound

    def _call(self, method: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        chain = self._chain(method)
        raw = self._service.current_connection
        if chain is None:
            try:
                fn = getattr(raw, name)
            except AttributeError:
                raise _missing(method, raw) from None
            return fn(*args, **kwargs)
        return chain(raw, args, kwargs)

    # --- identity ------------------------------------------------------------------------

    @property
    def target_connection(self) -> Any:
        """The current driver connection (changes after failover)."""
        return self._service.current_connection

    @property
    def plugin_service(self) -> PluginService:
        """The per-connection service plugins use (for tools and tests)."""
        return self._service

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran or the driver connection is closed."""
        if self._closed:
            return True
        raw = self._service.current_connection
        return raw is None or self._service.driver.is_closed(raw)

    def is_closed(self) -> bool:
        """Same as :attr:`closed` (AWS wrapper name)."""
        return self.closed

    # --- DB-API ----------------------------------------------------------------------

    def cursor(self, *args: Any, **kwargs: Any) -> AwsWrapperCursor:
        """A new wrapper cursor (driver arguments passed on)."""
        return self._cursors.open(self, args, kwargs)

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> AwsWrapperCursor:
        """Create a cursor, execute ``query`` on it and return it (psycopg shortcut)."""
        if self._closed:
            raise InterfaceError("the awsdb connection is closed")
        args = (query,) if params is None else (query, params)
        if "Connection.execute" in self._binders:
            raw_cursor = self._call("Connection.execute", "execute", args, kwargs)
        else:
            raw_cursor = _connection_execute(self._service.current_connection, args, kwargs)
        return self._cursors.wrap(self, raw_cursor)

    def commit(self) -> None:
        """Commit the current transaction."""
        self._call("Connection.commit", "commit", (), {})

    def rollback(self) -> None:
        """Roll back the current transaction."""
        self._call("Connection.rollback", "rollback", (), {})

    def close(self) -> None:
        """Close the connection and release the plugins' per-connection resources."""
        if self._closed:
            return
        self._closed = self._cursors.closed = True
        try:
            if self._service.current_connection is not None:
                self._service._before_close()
                self._call("Connection.close", "close", (), {})
        finally:
            self._service.release()

    @property
    def autocommit(self) -> bool:
        """The autocommit flag (through the ``Connection.autocommit`` chain)."""
        chain = self._chain("Connection.autocommit")
        raw = self._service.current_connection
        if chain is None:
            return self._service.driver.get_autocommit(raw)
        return bool(chain(raw, (), {}))

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._service._record_setting("autocommit", bool(value))
        chain = self._chain("Connection.autocommit.set")
        raw = self._service.current_connection
        if chain is None:
            self._service.driver.set_autocommit(raw, value)
        else:
            chain(raw, (value,), {})

    def set_autocommit(self, value: bool) -> None:
        """Set :attr:`autocommit` (AWS wrapper / psycopg name)."""
        self.autocommit = value

    @property
    def read_only(self) -> bool:
        """The read-only flag (through the ``Connection.read_only`` chain)."""
        chain = self._chain("Connection.read_only")
        raw = self._service.current_connection
        if chain is None:
            return self._service.driver.get_read_only(raw)
        return bool(chain(raw, (), {}))

    @read_only.setter
    def read_only(self, value: bool) -> None:
        self._service._record_setting("read_only", bool(value))
        chain = self._chain("Connection.read_only.set")
        raw = self._service.current_connection
        if chain is None:
            self._service.driver.set_read_only(raw, value)
        else:
            chain(raw, (value,), {})

    def set_read_only(self, value: bool) -> None:
        """Set :attr:`read_only` (AWS wrapper / psycopg name)."""
        self.read_only = value

    # --- two-phase commit --------------------------------------------------------------

    def xid(self, format_id: int, gtrid: str, bqual: str) -> Any:
        """A transaction id for the ``tpc_*`` methods (driver's own type)."""
        return self._call("Connection.xid", "xid", (format_id, gtrid, bqual), {})

    def tpc_begin(self, xid: Any) -> None:
        """Begin a two-phase transaction."""
        self._call("Connection.tpc_begin", "tpc_begin", (xid,), {})

    def tpc_prepare(self) -> None:
        """Prepare the two-phase transaction."""
        self._call("Connection.tpc_prepare", "tpc_prepare", (), {})

    def tpc_commit(self, xid: Any = None) -> None:
        """Commit a two-phase transaction."""
        self._call("Connection.tpc_commit", "tpc_commit", () if xid is None else (xid,), {})

    def tpc_rollback(self, xid: Any = None) -> None:
        """Roll back a two-phase transaction."""
        self._call("Connection.tpc_rollback", "tpc_rollback", () if xid is None else (xid,), {})

    def tpc_recover(self) -> Any:
        """List prepared two-phase transactions."""
        return self._call("Connection.tpc_recover", "tpc_recover", (), {})

    # --- context manager ---------------------------------------------------------------

    def __enter__(self) -> AwsWrapperConnection:
        chain = self._chain("Connection.__enter__")
        if chain is not None:
            chain(self._service.current_connection, (), {})
        return self

    def __exit__(self, *exc: object) -> None:
        """Leave like the driver does (psycopg: commit or roll back, then close)."""
        if self._closed:
            return
        raw = self._service.current_connection
        try:
            chain = self._chain("Connection.__exit__")
            if chain is not None:
                chain(raw, exc, {})
            elif hasattr(raw, "__exit__"):
                raw.__exit__(*exc)
            else:
                raw.close()
        finally:
            self._closed = self._cursors.closed = True
            self._service.release()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_service":
            raise AttributeError(name)
        return getattr(self._service.current_connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # The wrapper's own state and properties stay here; any other attribute is the
        # driver's (psycopg ``isolation_level``): set it on the driver connection, and
        # record session settings so that they survive a switch.
        if name.startswith("_") or hasattr(type(self), name):
            object.__setattr__(self, name, value)
            return
        service = self._service
        if name in service.driver.session_attributes:
            service._record_setting(name, value)
        setattr(service.current_connection, name, value)

    def __repr__(self) -> str:
        host = self._service.current_host
        where = host.url if host is not None else "?"
        state = "closed" if self._closed else "open"
        codes = ",".join(type(p).__name__ for p in self._service.plugins) or "no plugins"
        driver = self._service.driver.code
        return f"<awsdb.AwsWrapperConnection {state} to {where} via {driver} ({codes})>"
