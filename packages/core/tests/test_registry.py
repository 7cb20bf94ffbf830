"""Plugin discovery by entry point, aliases, unknown codes and the autoload switch."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb._registry import PluginRegistry


def test_entry_points_are_read_lazily_and_modules_imported_on_use() -> None:
    code = (
        "import sys, threading, awsdb\n"
        "assert 'awsdb.plugins.dev' not in sys.modules\n"
        "assert 'pluggy' not in sys.modules and 'psycopg' not in sys.modules\n"
        "assert threading.active_count() == 1\n"
        "from awsdb._registry import PluginRegistry\n"
        "reg = PluginRegistry()\n"
        "assert 'dev' in reg.installed_codes()\n"
        "assert 'awsdb.plugins.dev' not in sys.modules\n"
        "reg.get('dev')\n"
        "assert 'awsdb.plugins.dev' in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_anchor_aliases_and_first_party_hint() -> None:
    reg = PluginRegistry()
    assert reg.canonical("failover_v2") == "failover"
    assert reg.canonical("host_monitoring") == "efm"
    assert reg.canonical("host_monitoring_v2") == "efm"


def test_first_party_hint_says_which_distribution(monkeypatch: pytest.MonkeyPatch) -> None:
    from awsdb._registry import FIRST_PARTY_CODES

    monkeypatch.setitem(FIRST_PARTY_CODES, "zz_feature", "awsdb-plugin-zz")
    reg = PluginRegistry()
    with pytest.raises(awsdb.ProgrammingError) as info:
        reg.get("zz_feature")
    msg = str(info.value)
    assert "'zz_feature'" in msg and "awsdb-plugin-zz, which is not installed" in msg
    assert "execute_time" in msg  # lists what is installed
    # a first-party code whose distribution is installed but does not provide it yet
    monkeypatch.setitem(FIRST_PARTY_CODES, "zz_core", "awsdb-core")
    with pytest.raises(awsdb.ProgrammingError, match=r"awsdb-core .* is installed but does not"):
        reg.get("zz_core")


def test_unknown_third_party_code_lists_installed_codes() -> None:
    reg = PluginRegistry()
    with pytest.raises(awsdb.ProgrammingError, match=r"unknown plugin code 'nope'.*dev"):
        reg.get("nope")


def test_autoload_switch_disables_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWSDB_DISABLE_PLUGIN_AUTOLOAD", "1")
    reg = PluginRegistry()
    assert reg.installed_codes() == []
    with pytest.raises(awsdb.ProgrammingError, match="autoload is disabled"):
        reg.get("my_plugin")
    from awsdb.plugins import execute_time

    reg.register_plugin(execute_time)
    assert reg.get("execute_time").code == "execute_time"


def test_register_plugin_rejects_garbage() -> None:
    with pytest.raises(awsdb.ProgrammingError):
        awsdb.register_plugin(42)
    with pytest.raises(awsdb.ProgrammingError, match="needs a code"):
        awsdb.register_plugin(awsdb.Plugin)


def test_default_chain_is_installed_subset(pg_server: Any) -> None:
    # the installed subset of the AWS wrapper's default chain; none of it ships with the
    # core, so with the core alone there are no plugins and no error
    from awsdb._registry import DEFAULT_CHAIN
    from awsdb._service import get_services

    registry = get_services().plugins
    installed = [c for c in DEFAULT_CHAIN if c in registry.installed_codes()]
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn) as conn:
        codes = [r.code for r in registry.resolve(installed, auto_sort=True)]
        assert len(conn.plugin_service.plugins) == len(codes)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_alias_spec_registration(pg_server: Any) -> None:
    from awsdb.plugin import PluginSpec
    from awsdb.plugins.execute_time import ExecuteTimePlugin

    awsdb.register_plugin(
        PluginSpec(code="timing2", factory=ExecuteTimePlugin, weight=5, aliases=("executionTime",))
    )
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="executionTime") as c:
        assert isinstance(c.plugin_service.plugins[0], ExecuteTimePlugin)


def test_concurrent_first_use_of_driver_registry_sees_all_dialects() -> None:
    import threading

    from awsdb.drivers import DriverRegistry

    registry = DriverRegistry()
    results: list[list[str]] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(registry.codes())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({tuple(r) for r in results}) == 1
    assert {"psycopg", "mysql-connector-python"} <= set(results[0])
