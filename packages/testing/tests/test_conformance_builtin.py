"""The plugin conformance suite on the built-in plugins and the example third-party plugin."""

from __future__ import annotations

from awsdb_testing.conformance import PluginConformance


class TestExecuteTimeConformance(PluginConformance):
    plugin = "execute_time"


class TestConnectTimeConformance(PluginConformance):
    plugin = "connect_time"


class TestDevConformance(PluginConformance):
    plugin = "dev"


class TestStatementTagConformance(PluginConformance):
    plugin = "statement_tag"
    properties = {"statement_tag": "conformance"}
    changes_arguments = frozenset({"Cursor.execute"})
