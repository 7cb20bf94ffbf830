"""Plugin discovery: entry points read once, plugin modules imported lazily by code.

Reading the ``awsdb.plugins`` group costs about a millisecond and happens on the first
connection, not at import; a plugin module is imported only when a connection names one of
its codes. Everything is cached in a :class:`PluginRegistry`, an explicit lockable service.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
import threading
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pluggy

from awsdb import hookspecs
from awsdb._events import PluginShape, validate_plugin_class
from awsdb.errors import ProgrammingError
from awsdb.plugin import Plugin, PluginSpec

__all__ = [
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "FIRST_PARTY_CODES",
    "PluginInfo",
    "PluginRegistry",
    "ResolvedPlugin",
]

_log = logging.getLogger("awsdb.plugins")

ENTRY_POINT_GROUP = "awsdb.plugins"
DISABLE_AUTOLOAD_ENV = "AWSDB_DISABLE_PLUGIN_AUTOLOAD"

# The AWS wrapper's codes that awsdb serves under another name.
ANCHOR_ALIASES: dict[str, str] = {
    "failover_v2": "failover",
    "host_monitoring": "efm",
    "host_monitoring_v2": "efm",
}

# First-party codes and the distribution that provides each.
FIRST_PARTY_CODES: dict[str, str] = {
    "execute_time": "awsdb-core",
    "connect_time": "awsdb-core",
    "dev": "awsdb-core",
    "failover": "awsdb-plugin-failover",
    "aurora_connection_tracker": "awsdb-plugin-failover",
    "initial_connection": "awsdb-plugin-failover",
    "stale_dns": "awsdb-plugin-failover",
    "efm": "awsdb-plugin-efm",
    "iam": "awsdb-plugin-iam",
    "aws_secrets_manager": "awsdb-plugin-iam",
    "federated_auth": "awsdb-plugin-iam",
    "okta": "awsdb-plugin-iam",
    "bg": "awsdb-plugin-bluegreen",
}

# The AWS wrapper's default chain; awsdb uses the installed subset of it when `plugins`
# is not given (see docs/plugins.md).
DEFAULT_CHAIN: tuple[str, ...] = (
    "initial_connection",
    "aurora_connection_tracker",
    "failover",
    "efm",
)


@dataclass(frozen=True)
class ResolvedPlugin:
    """A plugin code resolved for one connection, with its effective weight."""

    code: str
    spec: PluginSpec
    weight: int


@dataclass(frozen=True)
class PluginInfo:
    """What the CLI and docs show about one installed plugin code."""

    code: str
    distribution: str
    version: str
    weight: int | None
    aliases: tuple[str, ...]
    methods: frozenset[str]
    description: str
    loaded: bool


@dataclass
class _Loaded:
    spec: PluginSpec
    distribution: str
    version: str


class PluginRegistry:
    """Finds, loads and caches plugin specs. Thread-safe; one per :class:`Services`."""

    def __init__(self, *, autoload: bool | None = None) -> None:
        if autoload is None:
            autoload = os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip().lower() not in {
                "1",
                "true",
                "yes",
                "on",
            }
        self.autoload = autoload
        self._lock = threading.RLock()
        self._entry_points: dict[str, md.EntryPoint] | None = None
        self._loaded: dict[str, _Loaded] = {}
        self._aliases: dict[str, str] = dict(ANCHOR_ALIASES)
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._modules: set[int] = set()
        self._listeners: list[Any] = []
        self._shapes: dict[tuple[type, frozenset[str]], PluginShape] = {}

    # --- discovery -------------------------------------------------------------------

    def _eps(self) -> dict[str, md.EntryPoint]:
        if self._entry_points is None:
            found: dict[str, md.EntryPoint] = {}
            if self.autoload:
                for ep in md.entry_points(group=ENTRY_POINT_GROUP):
                    found.setdefault(ep.name, ep)
            self._entry_points = found
        return self._entry_points

    def add_listener(self, listener: Any) -> None:
        """Call ``listener(module, hook_name, results)`` for registration-hook results."""
        with self._lock:
            self._listeners.append(listener)

    def register_module(self, module: object, distribution: str = "", version: str = "") -> None:
        """Register a module/object implementing registration hooks (validated by pluggy)."""
        with self._lock:
            if id(module) in self._modules:
                return
            self._pm.register(module)
            self._pm.check_pending()
            self._modules.add(id(module))
            for impl in self._pm.hook.awsdb_plugin_specs.get_hookimpls():
                if impl.plugin is module:
                    specs = cast("Sequence[PluginSpec]", impl.function())
                    for spec in specs:
                        self._add_spec(spec, distribution, version)
            for name in ("awsdb_properties", "awsdb_database_dialects", "awsdb_driver_dialects"):
                caller = getattr(self._pm.hook, name)
                for impl in caller.get_hookimpls():
                    if impl.plugin is module:
                        results: list[Any] = list(impl.function())
                        for listener in self._listeners:
                            listener(name, results)
            for listener in self._listeners:
                listener("loaded", [])

    def shape(self, spec: PluginSpec, cls: type) -> PluginShape:
        """The validated shape of plugin class ``cls`` built by ``spec`` (cached).

        The subscriptions are the spec's (:meth:`PluginSpec.methods`), or the class's when
        the spec declares none (a function factory building a :class:`Plugin`).
        """
        subs = spec.methods()
        if not subs and issubclass(cls, Plugin):
            subs = cls.subscriptions()
        key = (cls, subs)
        found = self._shapes.get(key)
        if found is None:
            found = validate_plugin_class(cls, subs)
            with self._lock:
                self._shapes[key] = found
        return found

    def _add_spec(self, spec: PluginSpec, distribution: str, version: str) -> None:
        spec.methods()  # validates the subscriptions early
        if isinstance(spec.factory, type):
            self.shape(spec, spec.factory)  # a class factory is validated at registration
        existing = self._loaded.get(spec.code)
        if existing is not None and existing.spec is not spec:
            _log.debug("plugin code %r re-registered by %s", spec.code, distribution)
        self._loaded[spec.code] = _Loaded(spec, distribution, version)
        for alias in spec.aliases:
            self._aliases[alias] = spec.code

    def register_plugin(
        self,
        plugin: PluginSpec | type[Plugin] | object,
        *,
        code: str | None = None,
        weight: int | None = None,
    ) -> None:
        """Register an in-process plugin: a :class:`PluginSpec`, a :class:`Plugin` subclass
        (with ``code`` given here or as a class attribute), or a module/object implementing
        the registration hooks."""
        with self._lock:
            if isinstance(plugin, PluginSpec):
                self._add_spec(plugin, "(in-process)", "")
            elif isinstance(plugin, type) and issubclass(plugin, Plugin):
                name = code or getattr(plugin, "code", None)
                if not isinstance(name, str) or not name:
                    raise ProgrammingError(
                        f"register_plugin({plugin.__qualname__}) needs a code: pass code=... "
                        "or set a 'code' class attribute"
                    )
                w = weight if weight is not None else getattr(plugin, "weight", None)
                self._add_spec(PluginSpec(code=name, factory=plugin, weight=w), "(in-process)", "")
            elif isinstance(plugin, types.ModuleType) or hasattr(plugin, "awsdb_plugin_specs"):
                self.register_module(plugin, "(in-process)", "")
            else:
                raise ProgrammingError(
                    f"register_plugin() expects a PluginSpec, a Plugin subclass or a module "
                    f"with registration hooks, not {type(plugin).__name__}"
                )

    def unregister_plugin(self, code: str) -> None:
        """Forget an in-process plugin code (tests)."""
        with self._lock:
            self._loaded.pop(code, None)
            for alias, target in list(self._aliases.items()):
                if target == code and alias not in ANCHOR_ALIASES:
                    del self._aliases[alias]

    def _load_code(self, code: str) -> _Loaded | None:
        loaded = self._loaded.get(code)
        if loaded is not None:
            return loaded
        ep = self._eps().get(code)
        if ep is None:
            return None
        module = ep.load()
        dist = ep.dist.name if ep.dist is not None else ""
        version = ep.dist.version if ep.dist is not None else ""
        self.register_module(module, dist, version)
        loaded = self._loaded.get(code)
        if loaded is None:
            raise ProgrammingError(
                f"plugin entry point {code!r} of {dist or 'an unknown distribution'} does not "
                f"announce the code {code!r} in awsdb_plugin_specs()"
            )
        return loaded

    def canonical(self, code: str) -> str:
        """Map an alias (e.g. ``failover_v2``) to the awsdb code."""
        return self._aliases.get(code, code)

    def installed_codes(self) -> list[str]:
        """Codes available now: entry points plus in-process registrations."""
        with self._lock:
            return sorted(set(self._eps()) | set(self._loaded))

    def get(self, code: str) -> PluginSpec:
        """Return the spec for ``code`` (aliases accepted); a clear error if unknown."""
        with self._lock:
            canonical = self.canonical(code)
            loaded = self._load_code(canonical)
            if loaded is not None:
                return loaded.spec
            raise self._unknown(code, canonical)

    def _unknown(self, code: str, canonical: str) -> ProgrammingError:
        installed = ", ".join(self.installed_codes()) or "(none)"
        hint = ""
        dist = FIRST_PARTY_CODES.get(canonical)
        if not self.autoload:
            hint = (
                f"; plugin autoload is disabled by {DISABLE_AUTOLOAD_ENV}, so installed "
                "plugins are not discovered: register it with awsdb.register_plugin()"
            )
            if dist == "awsdb-core":
                hint += f" (it is the module awsdb.plugins.{canonical})"
        elif dist is not None:
            try:
                installed_version = md.version(dist)
            except md.PackageNotFoundError:
                hint = f"; it is provided by the distribution {dist}, which is not installed"
            else:
                hint = f"; {dist} {installed_version} is installed but does not provide it yet"
        alias = f" (alias of {canonical!r})" if canonical != code else ""
        return ProgrammingError(
            f"unknown plugin code {code!r}{alias}{hint}. Installed plugin codes: {installed}"
        )

    def resolve(self, codes: Sequence[str], *, auto_sort: bool) -> list[ResolvedPlugin]:
        """Resolve and order the codes of one connection.

        Relative plugins (weight ``None``) take the previous plugin's weight plus one (1 when
        first); with ``auto_sort`` the list is stably sorted by weight, otherwise kept as
        written.
        """
        resolved: list[ResolvedPlugin] = []
        previous = 0
        for code in codes:
            spec = self.get(code)
            weight = spec.weight if spec.weight is not None else previous + 1
            previous = weight
            resolved.append(ResolvedPlugin(spec.code, spec, weight))
        if auto_sort:
            resolved.sort(key=lambda r: r.weight)
        return resolved

    def default_codes(self) -> list[str]:
        """The installed subset of the AWS wrapper's default chain."""
        with self._lock:
            available = set(self._eps()) | set(self._loaded)
            return [c for c in DEFAULT_CHAIN if c in available]

    def describe(self, *, load: bool = True) -> list[PluginInfo]:
        """Information on every installed code (loading them when ``load``)."""
        infos: list[PluginInfo] = []
        with self._lock:
            for code in self.installed_codes():
                loaded = self._loaded.get(code)
                if loaded is None and load:
                    try:
                        loaded = self._load_code(code)
                    except Exception as exc:  # a broken third-party plugin must not hide others
                        _log.warning("plugin %r failed to load: %s", code, exc)
                if loaded is None:
                    ep = self._eps().get(code)
                    dist = ep.dist.name if ep is not None and ep.dist is not None else ""
                    ver = ep.dist.version if ep is not None and ep.dist is not None else ""
                    infos.append(PluginInfo(code, dist, ver, None, (), frozenset(), "", False))
                    continue
                spec = loaded.spec
                infos.append(
                    PluginInfo(
                        code,
                        loaded.distribution,
                        loaded.version,
                        spec.weight,
                        spec.aliases,
                        spec.methods(),
                        spec.description,
                        True,
                    )
                )
        return infos

    def load_all(self) -> None:
        """Import every installed plugin module (CLI, docs)."""
        for info in self.describe(load=True):
            _ = info

    def modules(self) -> Iterable[object]:
        """The registered registration-hook modules."""
        return list(self._pm.get_plugins())
