"""The plugin contract: the base class, the spec a distribution announces, method names.

A plugin distribution exposes a module through the ``awsdb.plugins`` entry-point group (the
entry-point name is the plugin code). That module implements the registration hook
``awsdb_plugin_specs`` and returns :class:`PluginSpec` objects; each spec's ``factory`` builds
one :class:`Plugin` instance per connection. The instance declares which DB-API methods it
wraps in :attr:`Plugin.subscribed_methods` and implements the matching hooks of
:mod:`awsdb.hookspecs` with :data:`awsdb.hookimpl`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from awsdb._service import PluginService
    from awsdb.properties import Properties

__all__ = [
    "ALL_METHODS",
    "CONNECTION_METHODS",
    "CURSOR_METHODS",
    "FETCH_METHODS",
    "NETWORK_BOUND_METHODS",
    "ConnectionChange",
    "HostChange",
    "OldConnectionAction",
    "Plugin",
    "PluginFactory",
    "PluginService",
    "PluginSpec",
    "expand_subscriptions",
]

CONNECTION_METHODS: frozenset[str] = frozenset(
    {
        "Connection.cursor",
        "Connection.execute",
        "Connection.commit",
        "Connection.rollback",
        "Connection.close",
        "Connection.autocommit",
        "Connection.autocommit.set",
        "Connection.read_only",
        "Connection.read_only.set",
        "Connection.tpc_begin",
        "Connection.tpc_prepare",
        "Connection.tpc_commit",
        "Connection.tpc_rollback",
        "Connection.tpc_recover",
        "Connection.xid",
        "Connection.__enter__",
        "Connection.__exit__",
    }
)
"""Every connection-level method name a plugin can subscribe to."""

CURSOR_METHODS: frozenset[str] = frozenset(
    {
        "Cursor.execute",
        "Cursor.executemany",
        "Cursor.fetchone",
        "Cursor.fetchmany",
        "Cursor.fetchall",
        "Cursor.__next__",
        "Cursor.callproc",
        "Cursor.nextset",
        "Cursor.setinputsizes",
        "Cursor.setoutputsize",
        "Cursor.close",
        "Cursor.description",
        "Cursor.rowcount",
        "Cursor.lastrowid",
        "Cursor.arraysize",
        "Cursor.arraysize.set",
        "Cursor.__enter__",
        "Cursor.__exit__",
    }
)
"""Every cursor-level method name a plugin can subscribe to."""

ALL_METHODS: frozenset[str] = CONNECTION_METHODS | CURSOR_METHODS
"""All DB-API method names of the wrapper (``"*"`` in ``subscribed_methods`` means these)."""

FETCH_METHODS: frozenset[str] = frozenset(
    {"Cursor.fetchone", "Cursor.fetchmany", "Cursor.fetchall", "Cursor.__next__"}
)
"""The cursor's fetch methods and iteration: they read from the server only on cursors
that stream their rows (see :attr:`Plugin.server_calls_only`)."""

NETWORK_BOUND_METHODS: frozenset[str] = frozenset(
    {
        "Connection.execute",
        "Connection.commit",
        "Connection.rollback",
        "Connection.autocommit.set",
        "Connection.read_only.set",
        "Connection.tpc_begin",
        "Connection.tpc_prepare",
        "Connection.tpc_commit",
        "Connection.tpc_rollback",
        "Connection.tpc_recover",
        "Connection.__exit__",
        "Cursor.execute",
        "Cursor.executemany",
        "Cursor.callproc",
        "Cursor.nextset",
        "Cursor.fetchone",
        "Cursor.fetchmany",
        "Cursor.fetchall",
        "Cursor.__next__",
    }
)
"""Methods that may wait on the server (fetches included: server-side cursors stream)."""

_LIFECYCLE = frozenset({"connect", "force_connect"})


class HostChange(enum.Enum):
    """What changed about a host in ``notify_host_list_changed``."""

    ADDED = "added"
    DELETED = "deleted"
    WENT_UP = "went_up"
    WENT_DOWN = "went_down"
    PROMOTED_TO_WRITER = "promoted_to_writer"
    PROMOTED_TO_READER = "promoted_to_reader"


class ConnectionChange(enum.Enum):
    """What changed about the current connection in ``notify_connection_changed``."""

    CONNECTION_OBJECT_CHANGED = "connection_object_changed"
    HOST_CHANGED = "host_changed"
    INITIAL_CONNECTION = "initial_connection"


class OldConnectionAction(enum.Enum):
    """What a plugin suggests for the replaced connection."""

    NO_OPINION = "no_opinion"
    DISPOSE = "dispose"
    PRESERVE = "preserve"


class Plugin:
    """Base class of plugin instances: one instance per connection and plugin.

    Subclasses set :attr:`subscribed_methods` to the DB-API method names they wrap (see
    :data:`ALL_METHODS`; ``"*"`` for all) plus ``"connect"`` / ``"force_connect"`` when they
    wrap opening connections, and implement the matching hooks with ``@awsdb.hookimpl``.
    Per-connection state lives on the instance; shared state belongs in services read
    through :attr:`service`.
    """

    subscribed_methods: ClassVar[frozenset[str]] = frozenset()

    server_calls_only: ClassVar[bool] = False
    """True: the plugin's layers sit only on calls that reach the server on the connection's
    driver. A method the driver dialect lists in
    :attr:`~awsdb.drivers.DriverDialect.local_methods` (psycopg's ``Connection.cursor``)
    gets no layer of it, and its subscriptions to :data:`FETCH_METHODS` apply only to
    cursors whose fetches read from the server
    (:meth:`~awsdb.drivers.DriverDialect.fetches_from_server`: psycopg's named cursors,
    mysql-connector's unbuffered ones); elsewhere those calls go straight to the driver."""

    def __init__(self, service: PluginService, props: Properties) -> None:
        self.service = service
        self.props = props

    def release(self) -> None:
        """Release per-connection resources; called once when the connection closes."""

    def bind_execute(
        self,
        method: str,
        connection: Any,
        call_next: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any],
    ) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], Any] | None:
        """Optional fast path of the ``execute`` hook for ``method``.

        The core calls it when it binds ``method``'s chain to a driver ``connection``: once
        per connection (again after a failover or switch replaced it), shared by that
        connection's cursors. It returns a layer ``layer(target, args, kwargs)`` that must
        behave exactly like :meth:`execute` for a call of ``method`` on ``target`` (the driver
        connection, or one of its cursors), passing the call on with
        ``call_next(target, args, kwargs)`` (the tuple and the dict, not unpacked); or
        ``None`` (the default) to have :meth:`execute` called. A layer saves the generic
        path's argument repacking and its ``call_next`` closure, and can prepare
        per-connection state once instead of looking it up on every call.
        """
        return None

    @classmethod
    def subscriptions(cls) -> frozenset[str]:
        """The method names this plugin wraps, with ``"*"`` expanded; validated."""
        return expand_subscriptions(cls.subscribed_methods, cls.__qualname__)


def expand_subscriptions(subs: frozenset[str] | set[str], owner: str) -> frozenset[str]:
    """Expand ``"*"`` and validate subscription names; ``owner`` names the plugin in errors."""
    subs = frozenset(subs)
    if "*" in subs:
        return ALL_METHODS | (subs & _LIFECYCLE)
    unknown = subs - ALL_METHODS - _LIFECYCLE
    if unknown:
        from awsdb.errors import ProgrammingError

        raise ProgrammingError(
            f"plugin {owner} subscribes to unknown methods {sorted(unknown)}; allowed: "
            f"'*', 'connect', 'force_connect' or one of {sorted(ALL_METHODS)}"
        )
    return subs


PluginFactory = Callable[["PluginService", "Properties"], Plugin]
"""Builds one plugin instance for one connection."""


@dataclass(frozen=True)
class PluginSpec:
    """What a distribution announces for one plugin code.

    ``weight``: lower weights sit outermost (authentication plugins sit innermost, next to
    the driver). ``None`` makes the plugin *relative*: it takes the weight of the plugin
    listed before it plus one (timing plugins). ``aliases`` are alternative codes, e.g. the
    AWS wrapper's ``failover_v2`` for ``failover``.
    """

    code: str
    factory: PluginFactory
    weight: int | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    subscribed_methods: frozenset[str] = field(default=frozenset())

    def methods(self) -> frozenset[str]:
        """The subscribed method names (``"*"`` expanded): the spec's own
        ``subscribed_methods`` when given, else those of the factory class. This is what the
        chains are compiled from and what ``awsdb plugins`` shows."""
        if self.subscribed_methods:
            return expand_subscriptions(self.subscribed_methods, repr(self.code))
        cls = self.factory if isinstance(self.factory, type) else None
        if cls is not None and issubclass(cls, Plugin):
            return cls.subscriptions()
        return frozenset()


def __getattr__(name: str) -> Any:
    # PluginService lives in a private module; re-exported lazily to keep imports acyclic.
    if name == "PluginService":
        from awsdb._service import PluginService

        return PluginService
    raise AttributeError(name)
