"""The PEP 249 cursor wrapper: subscribed methods go through their plugin chains.

:class:`AwsWrapperCursor` implements every method through the connection's compiled chains
(a method with no chain calls the driver). Connections do not instantiate it directly: they
use :func:`cursor_class`, a subclass generated once per *chain shape* (the set of cursor
methods some plugin subscribes to) and driver cursor type, in which every method nobody
subscribes to is replaced by a direct call to the driver cursor:

- ``fetchone`` / ``fetchmany`` / ``fetchall`` are slots holding the driver cursor's own
  bound methods, so ``cur.fetchone()`` costs a slot read and the driver's call;
- ``execute``, ``close``, iteration, the context manager and the PEP 249 attributes are plain
  class-level functions over the driver cursor, with no chain look-up per call.

The class has ``__slots__`` and no instance ``__dict__``, and no ``__getattr__`` (the driver
cursor's own public attributes are forwarded by class-level descriptors): nothing shadows a
class attribute and attribute look-ups use the generic path, so CPython's attribute
specialisation applies. A plugin subscribed to ``Cursor.execute`` only
leaves the fetch methods direct.

The chains a cursor uses are those of its connection, bound once per driver connection; the
``Cursor.execute`` chain is handed to each new cursor in a slot. Driver cursors whose
fetches read from the server (psycopg's named cursors) get their own generated class when
a ``server_calls_only`` plugin (failover) subscribes to fetches: there the fetch methods go
through the chains that include it, while client-side cursors keep the driver's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn, cast

from awsdb._pipeline import SERVER_FETCH, server_fetch_key
from awsdb.errors import InterfaceError
from awsdb.plugin import FETCH_METHODS

if TYPE_CHECKING:
    from awsdb._connection import AwsWrapperConnection
    from awsdb._pipeline import Binder, Bound

__all__ = ["AwsWrapperCursor", "cursor_class", "cursor_shape"]

_STALE_MESSAGE = (
    "this cursor belongs to a connection that awsdb has since replaced (failover or "
    "switch); create a new cursor from the connection"
)

# Fetch methods held in slots as the driver's bound methods when no plugin subscribes.
_DIRECT_FETCH = ("fetchone", "fetchmany", "fetchall")


class _Stale:
    """Stands in for the raw cursor of a replaced connection: every use raises.

    ``close()`` is a no-op and ``closed`` is true: the cursor is unusable, closing it again
    is harmless.
    """

    __slots__ = ()

    closed = True

    def close(self) -> None:
        return None

    def __getattr__(self, name: str) -> NoReturn:
        raise InterfaceError(_STALE_MESSAGE)

    def __iter__(self) -> NoReturn:
        raise InterfaceError(_STALE_MESSAGE)

    def __next__(self) -> NoReturn:
        raise InterfaceError(_STALE_MESSAGE)


_STALE = _Stale()


def _unset(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> NoReturn:
    """Marks a method not looked up yet in a cursor's cache of chains (never called)."""
    raise AssertionError("not a chain")


def _raise_stale(*args: Any, **kwargs: Any) -> NoReturn:
    raise InterfaceError(_STALE_MESSAGE)


class AwsWrapperCursor:
    """A DB-API cursor over the driver's cursor.

    ``execute`` returns this wrapper (so ``cur.execute(...).fetchall()`` stays wrapped).
    Methods no plugin subscribes to call the driver directly: the three fetch methods are
    then the driver's own bound methods, at the driver's speed. After the connection is
    replaced (failover, switch) every use raises :class:`~awsdb.errors.InterfaceError`.
    """

    __slots__ = ("__weakref__", "_bound", "_connection", "_exec", "_raw")

    # The subscribed cursor methods (set on the generated subclasses; ``None``: ask the
    # connection for every method).
    _subscribed: frozenset[str] | None = None
    # True on the generated subclasses for driver cursors that fetch from the server: their
    # fetch methods use the chains of the fetch calls that reach the server.
    _server_fetch: bool = False

    def __init__(self, connection: AwsWrapperConnection, raw: Any) -> None:
        self._connection = connection
        self._raw = raw
        # chains bound to the connection's current driver connection (None: no chain), by
        # method, once used
        self._bound: dict[str, Bound | None] | None = None
        # the Cursor.execute chain (given by the connection, else found on first use)
        self._exec: Bound | None = None

    # --- identity ------------------------------------------------------------------------

    @property
    def connection(self) -> AwsWrapperConnection:
        """The wrapper connection this cursor came from."""
        return self._connection

    @property
    def target_cursor(self) -> Any:
        """The driver's cursor (plugins do not see calls made on it directly)."""
        return self._raw

    def _poison(self) -> None:
        self._raw = _STALE
        self._bound = None
        self._exec = None
        for name in _DIRECT_FETCH:
            if name in type(self)._direct_slots:
                setattr(self, name, _raise_stale)

    # Names of the fetch methods held in slots (set on the generated subclasses).
    _direct_slots: frozenset[str] = frozenset()

    def _chain(self, method: str) -> Bound | None:
        subscribed = self._subscribed
        if subscribed is not None and method not in subscribed:
            return None
        bound = self._bound
        if bound is None:
            bound = self._bound = {}
        fn = bound.get(method, _unset)
        if fn is _unset:
            if self._raw is _STALE:
                fn = _raise_stale
            else:
                key = method
                if self._server_fetch and method in FETCH_METHODS:
                    key = server_fetch_key(method)
                fn = self._connection._chain(key)
                if fn is None and key != method:
                    fn = self._connection._chain(method)
            bound[method] = fn  # None too: the connection's subscriptions do not change
        return fn

    def _call(self, method: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        chain = self._chain(method)
        if chain is None:
            return getattr(self._raw, name)(*args, **kwargs)
        return chain(self._raw, args, kwargs)

    # --- execution -----------------------------------------------------------------------

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> AwsWrapperCursor:
        """Execute ``query``; returns this cursor."""
        self._call(
            "Cursor.execute", "execute", (query,) if params is None else (query, params), kwargs
        )
        return self

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> AwsWrapperCursor:
        """Execute ``query`` for every parameter set; returns this cursor."""
        self._call("Cursor.executemany", "executemany", (query, params_seq), kwargs)
        return self

    def callproc(self, procname: str, *args: Any) -> Any:
        """Call a stored procedure; positional arguments are passed on unchanged."""
        return self._call("Cursor.callproc", "callproc", (procname, *args), {})

    def nextset(self) -> Any:
        """Move to the next result set."""
        return self._call("Cursor.nextset", "nextset", (), {})

    def setinputsizes(self, sizes: Any) -> Any:
        """PEP 249 ``setinputsizes``."""
        return self._call("Cursor.setinputsizes", "setinputsizes", (sizes,), {})

    def setoutputsize(self, size: Any, column: Any = None) -> Any:
        """PEP 249 ``setoutputsize``."""
        args = (size,) if column is None else (size, column)
        return self._call("Cursor.setoutputsize", "setoutputsize", args, {})

    # --- fetching (slots holding the driver's bound methods when nobody subscribes) -----

    def fetchone(self) -> Any:
        """Fetch the next row, or ``None``."""
        return self._call("Cursor.fetchone", "fetchone", (), {})

    def fetchmany(self, size: int | None = None) -> Any:
        """Fetch up to ``size`` rows (default ``arraysize``)."""
        return self._call("Cursor.fetchmany", "fetchmany", () if size is None else (size,), {})

    def fetchall(self) -> Any:
        """Fetch all remaining rows."""
        return self._call("Cursor.fetchall", "fetchall", (), {})

    def __iter__(self) -> Iterator[Any]:
        if self._chain("Cursor.__next__") is None:
            return iter(self._raw)
        return self

    def __next__(self) -> Any:
        chain = self._chain("Cursor.__next__")
        if chain is None:
            return next(self._raw)
        return chain(self._raw, (), {})

    # --- attributes ----------------------------------------------------------------------

    @property
    def description(self) -> Any:
        """Column descriptions of the last result (PEP 249)."""
        chain = self._chain("Cursor.description")
        if chain is None:
            return self._raw.description
        return chain(self._raw, (), {})

    @property
    def rowcount(self) -> int:
        """Rows produced or affected by the last execute (PEP 249)."""
        chain = self._chain("Cursor.rowcount")
        if chain is None:
            return int(self._raw.rowcount)
        return int(chain(self._raw, (), {}))

    @property
    def lastrowid(self) -> Any:
        """The last inserted row id, or ``None`` when the driver has none (PEP 249)."""
        chain = self._chain("Cursor.lastrowid")
        if chain is None:
            return getattr(self._raw, "lastrowid", None)
        return chain(self._raw, (), {})

    @property
    def arraysize(self) -> int:
        """Default ``fetchmany`` size (PEP 249)."""
        chain = self._chain("Cursor.arraysize")
        if chain is None:
            return int(self._raw.arraysize)
        return int(chain(self._raw, (), {}))

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        chain = self._chain("Cursor.arraysize.set")
        if chain is None:
            self._raw.arraysize = value
        else:
            chain(self._raw, (value,), {})

    @property
    def closed(self) -> bool:
        """True once the cursor is closed (or its connection was replaced)."""
        return bool(getattr(self._raw, "closed", False))

    def close(self) -> None:
        """Close the cursor."""
        if self._raw is _STALE:
            return
        self._call("Cursor.close", "close", (), {})

    def __enter__(self) -> AwsWrapperCursor:
        chain = self._chain("Cursor.__enter__")
        if chain is not None:
            chain(self._raw, (), {})
        return self

    def __exit__(self, *exc: object) -> None:
        chain = self._chain("Cursor.__exit__")
        if chain is not None:
            chain(self._raw, exc, {})
        else:
            self.close()

    def __repr__(self) -> str:
        return f"<awsdb.AwsWrapperCursor over {type(self._raw).__qualname__}>"


class _Forward:
    """Forwards one driver-cursor attribute (psycopg ``stream``, ``rownumber`` ...), unseen
    by plugins. A class-level descriptor rather than ``__getattr__``: a ``__getattr__``
    anywhere on the class turns off CPython's attribute specialisation for every access."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: AwsWrapperCursor | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(obj._raw, self.name)

    def __set__(self, obj: AwsWrapperCursor, value: Any) -> None:
        setattr(obj._raw, self.name, value)

    def __delete__(self, obj: AwsWrapperCursor) -> None:
        delattr(obj._raw, self.name)


# --- direct implementations used by the generated subclasses -----------------------------


def _execute(self: AwsWrapperCursor, query: Any, params: Any = None, **kwargs: Any) -> Any:
    """Execute ``query``; returns this cursor."""
    if params is None:
        self._raw.execute(query, **kwargs)
    else:
        self._raw.execute(query, params, **kwargs)
    return self


def _execute_chained(self: AwsWrapperCursor, query: Any, params: Any = None, **kwargs: Any) -> Any:
    """Execute ``query``; returns this cursor."""
    fn = self._exec
    if fn is None:
        # found on first use and kept in the slot (reset when the connection is replaced)
        fn = self._exec = cast("Bound", self._chain("Cursor.execute"))
    fn(self._raw, (query,) if params is None else (query, params), kwargs)
    return self


def _close(self: AwsWrapperCursor) -> None:
    """Close the cursor."""
    self._raw.close()  # a no-op on a cursor whose connection was replaced


def _iter(self: AwsWrapperCursor) -> Iterator[Any]:
    return iter(self._raw)


def _next(self: AwsWrapperCursor) -> Any:
    return next(self._raw)


def _enter(self: AwsWrapperCursor) -> AwsWrapperCursor:
    return self


def _exit(self: AwsWrapperCursor, *exc: object) -> None:
    self.close()


def _description(self: AwsWrapperCursor) -> Any:
    return self._raw.description


def _rowcount(self: AwsWrapperCursor) -> int:
    return int(self._raw.rowcount)


def _arraysize(self: AwsWrapperCursor) -> int:
    return int(self._raw.arraysize)


def _set_arraysize(self: AwsWrapperCursor, value: int) -> None:
    self._raw.arraysize = value


def _init_all_direct(self: AwsWrapperCursor, connection: AwsWrapperConnection, raw: Any) -> None:
    # the common shape (no plugin on fetches), written out: plain slot stores
    self._connection = connection
    self._raw = raw
    self._bound = None
    self._exec = None
    self.fetchone = raw.fetchone  # type: ignore[method-assign]
    self.fetchmany = raw.fetchmany  # type: ignore[method-assign]
    self.fetchall = raw.fetchall  # type: ignore[method-assign]


def _init_direct(names: tuple[str, ...]) -> Callable[[AwsWrapperCursor, Any, Any], None]:
    if names == _DIRECT_FETCH:
        return _init_all_direct

    def init(self: AwsWrapperCursor, connection: AwsWrapperConnection, raw: Any) -> None:
        self._connection = connection
        self._raw = raw
        self._bound = None
        self._exec = None
        for name in names:
            setattr(self, name, getattr(raw, name))

    init.__name__ = init.__qualname__ = "__init__"
    return init


# Cursor method -> (attribute, direct implementation) for methods replaced when unsubscribed.
_DIRECT: dict[str, tuple[str, Any]] = {
    "Cursor.execute": ("execute", _execute),
    "Cursor.close": ("close", _close),
    "Cursor.__next__": ("__next__", _next),
    "Cursor.__enter__": ("__enter__", _enter),
    "Cursor.__exit__": ("__exit__", _exit),
    "Cursor.description": (
        "description",
        property(_description, doc=AwsWrapperCursor.description.__doc__),
    ),
    "Cursor.rowcount": ("rowcount", property(_rowcount, doc=AwsWrapperCursor.rowcount.__doc__)),
}


@lru_cache(maxsize=128)
def _subclass(shape: frozenset[str], raw_type: type, server: bool) -> type[AwsWrapperCursor]:
    ns: dict[str, Any] = {"__module__": __name__, "__qualname__": "AwsWrapperCursor"}
    own = set(dir(AwsWrapperCursor))
    for name in dir(raw_type):
        if not name.startswith("_") and name not in own:
            ns[name] = _Forward(name)
    for method, (attr, impl) in _DIRECT.items():
        if method not in shape:
            ns[attr] = impl
    if "Cursor.execute" in shape:
        ns["execute"] = _execute_chained
    if "Cursor.__next__" not in shape:
        ns["__iter__"] = _iter
    if "Cursor.arraysize" not in shape and "Cursor.arraysize.set" not in shape:
        ns["arraysize"] = property(
            _arraysize, _set_arraysize, doc=AwsWrapperCursor.arraysize.__doc__
        )
    direct = tuple(n for n in _DIRECT_FETCH if f"Cursor.{n}" not in shape)
    ns["__slots__"] = direct
    ns["_direct_slots"] = frozenset(direct)
    ns["_subscribed"] = shape
    ns["_server_fetch"] = server
    ns["__init__"] = _init_direct(direct)
    ns["__doc__"] = AwsWrapperCursor.__doc__
    return cast("type[AwsWrapperCursor]", type("AwsWrapperCursor", (AwsWrapperCursor,), ns))


def cursor_shape(chains: Mapping[str, Binder], server: bool = False) -> frozenset[str]:
    """The subscribed cursor methods of a connection's compiled ``chains``; ``server``: for
    driver cursors whose fetches read from the server (their fetch chains included)."""
    names = {m for m in chains if m.startswith("Cursor.") and not m.endswith(SERVER_FETCH)}
    if server:
        names |= {m for m in FETCH_METHODS if server_fetch_key(m) in chains}
    return frozenset(names)


def cursor_class(
    shape: frozenset[str], raw_type: type, server: bool = False
) -> type[AwsWrapperCursor]:
    """The :class:`AwsWrapperCursor` subclass for a chain ``shape`` over ``raw_type``.

    One class per (shape, driver cursor type, ``server``), cached: the methods nobody
    subscribes to call the driver cursor directly, and the driver cursor's public attributes
    the wrapper does not define are forwarded by class-level descriptors. ``server``: the
    driver cursor fetches from the server, and the fetch methods in ``shape`` use the chains
    of :func:`~awsdb._pipeline.server_fetch_key`.
    """
    return _subclass(shape, raw_type, server)
