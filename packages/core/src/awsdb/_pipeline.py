"""Compiles per-connection closure chains of the subscribed plugins.

pluggy is not on the hot path: a pluggy hook call costs over a microsecond even with no
implementation, while a precomputed closure chain costs a fraction of that. For each DB-API
method, the chain holds only the plugin instances subscribed to it, in weight order, and ends
in the driver call. A method nobody subscribes to has no chain at all and the wrapper calls
the driver directly.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from awsdb.plugin import ALL_METHODS, Plugin

__all__ = [
    "Binder",
    "Bound",
    "ConnectFn",
    "Subscribed",
    "compile_connect_chain",
    "compile_method_chains",
]

# A chain bound to one raw target (cursor or connection): (args, kwargs) -> result.
Bound = Callable[[tuple[Any, ...], dict[str, Any]], Any]
# Binds a compiled chain to a raw target; called once per target and method, lazily.
Binder = Callable[[Any], Bound]
# A compiled connect layer: (host, props, is_initial) -> raw connection.
ConnectFn = Callable[[Any, Any, bool], Any]

_EXECUTE_ARGS = ("target", "method", "args", "kwargs", "call_next")
_CONNECT_ARGS = ("host", "props", "is_initial", "call_next")


@lru_cache(maxsize=256)
def _argnames(func: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(n for n in inspect.signature(func).parameters if n != "self")


def _overrides_bind(plugin: Plugin) -> bool:
    """True when the plugin's class provides its own :meth:`Plugin.bind_execute`."""
    return type(plugin).bind_execute is not Plugin.bind_execute


def _bind_layer(plugin: Plugin, method: str, nxt: Bound, target: Any, fast: bool) -> Bound:
    """One layer bound to ``target``: nothing is allocated per call but the argument tuple.

    ``fast``: the plugin provides :meth:`Plugin.bind_execute`; its layer is used unless it
    declines (``None``), and the generic layer around ``execute`` otherwise.
    """
    if fast:
        layer = plugin.bind_execute(method, target, nxt)
        if layer is not None:
            return layer
    impl = plugin.execute  # type: ignore[attr-defined]

    def call_next(*a: Any, **k: Any) -> Any:
        return nxt(a, k)

    if _argnames(type(plugin).execute) == _EXECUTE_ARGS:  # type: ignore[attr-defined]

        def layer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            return impl(target, method, args, kwargs, call_next)

        return layer

    names = _argnames(type(plugin).execute)  # type: ignore[attr-defined]

    def layer_kw(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # The implementation declares a subset of the spec's arguments (pluggy allows it).
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

    def bind(target: Any) -> Bound:
        fn = terminal(target)
        for plugin, fast in layers:
            fn = _bind_layer(plugin, method, fn, target, fast)
        return fn

    return bind


# A plugin instance with its effective subscriptions (from its spec or its class).
Subscribed = tuple[Plugin, frozenset[str]]


def compile_method_chains(
    plugins: Sequence[Subscribed], driver_call: Callable[[str], Binder]
) -> dict[str, Binder]:
    """Return ``{method: binder}`` for every method at least one plugin subscribes to.

    ``plugins`` are ``(instance, subscriptions)`` pairs in chain order (outermost first).
    ``driver_call(method)`` returns the binder of the terminal that performs the real driver
    call. A binder turns the chain into
    a function of ``(args, kwargs)`` for one raw target; wrappers bind once per target.
    """
    chains: dict[str, Binder] = {}
    wanted: set[str] = set()
    for _, subs in plugins:
        wanted |= subs
    for method in sorted(wanted & ALL_METHODS):
        members = [p for p, s in plugins if method in s]
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
