"""Plugins used by the core's tests (real plugin classes, registered in-process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from awsdb import hookimpl
from awsdb.plugin import ALL_METHODS, Plugin


class Recorder(Plugin):
    """Records every method and connect that passes through it."""

    subscribed_methods: ClassVar[frozenset[str]] = ALL_METHODS | {"connect"}
    log: ClassVar[list[str]]

    def __init__(self, service: Any, props: Any) -> None:
        super().__init__(service, props)
        self.calls: list[str] = []

    @hookimpl
    def connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        self.calls.append("connect")
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
        self.calls.append(method)
        return call_next(*args, **kwargs)


class PassThrough(Plugin):
    """Subscribed to execute only; passes through (benchmarks, ordering tests)."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute"})
    order: ClassVar[list[str]] = []

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        return call_next(*args, **kwargs)
