"""``dev``: fault injection for tests and rehearsals.

Raise a chosen exception on the next connect or the next call of a method, or let a
callback decide per call. Per connection, reach the plugin with :func:`simulator`; for the
*initial* connect of connections not opened yet, use :func:`process_simulator`.

::

    conn = awsdb.connect(psycopg.Connection.connect, dsn, plugins="dev")
    awsdb.plugins.dev.simulator(conn).raise_on_next_call(
        psycopg.OperationalError("boom"), "Cursor.execute")
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from awsdb.errors import ProgrammingError
from awsdb.hookspecs import hookimpl
from awsdb.plugin import ALL_METHODS, Plugin, PluginSpec
from awsdb.stash import StashKey

__all__ = ["DevPlugin", "FaultPlan", "process_simulator", "simulator"]

MethodCallback = Callable[[str, tuple[Any, ...], dict[str, Any]], BaseException | None]
ConnectCallback = Callable[[Any, Any], BaseException | None]


class FaultPlan:
    """Pending faults: one-shot errors and callbacks. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_connect: BaseException | None = None
        self._next_call: tuple[BaseException, str] | None = None
        self._method_callback: MethodCallback | None = None
        self._connect_callback: ConnectCallback | None = None

    def raise_on_next_connect(self, exc: BaseException) -> None:
        """Raise ``exc`` (once) instead of the next physical connect."""
        _check(exc)
        with self._lock:
            self._next_connect = exc

    def raise_on_next_call(self, exc: BaseException, method: str = "*") -> None:
        """Raise ``exc`` (once) on the next call of ``method`` (``"*"``: any method)."""
        _check(exc)
        if method != "*" and method not in ALL_METHODS:
            raise ProgrammingError(
                f"invalid method {method!r} for raise_on_next_call; allowed: '*' or one of "
                f"{sorted(ALL_METHODS)}"
            )
        with self._lock:
            self._next_call = (exc, method)

    def set_method_callback(self, callback: MethodCallback | None) -> None:
        """Call ``callback(method, args, kwargs)`` before each call; a returned exception is
        raised instead of the call."""
        with self._lock:
            self._method_callback = callback

    def set_connect_callback(self, callback: ConnectCallback | None) -> None:
        """Call ``callback(host, props)`` before each connect; a returned exception is raised."""
        with self._lock:
            self._connect_callback = callback

    def clear(self) -> None:
        """Drop every pending fault and callback."""
        with self._lock:
            self._next_connect = None
            self._next_call = None
            self._method_callback = None
            self._connect_callback = None

    def take_connect_fault(self, host: Any, props: Any) -> BaseException | None:
        """The fault for this connect, consuming a one-shot error."""
        with self._lock:
            exc, self._next_connect = self._next_connect, None
            callback = self._connect_callback
        if exc is not None:
            return exc
        return callback(host, props) if callback is not None else None

    def take_call_fault(
        self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> BaseException | None:
        """The fault for this call, consuming a one-shot error that matches ``method``."""
        with self._lock:
            pending = self._next_call
            if pending is not None and pending[1] in ("*", method):
                self._next_call = None
                return pending[0]
            callback = self._method_callback
        return callback(method, args, kwargs) if callback is not None else None


def _check(exc: object) -> None:
    if not isinstance(exc, BaseException):
        raise ProgrammingError(f"expected an exception instance, got {type(exc).__name__}")


_PROCESS_PLAN: StashKey[FaultPlan] = StashKey("dev.process-plan")


def process_simulator() -> FaultPlan:
    """Faults for connections opened from now on (consumed by the first ``dev`` connect)."""
    from awsdb._service import get_services

    return get_services().stash.setdefault(_PROCESS_PLAN, FaultPlan)


class DevPlugin(Plugin, FaultPlan):
    """The per-connection fault plan, applied to connects and every DB-API call."""

    subscribed_methods: ClassVar[frozenset[str]] = ALL_METHODS | {"connect", "force_connect"}

    def __init__(self, service: Any, props: Any) -> None:
        Plugin.__init__(self, service, props)
        FaultPlan.__init__(self)

    def _connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        exc = self.take_connect_fault(host, props)
        if exc is None:
            exc = process_simulator().take_connect_fault(host, props)
        if exc is not None:
            raise exc
        return call_next(host, props, is_initial)

    @hookimpl
    def connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Raise a planned connect fault, else connect."""
        return self._connect(host, props, is_initial, call_next)

    @hookimpl
    def force_connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Raise a planned connect fault, else connect."""
        return self._connect(host, props, is_initial, call_next)

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        """Raise a planned call fault, else call through."""
        exc = self.take_call_fault(method, args, kwargs)
        if exc is not None:
            raise exc
        return call_next(*args, **kwargs)


def simulator(conn: Any) -> DevPlugin:
    """The ``dev`` plugin instance of a wrapper connection."""
    for plugin in conn.plugin_service.plugins:
        if isinstance(plugin, DevPlugin):
            return plugin
    raise ProgrammingError("this connection was not opened with the 'dev' plugin")


@hookimpl
def awsdb_plugin_specs() -> Sequence[PluginSpec]:
    """The ``dev`` code (relative weight)."""
    return [
        PluginSpec(
            code="dev",
            factory=DevPlugin,
            weight=None,
            description="Fault injection: raise chosen errors on connect or on any call.",
        )
    ]
