"""``execute_time``: time spent in every DB-API call, per connection and per process."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from awsdb.hookspecs import hookimpl
from awsdb.plugin import ALL_METHODS, Plugin, PluginSpec
from awsdb.plugins._timing import TimingTotals
from awsdb.plugins._timing import process_totals as _process_totals

__all__ = ["ExecuteTimePlugin", "process_totals"]


def process_totals() -> TimingTotals:
    """Process-wide execute totals (a lockable service created on first use)."""
    return _process_totals("execute")


class ExecuteTimePlugin(Plugin):
    """Adds the wall time of each call to :attr:`elapsed_ns` and the process totals."""

    subscribed_methods: ClassVar[frozenset[str]] = ALL_METHODS

    def __init__(self, service: Any, props: Any) -> None:
        super().__init__(service, props)
        self.elapsed_ns = 0
        self.calls = 0
        self._process = process_totals()

    @hookimpl
    def execute(
        self,
        target: Any,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        call_next: Callable[..., Any],
    ) -> Any:
        """Time ``call_next``; failures are timed too."""
        start = time.perf_counter_ns()
        try:
            return call_next(*args, **kwargs)
        finally:
            elapsed = time.perf_counter_ns() - start
            self.elapsed_ns += elapsed
            self.calls += 1
            self._process.add(elapsed)


@hookimpl
def awsdb_plugin_specs() -> Sequence[PluginSpec]:
    """The ``execute_time`` code (relative weight: it sits after the plugin before it)."""
    return [
        PluginSpec(
            code="execute_time",
            factory=ExecuteTimePlugin,
            weight=None,
            description="Accumulates the time spent in every DB-API call.",
        )
    ]
