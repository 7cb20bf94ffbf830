"""awsdb: a cluster-aware layer over DB-API drivers (Amazon Aurora / RDS and compatibles).

::

    import awsdb, psycopg

    with awsdb.connect(psycopg.Connection.connect, "host=db dbname=app user=u",
                       plugins="failover,efm") as conn:
        conn.execute("SELECT 1")

Importing awsdb starts nothing: no thread, no entry-point scan, no driver import. The
process services are created on the first connection; :func:`release_resources` stops
everything awsdb started (it also runs at exit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from awsdb import errors
from awsdb.errors import (
    DatabaseError,
    DataError,
    Error,
    FailoverError,
    FailoverFailedError,
    FailoverSuccessError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    TransactionResolutionUnknownError,
    Warning,
)

if TYPE_CHECKING:
    from awsdb._connect import connect
    from awsdb._connection import AwsWrapperConnection
    from awsdb._cursor import AwsWrapperCursor
    from awsdb._service import PluginService, release_resources
    from awsdb.hookspecs import hookimpl
    from awsdb.plugin import Plugin, PluginSpec

__all__ = [
    "AwsWrapperConnection",
    "AwsWrapperCursor",
    "DataError",
    "DatabaseError",
    "Error",
    "FailoverError",
    "FailoverFailedError",
    "FailoverSuccessError",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "Plugin",
    "PluginService",
    "PluginSpec",
    "ProgrammingError",
    "TransactionResolutionUnknownError",
    "Warning",
    "apilevel",
    "connect",
    "errors",
    "hookimpl",
    "paramstyle",
    "register_plugin",
    "release_resources",
    "threadsafety",
]

apilevel = "2.0"
threadsafety = 1  # the weakest of the supported drivers (mysql-connector is level 1)
paramstyle = "pyformat"

_LAZY = {
    "hookimpl": ("awsdb.hookspecs", "hookimpl"),
    "connect": ("awsdb._connect", "connect"),
    "AwsWrapperConnection": ("awsdb._connection", "AwsWrapperConnection"),
    "AwsWrapperCursor": ("awsdb._cursor", "AwsWrapperCursor"),
    "release_resources": ("awsdb._service", "release_resources"),
    "PluginService": ("awsdb._service", "PluginService"),
    "Plugin": ("awsdb.plugin", "Plugin"),
    "PluginSpec": ("awsdb.plugin", "PluginSpec"),
}


def register_plugin(plugin: Any, *, code: str | None = None, weight: int | None = None) -> None:
    """Register an in-process plugin (a ``PluginSpec``, a ``Plugin`` subclass with a code,
    or a module implementing the registration hooks) with the process services."""
    from awsdb._service import get_services

    get_services().plugins.register_plugin(plugin, code=code, weight=weight)


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'awsdb' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
