"""The PEP 249 cursor wrapper: every call goes through its compiled plugin chain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from awsdb.errors import InterfaceError

if TYPE_CHECKING:
    from awsdb._connection import AwsWrapperConnection
    from awsdb._pipeline import Bound

__all__ = ["AwsWrapperCursor"]

_STALE_MESSAGE = (
    "this cursor belongs to a connection that awsdb has since replaced (failover or "
    "switch); create a new cursor from the connection"
)

# Fetch methods bound straight to the driver cursor when no plugin subscribes to them.
_DIRECT_FETCH = ("fetchone", "fetchmany", "fetchall")


class _Stale:
    """Stands in for the raw cursor of a replaced connection: every use raises."""

    __slots__ = ()

    def __getattr__(self, name: str) -> NoReturn:
        raise InterfaceError(_STALE_MESSAGE)

    def __iter__(self) -> NoReturn:
        raise InterfaceError(_STALE_MESSAGE)

    def __next__(self) -> NoReturn:
        raise InterfaceError(_STALE_MESSAGE)


_STALE = _Stale()


def _raise_stale(*args: Any, **kwargs: Any) -> NoReturn:
    raise InterfaceError(_STALE_MESSAGE)


class AwsWrapperCursor:
    """A DB-API cursor over the driver's cursor.

    ``execute`` returns this wrapper (so ``cur.execute(...).fetchall()`` stays wrapped).
    Methods no plugin subscribes to call the driver directly: the three fetch methods are
    then the driver's own bound methods, at the driver's speed.
    """

    def __init__(self, connection: AwsWrapperConnection, raw: Any) -> None:
        self._connection = connection
        self._raw = raw
        binders = connection._service.chains
        self._binders = binders
        self._bound: dict[str, Bound] = {}
        execute = binders.get("Cursor.execute")
        self._execute_chain: Bound | None = None if execute is None else execute(raw)
        nxt = binders.get("Cursor.__next__")
        self._next_chain: Bound | None = None if nxt is None else nxt(raw)
        d = self.__dict__
        for name in _DIRECT_FETCH:
            if f"Cursor.{name}" not in binders:
                d[name] = getattr(raw, name)

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
        self._bound = {}
        if self._execute_chain is not None:
            self._execute_chain = _raise_stale
        if self._next_chain is not None:
            self._next_chain = _raise_stale
        d = self.__dict__
        for name in _DIRECT_FETCH:
            d[name] = _raise_stale

    def _chain(self, method: str) -> Bound | None:
        bound = self._bound.get(method)
        if bound is None:
            binder = self._binders.get(method)
            if binder is None:
                return None
            bound = self._bound[method] = binder(self._raw)
        return bound

    def _call(self, method: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        chain = self._chain(method)
        if chain is None:
            return getattr(self._raw, name)(*args, **kwargs)
        return chain(args, kwargs)

    # --- execution -----------------------------------------------------------------------

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> AwsWrapperCursor:
        """Execute ``query``; returns this cursor."""
        chain = self._execute_chain
        if chain is None:
            if params is None:
                self._raw.execute(query, **kwargs)
            else:
                self._raw.execute(query, params, **kwargs)
        else:
            chain((query,) if params is None else (query, params), kwargs)
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

    # --- fetching (replaced by the driver's bound methods when nobody subscribes) -------

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
        if self._next_chain is None:
            return iter(self._raw)
        return self

    def __next__(self) -> Any:
        chain = self._next_chain
        if chain is None:
            return next(self._raw)
        return chain((), {})

    # --- attributes ----------------------------------------------------------------------

    @property
    def description(self) -> Any:
        """Column descriptions of the last result (PEP 249)."""
        chain = self._chain("Cursor.description")
        if chain is None:
            return self._raw.description
        return chain((), {})

    @property
    def rowcount(self) -> int:
        """Rows produced or affected by the last execute (PEP 249)."""
        chain = self._chain("Cursor.rowcount")
        if chain is None:
            return int(self._raw.rowcount)
        return int(chain((), {}))

    @property
    def lastrowid(self) -> Any:
        """The last inserted row id, or ``None`` when the driver has none (PEP 249)."""
        chain = self._chain("Cursor.lastrowid")
        if chain is None:
            return getattr(self._raw, "lastrowid", None)
        return chain((), {})

    @property
    def arraysize(self) -> int:
        """Default ``fetchmany`` size (PEP 249)."""
        chain = self._chain("Cursor.arraysize")
        if chain is None:
            return int(self._raw.arraysize)
        return int(chain((), {}))

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        chain = self._chain("Cursor.arraysize.set")
        if chain is None:
            self._raw.arraysize = value
        else:
            chain((value,), {})

    @property
    def closed(self) -> bool:
        """True once the cursor is closed."""
        return bool(getattr(self._raw, "closed", False))

    def close(self) -> None:
        """Close the cursor."""
        if self._raw is _STALE:
            return
        self._call("Cursor.close", "close", (), {})

    def __enter__(self) -> AwsWrapperCursor:
        chain = self._chain("Cursor.__enter__")
        if chain is not None:
            chain((), {})
        return self

    def __exit__(self, *exc: object) -> None:
        chain = self._chain("Cursor.__exit__")
        if chain is not None:
            chain(exc, {})
        else:
            self.close()

    def __getattr__(self, name: str) -> Any:
        # Driver extensions (psycopg's ``stream``, ``copy``, ``rownumber`` ...) are forwarded
        # unchanged and unseen by plugins.
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["_raw"], name)

    def __repr__(self) -> str:
        return f"<awsdb.AwsWrapperCursor over {type(self._raw).__qualname__}>"
