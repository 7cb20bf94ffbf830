"""The plugin conformance suite on the built-in plugins, on the fake driver and on a real
PostgreSQL server (the example third-party plugin runs it in its own tests); and
deliberately broken plugins that the suite must fail (run in a separate pytest process)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from typing import Any

import psycopg
import pytest

from awsdb.plugin import ALL_METHODS
from awsdb_testing.conformance import STEP_METHODS, PluginConformance, RealTarget


def _pg_target(request: pytest.FixtureRequest) -> RealTarget:
    cluster: Any = request.getfixturevalue("pg_cluster")
    return RealTarget(psycopg.Connection.connect, cluster.app_dsn(cluster.writer()))


class TestExecuteTimeConformance(PluginConformance):
    plugin = "execute_time"

    def real_target(self, request: pytest.FixtureRequest) -> RealTarget | None:
        return _pg_target(request)

    @pytest.mark.pg
    def test_real_driver_pass_through(self, request: pytest.FixtureRequest) -> None:
        super().test_real_driver_pass_through(request)


class TestConnectTimeConformance(PluginConformance):
    plugin = "connect_time"


class TestDevConformance(PluginConformance):
    plugin = "dev"


def test_workload_covers_every_method() -> None:
    assert ALL_METHODS | {"connect", "force_connect"} == STEP_METHODS


_BROKEN = textwrap.dedent(
    """
    from __future__ import annotations

    import os
    import threading
    from typing import Any, ClassVar

    from awsdb import hookimpl
    from awsdb.plugin import ALL_METHODS, Plugin, PluginSpec
    from awsdb_testing.conformance import PluginConformance


    class SwallowErrors(Plugin):
        code = "broken_swallow"
        subscribed_methods: ClassVar[frozenset[str]] = ALL_METHODS

        @hookimpl
        def execute(self, target, method, args, kwargs, call_next):
            try:
                return call_next(*args, **kwargs)
            except Exception:
                return None


    class CallsTwice(Plugin):
        code = "broken_twice"
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute"})

        @hookimpl
        def execute(self, target, method, args, kwargs, call_next):
            call_next(*args, **kwargs)
            return call_next(*args, **kwargs)


    class LeaksThread(Plugin):
        code = "broken_thread"
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"connect"})

        def __init__(self, service: Any, props: Any) -> None:
            super().__init__(service, props)
            self._stop = threading.Event()
            threading.Thread(target=self._stop.wait, name="leaked-monitor", daemon=True).start()

        @hookimpl
        def connect(self, host, props, is_initial, call_next):
            return call_next(host, props, is_initial)


    class LeaksFd(Plugin):
        code = "broken_fd"
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Connection.commit"})

        def __init__(self, service: Any, props: Any) -> None:
            super().__init__(service, props)
            self.pipe = os.pipe()

        @hookimpl
        def execute(self, target, method, args, kwargs, call_next):
            return call_next(*args, **kwargs)


    class ReplacesRows(Plugin):
        code = "broken_rows"
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.fetchall"})

        @hookimpl
        def execute(self, target, method, args, kwargs, call_next):
            return list(reversed(call_next(*args, **kwargs)))


    class UnsubscribedConnect(Plugin):
        code = "broken_unsubscribed"
        subscribed_methods: ClassVar[frozenset[str]] = frozenset({"Cursor.execute"})

        @hookimpl
        def execute(self, target, method, args, kwargs, call_next):
            return call_next(*args, **kwargs)

        @hookimpl
        def connect(self, host, props, is_initial, call_next):
            return call_next(host, props, is_initial)


    class Everything(Plugin):
        subscribed_methods: ClassVar[frozenset[str]] = ALL_METHODS

        @hookimpl
        def execute(self, target, method, args, kwargs, call_next):
            return call_next(*args, **kwargs)


    class TestGood(PluginConformance):
        plugin = "execute_time"


    class TestSwallowErrors(PluginConformance):
        plugin = SwallowErrors


    class TestCallsTwice(PluginConformance):
        plugin = CallsTwice


    class TestLeaksThread(PluginConformance):
        plugin = LeaksThread
        release_timeout = 0.2


    class TestLeaksFd(PluginConformance):
        plugin = LeaksFd


    class TestReplacesRows(PluginConformance):
        plugin = ReplacesRows


    class TestUnsubscribedConnect(PluginConformance):
        plugin = UnsubscribedConnect


    class TestMisdeclaredSpec(PluginConformance):
        # the spec announces one method (the chains use it), the class subscribes to all
        plugin = PluginSpec(
            code="broken_spec",
            factory=Everything,
            subscribed_methods=frozenset({"Cursor.execute"}),
        )
    """
)

_ALL_TESTS = {
    "test_subscriptions_are_valid",
    "test_hooks_called_only_for_subscribed_methods",
    "test_every_method_reaches_the_driver_once",
    "test_every_subscribed_method_reaches_the_driver_once_alone",
    "test_pass_through_keeps_arguments_and_results",
    "test_chain_order_is_kept",
    "test_driver_errors_pass_through",
    "test_connect_errors_pass_through",
    "test_resources_are_released",
    "test_real_driver_pass_through",
}


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Run the suite on the broken plugins in a separate pytest; outcomes per class/test."""
    work = tmp_path_factory.mktemp("conformance")
    (work / "test_broken.py").write_text(_BROKEN)
    report = work / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
         "test_broken.py"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert report.exists(), proc.stdout + proc.stderr
    outcomes: dict[str, dict[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        cls = case.get("classname", "").rsplit(".", 1)[-1]
        failure = case.find("failure")
        error = case.find("error")
        if failure is not None:
            outcome = "failed: " + (failure.get("message") or "") + (failure.text or "")
        elif error is not None:
            outcome = "error: " + (error.get("message") or "")
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        outcomes.setdefault(cls, {})[case.get("name", "")] = outcome
    return outcomes


def _failed(outcomes: dict[str, str]) -> set[str]:
    return {name for name, outcome in outcomes.items() if outcome.startswith("failed")}


def test_broken_run_covers_every_suite_test(broken_run: dict[str, dict[str, str]]) -> None:
    assert set(broken_run) == {
        "TestGood",
        "TestSwallowErrors",
        "TestCallsTwice",
        "TestLeaksThread",
        "TestLeaksFd",
        "TestReplacesRows",
        "TestUnsubscribedConnect",
        "TestMisdeclaredSpec",
    }
    for cls, outcomes in broken_run.items():
        assert set(outcomes) == _ALL_TESTS, cls
    # the control plugin passes everything (the real-driver test is not configured)
    assert _failed(broken_run["TestGood"]) == set()
    assert broken_run["TestGood"]["test_real_driver_pass_through"] == "skipped"


@pytest.mark.parametrize(
    ("cls", "failing", "phrase"),
    [
        ("TestSwallowErrors", {"test_driver_errors_pass_through"}, "never reached the caller"),
        (
            "TestCallsTwice",
            {
                "test_every_method_reaches_the_driver_once",
                "test_every_subscribed_method_reaches_the_driver_once_alone",
                "test_pass_through_keeps_arguments_and_results",
            },
            "Cursor.execute reached the driver 2 times",
        ),
        ("TestLeaksThread", {"test_resources_are_released"}, "leaked-monitor"),
        ("TestLeaksFd", {"test_resources_are_released"}, "more file descriptors"),
        (
            "TestReplacesRows",
            {"test_pass_through_keeps_arguments_and_results"},
            "Cursor.fetchall: the result changed",
        ),
        ("TestUnsubscribedConnect", {"test_subscriptions_are_valid"}, "implements connect"),
        (
            "TestMisdeclaredSpec",
            {"test_subscriptions_are_valid"},
            "the chains use these",
        ),
    ],
)
def test_suite_fails_broken_plugin(
    broken_run: dict[str, dict[str, str]], cls: str, failing: set[str], phrase: str
) -> None:
    outcomes = broken_run[cls]
    assert _failed(outcomes) == failing, outcomes
    assert any(phrase in outcomes[name] for name in failing), outcomes
