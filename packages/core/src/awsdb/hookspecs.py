"""The pluggy hook specifications of awsdb.

There are two kinds of hooks.

**Registration hooks** are implemented by a plugin *distribution* (the module its
``awsdb.plugins`` entry point names). They are called once, when a connection first names one
of the distribution's plugin codes, and announce what the distribution provides: plugin codes
with weights, connection properties, and database/driver dialects.

**Connection hooks** are implemented by plugin *instances*, one instance per connection and
plugin, as plain methods named after these specifications. ``connect``, ``force_connect`` and
``execute`` are called through closure chains the core compiles per connection for every
DB-API method, holding only the instances subscribed to it, ordered by weight (see
:mod:`awsdb.plugin`). The events (host-provider initialisation, connection and host-list
changes, host selection) are called on each implementing instance in chain order. Each plugin
class is validated once: argument names must be a subset of the specification's, and pluggy
options (``tryfirst``, ``wrapper`` ...) are rejected because they would change nothing.

Implementations may be marked with :data:`hookimpl` (optional, documents intent)::

    from awsdb import hookimpl

    class Audit(awsdb.Plugin):
        subscribed_methods = frozenset({"Cursor.execute"})

        @hookimpl
        def execute(self, target, method, args, kwargs, call_next):
            log(args[0])
            return call_next(*args, **kwargs)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo, HostRole
    from awsdb.plugin import (
        ConnectionChange,
        HostChange,
        OldConnectionAction,
        PluginService,
        PluginSpec,
    )
    from awsdb.properties import Properties, Property

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "awsdb"

hookspec = pluggy.HookspecMarker(PROJECT)
"""Marker for awsdb hook specifications."""

hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marker third parties use on their hook implementations."""


# --- registration hooks (implemented by plugin distributions) -----------------------------


@hookspec
def awsdb_plugin_specs() -> Sequence[PluginSpec]:  # type: ignore[empty-body]
    """Announce the plugin codes this distribution provides.

    Return :class:`awsdb.plugin.PluginSpec` objects: code, aliases, weight (lower is
    outermost; ``None`` places the plugin right after the plugin listed before it) and the
    factory that builds one plugin instance per connection.
    """


@hookspec
def awsdb_properties() -> Sequence[Property[Any]]:  # type: ignore[empty-body]
    """Announce the connection properties this distribution reads.

    Each :class:`awsdb.properties.Property` has a name, type, default, description, owner
    and secret flag. Registered properties are validated at connect time and stripped
    before the driver call.
    """


@hookspec
def awsdb_database_dialects() -> Sequence[type]:  # type: ignore[empty-body]
    """Announce additional database dialect classes (subclasses of ``DatabaseDialect``)."""


@hookspec
def awsdb_driver_dialects() -> Sequence[type]:  # type: ignore[empty-body]
    """Announce additional driver dialect classes (subclasses of ``DriverDialect``)."""


# --- connection hooks (implemented by plugin instances) -----------------------------------


@hookspec
def connect(
    host: HostInfo,
    props: Properties,
    is_initial: bool,
    call_next: Callable[[HostInfo, Properties, bool], Any],
) -> Any:
    """Open a physical connection to ``host``; wraps the layers inside it.

    Return the raw driver connection, usually ``call_next(host, props, is_initial)``. A plugin
    may call ``call_next`` zero times (serve a cached connection or raise), once with changed
    arguments (IAM sets a token as password; blue/green redirects the host) or several times
    (retry with a fresh token). ``is_initial`` is true for the connection the user asked for,
    false for connections the wrapper opens itself (failover, switching).
    """


@hookspec
def force_connect(
    host: HostInfo,
    props: Properties,
    is_initial: bool,
    call_next: Callable[[HostInfo, Properties, bool], Any],
) -> Any:
    """Like :func:`connect`, for connections that must bypass pooling or caching plugins."""


@hookspec
def execute(
    target: Any,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    call_next: Callable[..., Any],
) -> Any:
    """Wrap one DB-API call, e.g. ``method="Cursor.execute"`` on the raw cursor ``target``.

    Return the call's result, usually ``call_next(*args, **kwargs)``. Only instances whose
    ``subscribed_methods`` contain ``method`` (or ``"*"``) are in the chain of that method.
    Property accesses appear as ``"Connection.autocommit"`` (get, no args) and
    ``"Connection.autocommit.set"`` (one arg). Driver exceptions should pass through unchanged.
    """


@hookspec(firstresult=True)
def init_host_provider(props: Properties, service: PluginService) -> Any:
    """Return a host-list provider for this connection, or ``None`` to let others decide.

    The first non-``None`` result wins; without one the core uses the static provider built
    from the connection string. This is the seam for the topology provider.
    """


@hookspec
def notify_host_list_changed(changes: Mapping[str, frozenset[HostChange]]) -> None:
    """Tell plugins which hosts (by ``host:port``) changed role or availability."""


@hookspec
def notify_connection_changed(
    changes: frozenset[ConnectionChange],
) -> OldConnectionAction | None:
    """Tell plugins that the current physical connection changed (failover, switch).

    Return what should happen to the old connection: ``PRESERVE`` from any plugin keeps it
    open (e.g. read/write splitting caches it); otherwise it is disposed of.
    """


@hookspec(firstresult=True)
def accepts_strategy(role: HostRole, strategy: str) -> bool | None:
    """Return ``True`` if this plugin can select hosts of ``role`` with ``strategy``."""


@hookspec(firstresult=True)
def get_host_info_by_strategy(
    role: HostRole, strategy: str, hosts: Sequence[HostInfo]
) -> HostInfo | None:
    """Select a host of ``role`` among ``hosts`` with ``strategy``; ``None`` to decline."""
