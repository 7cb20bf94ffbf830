"""A plugin that records every hook call it sees, and assertions on the recorded sequences.

:class:`HookRecorder` is an ordinary awsdb plugin: register it under a code with
:meth:`HookRecorder.spec` and list that code in ``plugins=``. Every instance writes to the
:class:`HookLog` given to the spec: ``connect``, ``force_connect``, ``execute`` (one entry
per DB-API method call), ``notify_connection_changed`` and ``notify_host_list_changed``,
with arguments, result or exception, and entry/exit sequence numbers, so that several
recorders placed around a plugin show the chain order and what the plugin changed::

    log = HookLog()
    awsdb.register_plugin(HookRecorder.spec(log, code="outer", weight=1))
    awsdb.register_plugin(HookRecorder.spec(log, code="inner", weight=10_000))
    conn = awsdb.connect(driver.connect, "host=db1", plugins="outer,my_plugin,inner")
    conn.cursor().execute("SELECT 1")
    log.assert_nested("outer", "inner", "Cursor.execute")

A recorder passes every call through unchanged (``call_next`` exactly once) and answers
``notify_connection_changed`` with no opinion.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from awsdb.hookspecs import hookimpl
from awsdb.plugin import ALL_METHODS, ConnectionChange, HostChange, Plugin, PluginSpec

__all__ = ["HookCall", "HookLog", "HookRecorder"]

_LIFECYCLE = ("connect", "force_connect")
_NOTIFY = ("notify_connection_changed", "notify_host_list_changed")


@dataclass
class HookCall:
    """One hook call seen by a recorder.

    ``method`` is the DB-API method name for ``execute`` (``"Cursor.execute"``) and the hook
    name otherwise. For ``connect``/``force_connect``, ``args`` is ``(host, props,
    is_initial)``; for notifications, ``(changes,)``. ``seq`` and ``end_seq`` number entry
    and exit in one sequence shared by every recorder of the log.
    """

    seq: int
    recorder: str
    hook: str
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    target: Any = None
    thread: str = ""
    result: Any = None
    error: BaseException | None = None
    end_seq: int | None = None

    @property
    def done(self) -> bool:
        """True once the call returned or raised."""
        return self.end_seq is not None

    def encloses(self, other: HookCall) -> bool:
        """True if ``other`` started after and ended before this call."""
        if self.end_seq is None or other.end_seq is None:
            return False
        return self.seq < other.seq and other.end_seq < self.end_seq


class HookLog:
    """The calls recorded by one or more :class:`HookRecorder` instances. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[HookCall] = []
        self._seq = itertools.count(1)

    # --- recording (used by recorders and by test kits that spy on plugins) ---------------

    def enter(
        self,
        recorder: str,
        hook: str,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None = None,
        target: Any = None,
    ) -> HookCall:
        """Record the start of a call and return its entry (finish it with :meth:`exit`)."""
        with self._lock:
            call = HookCall(
                next(self._seq),
                recorder,
                hook,
                method,
                tuple(args),
                dict(kwargs or {}),
                target,
                threading.current_thread().name,
            )
            self._calls.append(call)
        return call

    def exit(self, call: HookCall, result: Any = None, error: BaseException | None = None) -> None:
        """Record the end of ``call`` with its result or exception."""
        with self._lock:
            call.result = result
            call.error = error
            call.end_seq = next(self._seq)

    def clear(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._calls.clear()

    # --- queries -------------------------------------------------------------------------

    def calls(
        self,
        method: str | None = None,
        *,
        recorder: str | None = None,
        hook: str | None = None,
    ) -> list[HookCall]:
        """Recorded calls in entry order, filtered by method, recorder and hook."""
        with self._lock:
            calls = list(self._calls)
        return [
            c
            for c in calls
            if (method is None or c.method == method)
            and (recorder is None or c.recorder == recorder)
            and (hook is None or c.hook == hook)
        ]

    def methods(self, *, recorder: str | None = None, hook: str | None = None) -> list[str]:
        """The method names (hook names for non-``execute`` hooks) in entry order."""
        return [c.method for c in self.calls(recorder=recorder, hook=hook)]

    def count(self, method: str, *, recorder: str | None = None) -> int:
        """How many calls of ``method`` were recorded (by ``recorder``)."""
        return len(self.calls(method, recorder=recorder))

    def last(self, method: str | None = None, *, recorder: str | None = None) -> HookCall:
        """The latest call (of ``method``, by ``recorder``); ``LookupError`` if none."""
        calls = self.calls(method, recorder=recorder)
        if not calls:
            raise LookupError(f"no call of {method or 'any hook'} was recorded")
        return calls[-1]

    def recorders(self) -> list[str]:
        """The names of the recorders that recorded something, in first-seen order."""
        return list(dict.fromkeys(c.recorder for c in self.calls()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    # --- assertions ----------------------------------------------------------------------

    def assert_called(
        self, method: str, times: int | None = None, *, recorder: str | None = None
    ) -> list[HookCall]:
        """Fail unless ``method`` was recorded (exactly ``times`` times when given)."""
        calls = self.calls(method, recorder=recorder)
        who = f" by {recorder!r}" if recorder else ""
        if times is None and not calls:
            raise AssertionError(f"{method} was never recorded{who}; recorded: {self.methods()}")
        if times is not None and len(calls) != times:
            raise AssertionError(
                f"{method} was recorded {len(calls)} times{who}, expected {times}; "
                f"recorded: {self.methods(recorder=recorder)}"
            )
        return calls

    def assert_not_called(self, method: str, *, recorder: str | None = None) -> None:
        """Fail if ``method`` was recorded (by ``recorder``)."""
        self.assert_called(method, 0, recorder=recorder)

    def assert_sequence(
        self,
        expected: Sequence[str],
        *,
        recorder: str | None = None,
        hook: str | None = None,
        exact: bool = False,
    ) -> None:
        """Fail unless the recorded method names contain ``expected`` in order.

        By default ``expected`` may be interleaved with other calls (a subsequence); with
        ``exact`` the recorded names must equal it.
        """
        seen = self.methods(recorder=recorder, hook=hook)
        if exact:
            if seen != list(expected):
                raise AssertionError(f"recorded {seen}, expected exactly {list(expected)}")
            return
        it = iter(seen)
        missing = [name for name in expected if not any(s == name for s in it)]
        if missing:
            raise AssertionError(
                f"recorded {seen} does not contain {list(expected)} in order "
                f"(first missing: {missing[0]!r})"
            )

    def assert_nested(self, outer: str, inner: str, method: str) -> None:
        """Fail unless every call of ``method`` recorded by ``inner`` ran inside a call of
        it recorded by ``outer`` (``outer`` sits before ``inner`` in the chain)."""
        outers = self.calls(method, recorder=outer)
        inners = self.calls(method, recorder=inner)
        if not inners:
            raise AssertionError(f"{method} was never recorded by {inner!r}")
        for call in inners:
            if not any(o.encloses(call) for o in outers):
                raise AssertionError(
                    f"{method} #{call.seq} recorded by {inner!r} did not run inside a call "
                    f"recorded by {outer!r}: the chain order is not {outer} -> {inner}"
                )


class HookRecorder(Plugin):
    """Records every hook call into a :class:`HookLog` and passes it through unchanged.

    Subscribed to every DB-API method plus ``connect`` and ``force_connect`` (a narrower set
    with ``methods=`` of :meth:`spec`).
    """

    subscribed_methods: ClassVar[frozenset[str]] = ALL_METHODS | frozenset(_LIFECYCLE)

    def __init__(
        self,
        service: Any,
        props: Any,
        log: HookLog | None = None,
        name: str = "recorder",
    ) -> None:
        super().__init__(service, props)
        self.log = log if log is not None else HookLog()
        self.name = name

    @classmethod
    def spec(
        cls,
        log: HookLog,
        *,
        code: str = "recorder",
        weight: int | None = None,
        methods: Sequence[str] | None = None,
        description: str = "Records every hook call (awsdb-testing).",
    ) -> PluginSpec:
        """A :class:`~awsdb.plugin.PluginSpec` whose instances record into ``log`` under
        the name ``code``; register it with ``awsdb.register_plugin``. ``methods`` narrows
        the subscriptions (default: everything)."""
        klass: type[HookRecorder] = cls
        if methods is not None:
            klass = type(
                f"{cls.__name__}_{code}",
                (cls,),
                {"subscribed_methods": frozenset(methods), "__module__": cls.__module__},
            )
        subscriptions = klass.subscriptions()  # validates the names

        def factory(service: Any, props: Any) -> HookRecorder:
            return klass(service, props, log=log, name=code)

        return PluginSpec(
            code=code,
            factory=factory,
            weight=weight,
            description=description,
            subscribed_methods=subscriptions,
        )

    @staticmethod
    def of(conn: Any, name: str | None = None) -> list[HookRecorder]:
        """The recorders of a wrapper connection (named ``name`` when given)."""
        return [
            p
            for p in conn.plugin_service.plugins
            if isinstance(p, HookRecorder) and (name is None or p.name == name)
        ]

    def _through(
        self,
        hook: str,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        target: Any,
        call: Callable[[], Any],
    ) -> Any:
        entry = self.log.enter(self.name, hook, method, args, kwargs, target)
        try:
            result = call()
        except BaseException as exc:
            self.log.exit(entry, error=exc)
            raise
        self.log.exit(entry, result=result)
        return result

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        """Record one DB-API call and pass it on unchanged."""
        return self._through(
            "execute", method, args, kwargs, target, lambda: call_next(*args, **kwargs)
        )

    @hookimpl
    def connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Record a connect and pass it on unchanged."""
        return self._through(
            "connect",
            "connect",
            (host, props, is_initial),
            {},
            None,
            lambda: call_next(host, props, is_initial),
        )

    @hookimpl
    def force_connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Record a forced connect and pass it on unchanged."""
        return self._through(
            "force_connect",
            "force_connect",
            (host, props, is_initial),
            {},
            None,
            lambda: call_next(host, props, is_initial),
        )

    @hookimpl
    def notify_connection_changed(self, changes: frozenset[ConnectionChange]) -> None:
        """Record the change; no opinion on the old connection."""
        entry = self.log.enter(self.name, _NOTIFY[0], _NOTIFY[0], (changes,))
        self.log.exit(entry)

    @hookimpl
    def notify_host_list_changed(self, changes: Mapping[str, frozenset[HostChange]]) -> None:
        """Record the host changes."""
        entry = self.log.enter(self.name, _NOTIFY[1], _NOTIFY[1], (changes,))
        self.log.exit(entry)
