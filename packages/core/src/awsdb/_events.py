"""Validation of plugin classes, once per class, and the events each class implements.

A plugin's hooks are plain methods named after the hook specifications of
:mod:`awsdb.hookspecs`; ``@hookimpl`` on them is allowed (and documents intent) but no
pluggy option changes anything, so ``tryfirst``, ``trylast``, ``wrapper`` and
``hookwrapper`` are rejected instead of silently ignored. Argument names must be a subset of
the specification's (pluggy's rule). A plugin subscribed to a DB-API method must implement
``execute``; subscribed to ``connect`` / ``force_connect``, that method.

The result, a :class:`PluginShape`, is cached per (class, subscriptions) by the caller: a
connection pays for validation only the first time a class is seen.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from awsdb import hookspecs
from awsdb.errors import ProgrammingError
from awsdb.plugin import ALL_METHODS

__all__ = ["CHAIN_HOOKS", "EVENT_HOOKS", "PluginShape", "validate_plugin_class"]

CHAIN_HOOKS = ("connect", "force_connect", "execute")
"""Hooks called through the compiled chains."""

EVENT_HOOKS = (
    "init_host_provider",
    "notify_host_list_changed",
    "notify_connection_changed",
    "accepts_strategy",
    "get_host_info_by_strategy",
)
"""Hooks called as events, in chain order (outermost plugin first)."""

_OPTIONS = ("tryfirst", "trylast", "wrapper", "hookwrapper")
_MARKER = f"{hookspecs.PROJECT}_impl"


def _spec_args(name: str) -> tuple[str, ...]:
    return tuple(inspect.signature(getattr(hookspecs, name)).parameters)


_SPEC_ARGS: dict[str, tuple[str, ...]] = {n: _spec_args(n) for n in CHAIN_HOOKS + EVENT_HOOKS}


@dataclass(frozen=True)
class PluginShape:
    """What the core needs to know about one validated plugin class."""

    subscriptions: frozenset[str]
    events: dict[str, tuple[str, ...]]  # event hook → the argument names it declares


def _implementation(cls: type, name: str) -> Callable[..., Any] | None:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            value = klass.__dict__[name]
            return value if callable(value) else None
    return None


def _check(cls: type, name: str, func: Callable[..., Any]) -> tuple[str, ...]:
    where = f"plugin {cls.__qualname__}.{name}"
    options = getattr(func, _MARKER, None)
    if isinstance(options, dict):
        used = [o for o in _OPTIONS if options.get(o)]
        if used:
            raise ProgrammingError(
                f"{where}: hookimpl option(s) {used} have no effect on awsdb plugin hooks "
                "(the chain order is the plugin weight order); remove them"
            )
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return _SPEC_ARGS[name]
    names = [p.name for p in params if p.name != "self"]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return _SPEC_ARGS[name]
    unknown = [n for n in names if n not in _SPEC_ARGS[name]]
    if unknown:
        raise ProgrammingError(
            f"{where} declares argument(s) {unknown} that the hook does not have; "
            f"allowed: {list(_SPEC_ARGS[name])}"
        )
    return tuple(names)


def validate_plugin_class(cls: type, subscriptions: frozenset[str]) -> PluginShape:
    """Validate ``cls`` for ``subscriptions``; a :class:`ProgrammingError` names the defect."""
    for name in CHAIN_HOOKS:
        func = _implementation(cls, name)
        if func is not None:
            _check(cls, name, func)
    needs = set(subscriptions & {"connect", "force_connect"})
    if subscriptions & ALL_METHODS:
        needs.add("execute")
    missing = sorted(n for n in needs if _implementation(cls, n) is None)
    if missing:
        raise ProgrammingError(
            f"plugin {cls.__qualname__} subscribes to {sorted(subscriptions)} but does not "
            f"implement {missing}: DB-API methods go through 'execute', opening connections "
            "through 'connect' / 'force_connect'"
        )
    events: dict[str, tuple[str, ...]] = {}
    for name in EVENT_HOOKS:
        func = _implementation(cls, name)
        if func is not None:
            events[name] = _check(cls, name, func)
    return PluginShape(subscriptions, events)
