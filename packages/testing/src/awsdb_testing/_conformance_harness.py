"""What each conformance test runs on: the fake driver, the recorders and the spied plugin.

Internal to :mod:`awsdb_testing.conformance`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

import awsdb
from awsdb.hookspecs import PROJECT
from awsdb.plugin import Plugin, PluginSpec
from awsdb_testing import fake_dialect
from awsdb_testing._conformance_workload import workload_script
from awsdb_testing.fake_driver import FakeDriver
from awsdb_testing.recorder import HookLog, HookRecorder

if TYPE_CHECKING:
    from awsdb_testing.conformance import PluginConformance

OUTER = "conformance_outer"
"""Code of the recorder placed outermost."""
INNER = "conformance_inner"
"""Code of the recorder placed innermost (next to the driver)."""
SUBJECT = "subject"
"""Name under which the plugin under test's own hook calls are recorded."""

IMPL_ATTR = f"{PROJECT}_impl"


@dataclass(frozen=True)
class RealTarget:
    """A real driver to run the pass-through contract on: the connect function (e.g.
    ``psycopg.Connection.connect``), a conninfo, extra properties and a query returning rows."""

    target: Callable[..., Any]
    conninfo: str = ""
    props: Mapping[str, Any] = field(default_factory=dict)
    query: str = "SELECT 1"


@dataclass
class _Instance:
    plugin: Plugin
    releases: int = 0


class Harness:
    """One test's fake driver, hook log, registrations and opened connections."""

    def __init__(self, suite: PluginConformance, spec: PluginSpec) -> None:
        self.suite = suite
        self.spec = spec
        self.log = HookLog()
        self.instances: list[_Instance] = []
        self.driver = FakeDriver(workload_script())
        self.opened: list[Any] = []
        self.subscriptions = spec.methods()
        self.register()

    def register(self) -> None:
        """Register the fake dialect, the recorders and the spied subject (again after a
        ``release_resources()``)."""
        fake_dialect.register()
        for module in self.suite.register_modules:
            awsdb.register_plugin(module)
        awsdb.register_plugin(HookRecorder.spec(self.log, code=OUTER, weight=1))
        awsdb.register_plugin(HookRecorder.spec(self.log, code=INNER, weight=1_000_000))
        awsdb.register_plugin(self._spied_spec())

    def _spied_spec(self) -> PluginSpec:
        original = self.spec

        def factory(service: Any, props: Any) -> Plugin:
            plugin = original.factory(service, props)
            record = _Instance(plugin)
            self.instances.append(record)
            _install_spies(plugin, record, self.log)
            return plugin

        return dataclasses.replace(original, factory=factory, subscribed_methods=self.subscriptions)

    def connect(self, *, wrapped: bool = True, real: RealTarget | None = None) -> Any:
        """Open a wrapper connection with the subject (between the recorders if ``wrapped``)
        on the fake driver, or on ``real``."""
        code = self.spec.code
        props: dict[str, Any] = dict(self.suite.properties)
        if real is not None:
            props.update(real.props)
        if wrapped:
            props["plugins"] = [OUTER, code, INNER]
            props["auto_sort_wrapper_plugin_order"] = False
        else:
            props["plugins"] = [code]
        if real is not None:
            conn = awsdb.connect(real.target, real.conninfo, **props)
        else:
            conn = awsdb.connect(self.driver.connect, self.suite.conninfo, **props)
        self.opened.append(conn)
        return conn

    def close_all(self) -> None:
        """Close every wrapper connection this harness opened (errors ignored)."""
        for conn in self.opened:
            with contextlib.suppress(Exception):
                conn.close()


def _install_spies(plugin: Plugin, record: _Instance, log: HookLog) -> None:
    """Record the subject's own hook calls and its ``release()`` calls.

    The pipeline binds ``plugin.execute`` / ``plugin.connect`` when it compiles the chains,
    after the factory returned, so instance attributes set here are what it calls.
    """
    for hook in ("execute", "connect", "force_connect"):
        impl = getattr(plugin, hook, None)
        if callable(impl):
            setattr(plugin, hook, _spy(hook, impl, log))
    release = plugin.release

    def counted_release() -> None:
        record.releases += 1
        release()

    plugin.release = counted_release  # type: ignore[method-assign]


def _spy(hook: str, impl: Callable[..., Any], log: HookLog) -> Callable[..., Any]:
    def spy(*args: Any, **kwargs: Any) -> Any:
        if hook == "execute":
            method = kwargs.get("method", args[1] if len(args) > 1 else "?")
        else:
            method = hook
        entry = log.enter(SUBJECT, hook, str(method), (), {})
        try:
            result = impl(*args, **kwargs)
        except BaseException as exc:
            log.exit(entry, error=exc)
            raise
        log.exit(entry, result=result)
        return result

    return spy


def fail(problems: Sequence[str], what: str) -> None:
    """Fail the test with the (first 40) ``problems``, if there are any."""
    if problems:
        shown = "\n  - ".join(problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        pytest.fail(f"{what}:\n  - {shown}{more}", pytrace=False)


def live_threads() -> dict[int, threading.Thread]:
    """The threads alive now, by ident."""
    return {t.ident: t for t in threading.enumerate() if t.ident is not None}


def open_fds() -> dict[str, str] | None:
    """This process's open file descriptors and their targets (``None`` without ``/proc``)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return None
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
    return found
