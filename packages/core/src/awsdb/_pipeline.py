"""Compiles per-connection closure chains of the subscribed plugins.

pluggy is not on the hot path: a pluggy hook call costs over a microsecond even with no
implementation, while a precomputed closure chain costs a fraction of that. For each DB-API
method, the chain holds only the plugin instances subscribed to it, in weight order, and ends
in the driver call. A method nobody subscribes to has no chain at all and the wrapper calls
the driver directly.

A chain is bound once per driver connection (again after a failover or switch replaced it)
and shared by that connection's cursors: the call's target (the driver connection or
cursor) travels with the call. A plugin may provide its own layer
(:meth:`~awsdb.plugin.Plugin.bind_execute`) instead of the generic one around its
``execute`` hook, and plugins marked ``server_calls_only`` stay out of the calls the driver
makes locally and out of fetches from cursors that hold their rows.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from awsdb.plugin import ALL_METHODS, FETCH_METHODS, Plugin

__all__ = [
    "SERVER_FETCH",
    "Binder",
    "Bound",
    "ConnectFn",
    "Subscribed",
    "compile_connect_chain",
    "compile_method_chains",
    "server_fetch_key",
]

# A chain bound to one driver connection: (target, args, kwargs) -> result, where ``target``
# is the raw object the call is made on (that connection, or one of its cursors).
Bound = Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]
# Binds a compiled chain to a driver connection; called once per connection and method, lazily.
Binder = Callable[[Any], Bound]
# A compiled connect layer: (host, props, is_initial) -> raw connection.
ConnectFn = Callable[[Any, Any, bool], Any]

# Suffix of the chain keys of fetch methods on cursors that fetch from the server.
SERVER_FETCH = "@server"

_EXECUTE_ARGS = ("target", "method", "args", "kwargs", "call_next")
_CONNECT_ARGS = ("host", "props", "is_initial", "call_next")


@lru_cache(maxsize=256)
def _argnames(func: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(n for n in inspect.signature(func).parameters if n != "self")


def _overrides_bind(plugin: Plugin) -> bool:
    """True when the plugin's class provides its own :meth:`Plugin.bind_execute`."""
    return type(plugin).bind_execute is not Plugin.bind_execute


def _bind_layer(plugin: Plugin, method: str, nxt: Bound, conn: Any, fast: bool) -> Bound:
    """One layer of ``method``'s chain bound to the driver connection ``conn``.

    ``fast``: the plugin provides :meth:`Plugin.bind_execute`; its layer is used unless it
    declines (``None``). Otherwise the generic layer calls the ``execute`` hook with a
    ``call_next`` for the call's target (the only allocation per call besides the
    arguments).
    """
    if fast:
        layer = plugin.bind_execute(method, conn, nxt)
        if layer is not None:
            return layer
    impl = plugin.execute  # type: ignore[attr-defined]
    names = _argnames(type(plugin).execute)  # type: ignore[attr-defined]

    if names == _EXECUTE_ARGS:

        def layer_all(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            def call_next(*a: Any, **k: Any) -> Any:
                return nxt(target, a, k)

            return impl(target, method, args, kwargs, call_next)

        return layer_all

    def layer_kw(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # The implementation declares a subset of the spec's arguments (pluggy allows it).
        def call_next(*a: Any, **k: Any) -> Any:
            return nxt(target, a, k)

        available = {
            "target": target,
            "method": method,
            "args": args,
            "kwargs": kwargs,
            "call_next": call_next,
        }
        return impl(**{n: available[n] for n in names})

    return layer_kw


def _binder(members: Sequence[Plugin], method: str, terminal: Binder) -> Binder:
    # innermost first; whether each plugin has its own layer is decided once, here
    layers = [(p, _overrides_bind(p)) for p in reversed(members)]

    def bind(conn: Any) -> Bound:
        fn = terminal(conn)
        for plugin, fast in layers:
            fn = _bind_layer(plugin, method, fn, conn, fast)
        return fn

    return bind


# A plugin instance with its effective subscriptions (from its spec or its class).
Subscribed = tuple[Plugin, frozenset[str]]


def server_fetch_key(method: str) -> str:
    """The chain key of fetch ``method`` on cursors whose fetches read from the server."""
    return method + SERVER_FETCH


def compile_method_chains(
    plugins: Sequence[Subscribed],
    driver_call: Callable[[str], Binder],
    local_methods: frozenset[str] = frozenset(),
) -> dict[str, Binder]:
    """Return ``{method: binder}`` for every method at least one plugin subscribes to.

    ``plugins`` are ``(instance, subscriptions)`` pairs in chain order (outermost first).
    ``driver_call(method)`` returns the binder of the terminal that performs the real driver
    call. A binder turns the chain into a function of ``(target, args, kwargs)`` for one
    driver connection; wrappers bind once per driver connection (again after a switch),
    and the cursors of that connection share it.

    A plugin with :attr:`~awsdb.plugin.Plugin.server_calls_only` is left out of the chains
    of ``local_methods`` (the driver's calls that never reach the server) and of the fetch
    chains; when it subscribes to a fetch method, that method gets a second chain, under
    :func:`server_fetch_key`, for cursors whose fetches read from the server.
    """
    chains: dict[str, Binder] = {}
    wanted: set[str] = set()
    for _, subs in plugins:
        wanted |= subs
    for method in sorted(wanted & ALL_METHODS):
        subscribed = [p for p, s in plugins if method in s]
        if not subscribed:
            continue
        anywhere = [p for p in subscribed if not type(p).server_calls_only]
        if method in FETCH_METHODS:
            if anywhere:
                chains[method] = _binder(anywhere, method, driver_call(method))
            if len(anywhere) < len(subscribed):
                chains[server_fetch_key(method)] = _binder(subscribed, method, driver_call(method))
            continue
        members = anywhere if method in local_methods else subscribed
        if members:
            chains[method] = _binder(members, method, driver_call(method))
    return chains


def compile_connect_chain(
    plugins: Sequence[Subscribed], hook: str, terminal: ConnectFn
) -> ConnectFn:
    """Chain the plugins subscribed to ``hook`` (``connect``/``force_connect``) around
    ``terminal``; ``plugins`` are ``(instance, subscriptions)`` pairs, outermost first."""
    fn = terminal
    for plugin in reversed([p for p, s in plugins if hook in s]):
        fn = _connect_layer(plugin, hook, fn)
    return fn


def _connect_layer(plugin: Plugin, hook: str, nxt: ConnectFn) -> ConnectFn:
    impl = getattr(plugin, hook)
    names = _argnames(getattr(type(plugin), hook))
    if names == _CONNECT_ARGS:

        def layer(host: Any, props: Any, is_initial: bool) -> Any:
            return impl(host, props, is_initial, nxt)

        return layer

    def layer_kw(host: Any, props: Any, is_initial: bool) -> Any:
        available = {"host": host, "props": props, "is_initial": is_initial, "call_next": nxt}
        return impl(**{n: available[n] for n in names})

    return layer_kw
