"""The plugin conformance suite: contract tests every awsdb plugin should pass.

Opt-in: import the base class in a test module and subclass it (the name must start with
``Test`` for pytest to collect it); nothing is registered with pytest automatically::

    from awsdb_testing.conformance import PluginConformance

    class TestMyPluginConformance(PluginConformance):
        plugin = "my_plugin"                     # a code, a PluginSpec, a Plugin subclass
        properties = {"my_plugin_option": "x"}   # extra connection properties

The tests run the plugin on the fake driver (:mod:`awsdb_testing.fake_driver`), alone and
between two :class:`~awsdb_testing.recorder.HookRecorder` plugins (one outermost, one
innermost; automatic ordering off), and check:

(a) **subscriptions**: ``subscriptions()`` is valid and agrees with the spec; the implemented
    hooks match the subscriptions; the plugin's hooks are called only for subscribed
    methods; every DB-API method, and every connect, reaches the driver exactly once.
(b) **call_next**: arguments and results of pass-through calls are unchanged (a plugin that
    rewrites them on purpose lists the methods in :attr:`PluginConformance.changes_arguments`
    / :attr:`PluginConformance.changes_results`); each call runs inside the outer recorder's
    call and around the inner recorder's call (the chain order is kept).
(c) **errors**: a non-network driver exception raised by any DB-API method or by connect
    reaches the caller as the same object.
(d) **resources**: after the connections close and ``awsdb.release_resources()`` runs,
    threads and file descriptors are back to their baseline, ``release()`` ran once per
    plugin instance and no connection is left open in the fake driver.

A subclass may also check the pass-through contract on a real database by overriding
:meth:`PluginConformance.real_target` (it receives the pytest ``request`` to reach fixtures).
"""

from __future__ import annotations

import gc
import importlib.metadata as md
import threading
import time
import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pytest

import awsdb
from awsdb.plugin import ALL_METHODS, Plugin, PluginSpec
from awsdb_testing._conformance_harness import (
    IMPL_ATTR,
    INNER,
    OUTER,
    SUBJECT,
    Harness,
    RealTarget,
    fail,
    live_threads,
    open_fds,
)
from awsdb_testing._conformance_workload import (
    LIFECYCLE,
    STEP_METHODS,
    STEPS,
    Outcome,
    Session,
    Step,
    driver_arg_problems,
    driver_count_problems,
    run_steps,
    workload_script,
)
from awsdb_testing.fake_driver import FakeDriver, IntegrityError, OperationalError

__all__ = ["INNER", "OUTER", "STEP_METHODS", "SUBJECT", "PluginConformance", "RealTarget"]


class PluginConformance:
    """Base class of the conformance tests of one plugin; subclass it as ``Test...``.

    Set :attr:`plugin` and, when needed, :attr:`properties`, :attr:`changes_arguments`,
    :attr:`changes_results`, :attr:`register_modules`; override :meth:`real_target` to also
    run the pass-through contract on a real driver.
    """

    plugin: ClassVar[str | PluginSpec | type[Plugin] | types.ModuleType | None] = None
    """The plugin under test: an ``awsdb.plugins`` entry-point code, a ``PluginSpec``, a
    ``Plugin`` subclass (code from its ``code`` attribute or class name) or a module with
    ``awsdb_plugin_specs`` (then :attr:`plugin_code` picks the code if it has several)."""
    plugin_code: ClassVar[str | None] = None
    """The code to test when :attr:`plugin` announces several."""
    properties: ClassVar[Mapping[str, Any]] = {}
    """Extra connection properties for every connection of the suite."""
    conninfo: ClassVar[str] = "host=conformance-db1 port=5432 user=app dbname=app"
    """Connection string used with the fake driver."""
    changes_arguments: ClassVar[frozenset[str]] = frozenset()
    """Methods (or ``connect``/``force_connect``) whose arguments the plugin changes on
    purpose; the unchanged-arguments checks skip them."""
    changes_results: ClassVar[frozenset[str]] = frozenset()
    """Methods whose results the plugin replaces on purpose."""
    register_modules: ClassVar[Sequence[object]] = ()
    """Modules with registration hooks (properties, dialects) to register before each test
    when :attr:`plugin` is a spec or a class."""
    release_timeout: ClassVar[float] = 5.0
    """Seconds to wait for threads started by the plugin to end after release."""

    # --- configuration hooks ---------------------------------------------------------------

    def real_target(self, request: pytest.FixtureRequest) -> RealTarget | None:
        """A real driver to run the pass-through contract on; ``None`` (default) skips it."""
        return None

    def plugin_spec(self) -> PluginSpec:
        """The spec of the plugin under test (loads and registers its module if needed)."""
        plugin = self.plugin
        if plugin is None:
            raise TypeError(f"{type(self).__name__} must set 'plugin' (a code, spec or class)")
        if isinstance(plugin, PluginSpec):
            return plugin
        if isinstance(plugin, type) and issubclass(plugin, Plugin):
            code = getattr(plugin, "code", None) or plugin.__name__
            return PluginSpec(
                code=str(code), factory=plugin, weight=getattr(plugin, "weight", None)
            )
        if isinstance(plugin, str):
            found = md.entry_points(group="awsdb.plugins", name=plugin)
            if not found:
                installed = sorted(ep.name for ep in md.entry_points(group="awsdb.plugins"))
                raise LookupError(
                    f"no 'awsdb.plugins' entry point named {plugin!r}; installed: {installed}"
                )
            module = next(iter(found)).load()
            return self._module_spec(module, self.plugin_code or plugin)
        if isinstance(plugin, types.ModuleType):
            return self._module_spec(plugin, self.plugin_code)
        raise TypeError(f"unsupported 'plugin' value {plugin!r}")

    @staticmethod
    def _module_spec(module: Any, code: str | None) -> PluginSpec:
        awsdb.register_plugin(module)  # its properties and dialects
        specs: list[PluginSpec] = list(module.awsdb_plugin_specs())
        if code is None:
            if len(specs) != 1:
                raise LookupError(
                    f"{module.__name__} announces {[s.code for s in specs]}: set plugin_code"
                )
            return specs[0]
        for spec in specs:
            if code == spec.code or code in spec.aliases:
                return spec
        raise LookupError(f"{module.__name__} does not announce the code {code!r}")

    # --- fixtures ----------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _awsdb_conformance_isolation(self) -> Iterator[None]:
        """Each test starts and ends without awsdb process services."""
        awsdb.release_resources()
        yield
        awsdb.release_resources()

    def _harness(self) -> Harness:
        spec = self.__dict__.get("_awsdb_spec")
        if spec is None:
            spec = self.__dict__["_awsdb_spec"] = self.plugin_spec()
        return Harness(self, spec)

    def _session(self, wrapped: bool) -> tuple[Harness, Session, list[Outcome]]:
        h = self._harness()
        session = Session(h, wrapped)
        try:
            session.conn = h.connect(wrapped=wrapped)
            outcomes = run_steps(session)
        finally:
            h.close_all()
        return h, session, outcomes

    # --- (a) subscriptions -------------------------------------------------------------

    def test_subscriptions_are_valid(self) -> None:
        """``subscriptions()`` validates; spec and class agree; hooks match them."""
        h = self._harness()
        spec = h.spec
        problems: list[str] = []
        methods = spec.methods()
        if not isinstance(methods, frozenset):
            problems.append(f"the subscriptions are a {type(methods).__name__}, not a frozenset")
        unknown = set(methods) - ALL_METHODS - LIFECYCLE
        if unknown:
            problems.append(f"unknown subscribed methods {sorted(unknown)}")
        conn = h.connect(wrapped=False)
        try:
            plugin = h.instances[0].plugin
            if not isinstance(plugin, Plugin):
                problems.append(f"the factory built a {type(plugin).__name__}, not a Plugin")
            cls = type(plugin)
            try:
                class_subs = cls.subscriptions()
            except Exception as exc:
                problems.append(f"{cls.__qualname__}.subscriptions() raised {exc!r}")
                class_subs = methods
            if class_subs != methods:
                problems.append(
                    f"the spec announces {sorted(methods)} (the chains use these) but "
                    f"{cls.__qualname__}.subscriptions() = {sorted(class_subs)}"
                )
            implemented = {
                name
                for name in ("execute", "connect", "force_connect")
                if getattr(getattr(cls, name, None), IMPL_ATTR, None) is not None
            }
            if class_subs & ALL_METHODS and "execute" not in implemented:
                problems.append("subscribed to DB-API methods but has no @hookimpl execute")
            if "execute" in implemented and not class_subs & ALL_METHODS:
                problems.append(
                    "implements execute but subscribes to no DB-API method: never called"
                )
            for hook in ("connect", "force_connect"):
                if hook in class_subs and hook not in implemented:
                    problems.append(f"subscribed to {hook!r} but has no @hookimpl {hook}")
                if hook in implemented and hook not in class_subs:
                    problems.append(f"implements {hook} but does not subscribe to it: never called")
        finally:
            conn.close()
        fail(problems, f"{spec.code}: subscriptions")

    def test_hooks_called_only_for_subscribed_methods(self) -> None:
        """The plugin's hooks run for every subscribed method exercised, and for no other."""
        h, _, outcomes = self._session(wrapped=True)
        problems: list[str] = []
        for out in outcomes:
            own = [c for c in out.hook_calls if c.recorder == SUBJECT]
            wrong = sorted({c.method for c in own if c.method not in h.subscriptions | {"?"}})
            if wrong:
                problems.append(
                    f"{out.step.method}: the plugin's hook ran for unsubscribed {wrong}"
                )
            if out.step.method in h.subscriptions and not any(
                c.method in (out.step.method, "?") for c in own
            ):
                problems.append(f"{out.step.method}: subscribed, but the plugin's hook never ran")
        fail(problems, f"{h.spec.code}: hooks and subscriptions")

    def test_every_method_reaches_the_driver_once(self) -> None:
        """Between recorders, every DB-API call and connect reaches the driver exactly once."""
        h, _, outcomes = self._session(wrapped=True)
        fail(driver_count_problems(outcomes, None), f"{h.spec.code}: driver calls")

    def test_every_subscribed_method_reaches_the_driver_once_alone(self) -> None:
        """Alone, every subscribed DB-API call and connect reaches the driver exactly once,
        with the caller's arguments."""
        h, session, outcomes = self._session(wrapped=False)
        problems = driver_count_problems(outcomes, h.subscriptions)
        for out in outcomes:
            step = out.step
            if step.method not in h.subscriptions or step.args is None:
                continue
            if step.method in self.changes_arguments:
                continue
            problems += driver_arg_problems(out, session)
        fail(problems, f"{h.spec.code}: driver calls without other plugins")

    # --- (b) call_next -------------------------------------------------------------------

    def test_pass_through_keeps_arguments_and_results(self) -> None:
        """What the outer recorder passes in reaches the inner one unchanged, and the inner
        one's result comes back out unchanged (to the caller, too)."""
        h, session, outcomes = self._session(wrapped=True)
        problems: list[str] = []
        for out in outcomes:
            step = out.step
            outer = [c for c in out.hook_calls if c.recorder == OUTER and c.method == step.method]
            inner = [c for c in out.hook_calls if c.recorder == INNER and c.method == step.method]
            if len(outer) != 1 or len(inner) != 1:
                problems.append(
                    f"{step.method}: expected one call at each side of the plugin, got "
                    f"{len(outer)} outside and {len(inner)} inside (call_next not called "
                    "exactly once?)"
                )
                continue
            o, i = outer[0], inner[0]
            if step.method not in self.changes_arguments:
                if o.args != i.args or o.kwargs != i.kwargs:
                    problems.append(
                        f"{step.method}: arguments changed from {o.args!r} {o.kwargs!r} "
                        f"to {i.args!r} {i.kwargs!r}"
                    )
                if step.args is not None:
                    problems += driver_arg_problems(out, session)
            if step.method not in self.changes_results:
                if i.error is None and o.error is None and o.result is not i.result:
                    problems.append(
                        f"{step.method}: the result changed from {i.result!r} to {o.result!r}"
                    )
                if (o.error is None) != (i.error is None) or (
                    o.error is not None and o.error is not i.error
                ):
                    problems.append(
                        f"{step.method}: outcome changed from {i.error!r} to {o.error!r}"
                    )
                if step.returns and out.value != i.result:
                    problems.append(
                        f"{step.method}: the caller got {out.value!r}, the driver returned "
                        f"{i.result!r}"
                    )
        fail(problems, f"{h.spec.code}: pass-through")

    def test_chain_order_is_kept(self) -> None:
        """Every call of the plugin's hook runs inside the outer recorder's call and around
        the inner recorder's call."""
        h, _, outcomes = self._session(wrapped=True)
        problems: list[str] = []
        for out in outcomes:
            method = out.step.method
            if method not in h.subscriptions:
                continue
            outer = [c for c in out.hook_calls if c.recorder == OUTER and c.method == method]
            own = [c for c in out.hook_calls if c.recorder == SUBJECT and c.method == method]
            inner = [c for c in out.hook_calls if c.recorder == INNER and c.method == method]
            for call in own:
                if not any(o.encloses(call) for o in outer):
                    problems.append(f"{method}: the plugin ran outside the outer recorder")
            for call in inner:
                if not any(p.encloses(call) for p in own):
                    problems.append(f"{method}: the inner recorder ran outside the plugin")
        fail(problems, f"{h.spec.code}: chain order")

    # --- (c) errors ----------------------------------------------------------------------

    def test_driver_errors_pass_through(self) -> None:
        """A non-network driver error of any DB-API method reaches the caller as is."""
        h = self._harness()
        problems: list[str] = []
        for target in STEPS:
            if target.method in ("Connection.__enter__", "connect", "force_connect"):
                continue  # connect errors: see test_connect_errors_pass_through
            problems += self._error_run(h, target)
        fail(problems, f"{h.spec.code}: driver errors")

    @staticmethod
    def _error_run(h: Harness, target: Step) -> list[str]:
        h.driver = FakeDriver(workload_script())  # no armed failure left from an earlier run
        session = Session(h, True)
        exc = IntegrityError(
            f"conformance: scripted error on {target.method}", sqlstate="23505", errno=1062
        )
        try:
            session.conn = h.connect(wrapped=True)
            for step in STEPS:
                if step is target:
                    h.driver.script.fail(target.driver_method, exc)
                    try:
                        step.run(session)
                    except BaseException as caught:
                        if caught is not exc:
                            return [
                                f"{target.method}: the caller got {caught!r} instead of the "
                                f"driver's {exc!r}"
                            ]
                        return []
                    return [f"{target.method}: the driver's {exc!r} never reached the caller"]
                step.run(session)
        finally:
            h.close_all()
        return [f"{target.method}: not exercised"]

    def test_connect_errors_pass_through(self) -> None:
        """A non-network connect error reaches the caller as is (initial, pipeline and forced
        connects)."""
        h = self._harness()
        problems: list[str] = []
        exc = OperationalError('database "app" does not exist', sqlstate="3D000", errno=1049)
        h.driver.script.fail("connect", exc)
        try:
            h.connect(wrapped=True)
            problems.append(f"initial connect: the driver's {exc!r} never reached the caller")
        except BaseException as caught:
            if caught is not exc:
                problems.append(f"initial connect: the caller got {caught!r} instead of {exc!r}")
        for force in (False, True):
            conn = h.connect(wrapped=True)
            service = conn.plugin_service
            err = OperationalError("role does not exist", sqlstate="42704", errno=1049)
            h.driver.script.fail("connect", err)
            opener = service.force_connect if force else service.connect
            name = "force_connect" if force else "connect"
            try:
                raw = opener(service.current_host)
                raw.close()
                problems.append(f"{name}: the driver's {err!r} never reached the caller")
            except BaseException as caught:
                if caught is not err:
                    problems.append(f"{name}: the caller got {caught!r} instead of {err!r}")
            conn.close()
        h.close_all()
        if any(c.releases != 1 for c in h.instances):
            problems.append(
                f"release() calls per plugin instance: {[c.releases for c in h.instances]} "
                "(a failed initial connect must release its plugins too)"
            )
        fail(problems, f"{h.spec.code}: connect errors")

    # --- (d) resources -------------------------------------------------------------------

    def test_resources_are_released(self) -> None:
        """After close and ``release_resources()``: threads and fds at baseline, ``release()``
        ran once per instance, no fake connection left open."""
        awsdb.release_resources()
        gc.collect()
        threads_before = live_threads()
        fds_before = open_fds()
        h = self._harness()
        problems: list[str] = []
        for wrapped in (False, True, False):
            session = Session(h, wrapped)
            try:
                session.conn = h.connect(wrapped=wrapped)
                run_steps(session)
            finally:
                h.close_all()
        left = h.driver.open_connections()
        if left:
            problems.append(f"connections left open in the driver: {left}")
        releases = [c.releases for c in h.instances]
        if not releases or any(n != 1 for n in releases):
            problems.append(f"release() calls per plugin instance: {releases} (expected 1 each)")
        awsdb.release_resources()
        deadline = time.monotonic() + self.release_timeout
        while True:
            gc.collect()
            extra = [t for ident, t in live_threads().items() if ident not in threads_before]
            extra = [t for t in extra if t.is_alive()]
            if not extra or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        if extra:
            problems.append(
                f"threads still running after release_resources(): {[t.name for t in extra]}"
            )
        fds_after = open_fds()
        if fds_before is not None and fds_after is not None and len(fds_after) > len(fds_before):
            new = sorted(set(fds_after.values()) - set(fds_before.values()))
            problems.append(
                f"{len(fds_after) - len(fds_before)} more file descriptors than before: {new}"
            )
        fail(problems, f"{h.spec.code}: resources")

    # --- optional: a real driver ---------------------------------------------------------

    def test_real_driver_pass_through(self, request: pytest.FixtureRequest) -> None:
        """On a real driver: the chain order, unchanged arguments/results, ``release()``,
        threads and fds back to baseline."""
        real = self.real_target(request)
        if real is None:
            pytest.skip("no real driver: override real_target() to run this test")
        awsdb.release_resources()
        gc.collect()
        threads_before = live_threads()
        fds_before = open_fds()
        h = self._harness()
        problems: list[str] = []
        conn = h.connect(wrapped=True, real=real)
        try:
            cur = conn.cursor()
            cur.execute(real.query)
            rows = cur.fetchall()
            cur.close()
            conn.commit()
        finally:
            conn.close()
        if not rows:
            problems.append(f"{real.query!r} returned no rows")
        for method in ("connect", "Connection.cursor", "Cursor.execute", "Cursor.fetchall"):
            outer = h.log.calls(method, recorder=OUTER)
            inner = h.log.calls(method, recorder=INNER)
            if len(outer) != len(inner) or not outer:
                problems.append(f"{method}: {len(outer)} calls outside, {len(inner)} inside")
                continue
            for o, i in zip(outer, inner, strict=True):
                if not o.encloses(i):
                    problems.append(f"{method}: the chain order was not kept")
                if method not in self.changes_arguments and (o.args, o.kwargs) != (
                    i.args,
                    i.kwargs,
                ):
                    problems.append(f"{method}: arguments changed from {o.args!r} to {i.args!r}")
                if method not in self.changes_results and o.result is not i.result:
                    problems.append(f"{method}: the result changed")
        fetched = h.log.calls("Cursor.fetchall", recorder=INNER)
        if fetched and "Cursor.fetchall" not in self.changes_results and fetched[0].result != rows:
            problems.append("Cursor.fetchall: the caller's rows differ from the driver's")
        if [c.releases for c in h.instances] != [1]:
            problems.append(f"release() calls: {[c.releases for c in h.instances]}")
        awsdb.release_resources()
        deadline = time.monotonic() + self.release_timeout
        extra: list[threading.Thread] = []
        while True:
            gc.collect()
            extra = [
                t for i, t in live_threads().items() if i not in threads_before and t.is_alive()
            ]
            if not extra or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        if extra:
            problems.append(f"threads still running: {[t.name for t in extra]}")
        fds_after = open_fds()
        if fds_before is not None and fds_after is not None and len(fds_after) > len(fds_before):
            problems.append(f"file descriptors: {len(fds_before)} before, {len(fds_after)} after")
        fail(problems, f"{h.spec.code}: real driver")
