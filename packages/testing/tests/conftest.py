"""Shared test configuration of awsdb-testing.

The fixtures come from the package's own pytest plugin (``awsdb_testing.pytest_plugin``,
registered through the ``pytest11`` entry point); it is listed here as well so that the
tests also run when entry-point autoloading is disabled.
"""

from __future__ import annotations

import os

if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
    pytest_plugins = ["awsdb_testing.pytest_plugin"]
