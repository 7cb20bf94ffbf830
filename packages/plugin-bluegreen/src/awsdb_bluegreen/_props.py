"""The ``bg_*`` connection properties (names and defaults of the core's catalogue)."""

from __future__ import annotations

from typing import Any

from awsdb._catalog import (
    BG_CONNECT_TIMEOUT_MS,
    BG_ID,
    BG_INTERVAL_BASELINE_MS,
    BG_INTERVAL_HIGH_MS,
    BG_INTERVAL_INCREASED_MS,
    BG_SUSPEND_NEW_BLUE_CONNECTIONS,
    BG_SWITCHOVER_TIMEOUT_MS,
)
from awsdb.properties import Property

__all__ = [
    "BG_CONNECT_TIMEOUT_MS",
    "BG_ID",
    "BG_INTERVAL_BASELINE_MS",
    "BG_INTERVAL_HIGH_MS",
    "BG_INTERVAL_INCREASED_MS",
    "BG_SUSPEND_NEW_BLUE_CONNECTIONS",
    "BG_SWITCHOVER_TIMEOUT_MS",
    "PROPERTIES",
]

PROPERTIES: tuple[Property[Any], ...] = (
    BG_ID,
    BG_CONNECT_TIMEOUT_MS,
    BG_INTERVAL_BASELINE_MS,
    BG_INTERVAL_INCREASED_MS,
    BG_INTERVAL_HIGH_MS,
    BG_SWITCHOVER_TIMEOUT_MS,
    BG_SUSPEND_NEW_BLUE_CONNECTIONS,
)
"""Every property the blue/green support reads."""
