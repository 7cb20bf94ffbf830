"""``connect_time``: time spent opening physical connections, per connection and process."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from awsdb.hookspecs import hookimpl
from awsdb.plugin import Plugin, PluginSpec
from awsdb.plugins._timing import TimingTotals
from awsdb.plugins._timing import process_totals as _process_totals

__all__ = ["ConnectTimePlugin", "process_totals"]


def process_totals() -> TimingTotals:
    """Process-wide connect totals (a lockable service created on first use)."""
    return _process_totals("connect")


class ConnectTimePlugin(Plugin):
    """Adds the time of each physical connect to :attr:`elapsed_ns` and the process totals."""

    subscribed_methods: ClassVar[frozenset[str]] = frozenset({"connect", "force_connect"})

    def __init__(self, service: Any, props: Any) -> None:
        super().__init__(service, props)
        self.elapsed_ns = 0
        self.connects = 0
        self._process = process_totals()

    def _timed(self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]) -> Any:
        start = time.perf_counter_ns()
        try:
            return call_next(host, props, is_initial)
        finally:
            elapsed = time.perf_counter_ns() - start
            self.elapsed_ns += elapsed
            self.connects += 1
            self._process.add(elapsed)

    @hookimpl
    def connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Time the connect."""
        return self._timed(host, props, is_initial, call_next)

    @hookimpl
    def force_connect(
        self, host: Any, props: Any, is_initial: bool, call_next: Callable[..., Any]
    ) -> Any:
        """Time the forced connect."""
        return self._timed(host, props, is_initial, call_next)


@hookimpl
def awsdb_plugin_specs() -> Sequence[PluginSpec]:
    """The ``connect_time`` code (relative weight)."""
    return [
        PluginSpec(
            code="connect_time",
            factory=ConnectTimePlugin,
            weight=None,
            description="Accumulates the time spent opening physical connections.",
        )
    ]
