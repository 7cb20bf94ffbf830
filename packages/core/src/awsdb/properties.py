"""Typed connection properties: the property model, the registry and one connection's values.

A connection's configuration arrives as a libpq ``key=value`` string or a URL plus keyword
arguments. :meth:`Properties.parse` merges them (keywords win), maps aliases to canonical
names, and coerces every key that is a registered wrapper property *eagerly*, so bad input
fails at connect time with a :class:`~awsdb.errors.ProgrammingError` that names the property,
the value (``<redacted>`` for secrets) and what is allowed. Keys that are not wrapper keys are
kept untouched and handed to the driver by :meth:`Properties.driver_kwargs`.

Wrapper keys are the registered names and aliases plus every key of a prefixed family in
:data:`INTERNAL_PREFIXES` (``monitoring-*``, ``topology-monitoring-*``,
``blue-green-monitoring-*``, ``frt-*``, ``limitless-router-monitor-*``): all of them are stripped
before the driver call, unlike the AWS wrapper, which lets the last three reach libpq.

Contract for driver dialects: ``connect_timeout``, ``socket_timeout`` and ``tcp_keepalive*``
are wrapper properties, so they are *not* in :meth:`Properties.driver_kwargs`; the driver
dialect maps them to the driver's own arguments. ``user``, ``password``, ``host``, ``port`` and
``dbname`` / ``database`` are driver keys and are kept.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar, overload

from .errors import ProgrammingError

__all__ = [
    "DRIVER_SECRET_KEYS",
    "INTERNAL_FORCED_DEFAULTS",
    "INTERNAL_PREFIXES",
    "REDACTED",
    "ROUTING_KEYS",
    "Properties",
    "Property",
    "PropertyRegistry",
    "default_registry",
    "split_host_list",
]

T = TypeVar("T")

_log = logging.getLogger("awsdb.properties")

REDACTED = "***"
"""What a secret value is replaced with in ``repr`` and redacted mappings."""

INTERNAL_PREFIXES: tuple[str, ...] = (
    "monitoring-",
    "topology-monitoring-",
    "blue-green-monitoring-",
    "frt-",
    "limitless-router-monitor-",
)
"""Prefixed property families for internal connections (aurora-facts §5.11).

A key ``<prefix><name>`` overrides ``<name>`` for one kind of internal connection. Every key of
these families is a wrapper key and never reaches the user's driver connection (the AWS wrapper
passes the last three to the driver, where libpq rejects them)."""

INTERNAL_FORCED_DEFAULTS: Mapping[str, Mapping[str, object]] = MappingProxyType(
    {
        "monitoring-": MappingProxyType({"connect_timeout": 10}),
        "topology-monitoring-": MappingProxyType({"connect_timeout": 5, "socket_timeout": 5.0}),
        "blue-green-monitoring-": MappingProxyType({"connect_timeout": 10, "socket_timeout": 10.0}),
        "frt-": MappingProxyType({}),
        "limitless-router-monitor-": MappingProxyType({}),
    }
)
"""Values :meth:`Properties.for_internal` sets when neither the user nor the prefixed family
set them (aurora-facts §5.11)."""

ROUTING_KEYS: frozenset[str] = frozenset({"target_session_attrs", "load_balance_hosts"})
"""User-level node-selection driver keys dropped from internal connections: a monitoring
connection must reach the host it was opened for, whatever the user's routing preference."""

DRIVER_SECRET_KEYS: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "sslpassword",
        "password1",
        "password2",
        "password3",
        "oauth_client_secret",
        "aws_secret_access_key",
        "aws_session_token",
        "token",
        "auth_token",
        "access_token",
    }
)
"""Driver-level keys whose values are secret. They go to the driver (they are not wrapper
keys) but are redacted in every ``repr``, log record and error message."""

_SECRET_KEY_HINT = re.compile(r"pass(?:word|wd)|pwd|secret|token|credential", re.IGNORECASE)
"""Unregistered keys matching this are treated as secret too (over-redaction is safe)."""

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_INT_RE = re.compile(r"[+-]?[0-9]{1,30}")
_FLOAT_RE = re.compile(
    r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})(?:[eE][+-]?[0-9]{1,4})?"
)
_MAX_SHOWN = 60


def _norm_choice(text: str) -> str:
    return text.strip().lower().replace("_", "-")


def _show(value: object, secret: bool) -> str:
    """A short, safe rendering of ``value`` for an error message."""
    if secret:
        return "<redacted>"
    if isinstance(value, str):
        text = repr(value) if len(value) <= _MAX_SHOWN else repr(value[:_MAX_SHOWN]) + "..."
        return text
    if isinstance(value, bool | int | float) or value is None:
        text = repr(value)
        return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = _MAX_SHOWN
    shortener.maxother = _MAX_SHOWN
    return f"{shortener.repr(value)} (of type {type(value).__name__})"


@dataclass(frozen=True, slots=True)
class Property(Generic[T]):
    """The specification of one connection property.

    ``type`` is ``str``, ``int``, ``float`` or ``bool``. For ``str`` properties, ``choices``
    lists the canonical spellings of an enum: input is trimmed, matched case-insensitively,
    and ``-`` and ``_`` are interchangeable; the canonical spelling is returned. With
    ``multi=True`` (an awsdb extension) the value is a comma-separated list (a list or tuple
    of strings is accepted too): entries are trimmed, an empty entry is an error, each entry
    is checked against ``choices`` when given, and the result is the canonical entries joined
    by ``,``; an empty value is the empty list ``""``, allowed only without ``choices``.
    Durations keep their unit in the name (``_ms``, ``_sec``) and are never converted.
    ``unsupported`` names why awsdb does not implement a property it knows by name: setting
    it to anything but its default raises :class:`~awsdb.errors.NotSupportedError`.
    """

    name: str
    type: type
    default: T
    description: str
    owner: str = "core"
    secret: bool = False
    choices: tuple[str, ...] | None = None
    aliases: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    multi: bool = False
    unsupported: str | None = None
    _choice_map: dict[str, str] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if self.type not in (str, int, float, bool):
            raise ProgrammingError(
                f"property {self.name!r}: unsupported type {self.type!r} "
                "(allowed: str, int, float, bool)"
            )
        if self.choices is not None:
            if self.type is not str:
                raise ProgrammingError(f"property {self.name!r}: choices need type str")
            for choice in self.choices:
                self._choice_map[_norm_choice(choice)] = choice

    def allowed(self) -> str:
        """A human description of the accepted values, as used in error messages."""
        if self.type is bool:
            return "true/false, 1/0, yes/no, on/off (case-insensitive) or a bool"
        if self.type is int or self.type is float:
            kind = "an integer" if self.type is int else "a number"
            if self.minimum is not None and self.maximum is not None:
                return f"{kind} from {_num(self.minimum)} to {_num(self.maximum)}"
            if self.minimum is not None:
                return f"{kind} >= {_num(self.minimum)}"
            if self.maximum is not None:
                return f"{kind} <= {_num(self.maximum)}"
            return kind
        if self.choices is not None:
            listed = ", ".join(repr(c) for c in self.choices)
            head = "a comma-separated list of" if self.multi else "one of"
            return f"{head} {listed} (case-insensitive; '-' and '_' are interchangeable)"
        if self.multi:
            return "a comma-separated list of non-empty entries, or a list of strings"
        return "a string"

    def _fail(self, value: object, why: str = "") -> ProgrammingError:
        shown = _show(value, self.secret)
        extra = f"; {why}" if why else ""
        return ProgrammingError(
            f"invalid value for property {self.name!r}: {shown} (allowed: {self.allowed()}{extra})"
        )

    def coerce(self, value: object) -> T:
        """Return ``value`` converted to this property's type, or raise ``ProgrammingError``.

        ``None`` means "not set" and returns the default. A ``bool`` is never accepted as a
        number; numbers given as strings are parsed strictly (no ``nan``, no ``inf``).
        """
        if value is None:
            return self.default
        kind = self.type
        result: object
        if kind is bool:
            result = self._coerce_bool(value)
        elif kind is int:
            result = self._check_range(value, self._coerce_int(value))
        elif kind is float:
            result = self._check_range(value, self._coerce_float(value))
        elif self.multi:
            result = self._coerce_multi(value)
        else:
            result = self._coerce_str(value)
        return result  # type: ignore[return-value]

    def _coerce_bool(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        raise self._fail(value)

    def _coerce_int(self, value: object) -> int:
        if isinstance(value, bool):
            raise self._fail(value, "a bool is not a number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            text = value.strip()
            if _INT_RE.fullmatch(text):
                return int(text)
        raise self._fail(value)

    def _coerce_float(self, value: object) -> float:
        if isinstance(value, bool):
            raise self._fail(value, "a bool is not a number")
        number: float | None = None
        if isinstance(value, int):
            try:
                number = float(value)
            except OverflowError:
                number = None
        elif isinstance(value, float):
            number = value
        elif isinstance(value, str):
            text = value.strip()
            if _FLOAT_RE.fullmatch(text):
                number = float(text)
        if number is None or not math.isfinite(number):
            raise self._fail(value)
        return number

    def _check_range(self, value: object, number: float) -> float:
        if self.minimum is not None and number < self.minimum:
            raise self._fail(value)
        if self.maximum is not None and number > self.maximum:
            raise self._fail(value)
        return number

    def _coerce_str(self, value: object) -> str:
        if isinstance(value, str):
            text = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            text = str(value)
        else:
            raise self._fail(value)
        if "\x00" in text:
            raise self._fail(value, "NUL characters are not allowed")
        if self.choices is None:
            return text
        canonical = self._choice_map.get(_norm_choice(text))
        if canonical is None:
            raise self._fail(value)
        return canonical

    def _coerce_multi(self, value: object) -> str:
        entries: list[str]
        if isinstance(value, str):
            entries = value.split(",") if value.strip() else []
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            entries = list(value)
        else:
            raise self._fail(value)
        if not entries:
            if self.choices is not None:
                raise self._fail(value, "the list may not be empty")
            return ""
        out: list[str] = []
        for entry in entries:
            item = entry.strip()
            if not item or "," in item or "\x00" in item:
                raise self._fail(value, "entries must be non-empty and contain no ','")
            if self.choices is not None:
                canonical = self._choice_map.get(_norm_choice(item))
                if canonical is None:
                    raise self._fail(value)
                item = canonical
            out.append(item)
        return ",".join(out)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _same_spec(a: Property[Any], b: Property[Any]) -> bool:
    return (
        a.type is b.type
        and a.default == b.default
        and a.secret == b.secret
        and a.choices == b.choices
        and a.aliases == b.aliases
        and a.minimum == b.minimum
        and a.maximum == b.maximum
        and a.multi == b.multi
    )


class PropertyRegistry:
    """The known wrapper properties, by name and alias. An explicit, lockable service.

    Registering an identical specification again is a no-op (plugins may announce the
    catalogue's own objects); the same owner may replace its property; a different
    specification (type, default, secret flag, choices, aliases, range) from another owner
    is a :class:`~awsdb.errors.ProgrammingError`. Reads take no lock.
    """

    __slots__ = ("_by_name", "_lock", "_props")

    def __init__(self, props: Iterable[Property[Any]] = ()) -> None:
        self._lock = threading.Lock()
        self._props: dict[str, Property[Any]] = {}
        self._by_name: dict[str, Property[Any]] = {}
        for prop in props:
            self.register(prop)

    def register(self, prop: Property[Any]) -> None:
        """Add ``prop``; see the class docstring for the duplicate rules."""
        with self._lock:
            existing = self._props.get(prop.name)
            if existing is not None:
                if existing == prop:
                    return
                if existing.owner != prop.owner and not _same_spec(existing, prop):
                    raise ProgrammingError(
                        f"property {prop.name!r} of {prop.owner!r} conflicts with the "
                        f"property of the same name registered by {existing.owner!r}"
                    )
                if existing.owner != prop.owner:
                    return  # same spec, other owner: the first registration stays
            for name in (prop.name, *prop.aliases):
                if _is_prefixed(name):
                    raise ProgrammingError(
                        f"property name {name!r} of {prop.owner!r} starts with a reserved "
                        f"prefix (reserved: {', '.join(INTERNAL_PREFIXES)})"
                    )
                other = self._by_name.get(name)
                if other is not None and other.name != prop.name:
                    raise ProgrammingError(
                        f"property name {name!r} of {prop.owner!r} is already used by "
                        f"property {other.name!r} of {other.owner!r}"
                    )
            if existing is not None:
                for alias in existing.aliases:
                    self._by_name.pop(alias, None)
            self._props[prop.name] = prop
            for name in (prop.name, *prop.aliases):
                self._by_name[name] = prop

    def get(self, name: str) -> Property[Any] | None:
        """The property registered under ``name`` or one of its aliases, or ``None``."""
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Property[Any]]:
        return iter(list(self._props.values()))

    def __len__(self) -> int:
        return len(self._props)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_name

    def by_owner(self, owner: str) -> list[Property[Any]]:
        """The properties owned by ``owner``, in registration order."""
        return [p for p in list(self._props.values()) if p.owner == owner]

    def owners(self) -> list[str]:
        """Every owner, ``core`` first, then sorted."""
        found = {p.owner for p in list(self._props.values())}
        return sorted(found, key=lambda o: (o != "core", o))

    def is_wrapper_key(self, key: str) -> bool:
        """Whether ``key`` is a wrapper key (stripped before the driver call)."""
        return key in self._by_name or _is_prefixed(key)

    def is_secret_key(self, key: str) -> bool:
        """Whether the value of ``key`` must be redacted (extension of the spec).

        Prefixed keys are judged by their unprefixed name. A registered property decides by
        its ``secret`` flag; other keys are secret when they are in
        :data:`DRIVER_SECRET_KEYS` or their name looks like a password, secret or token.
        """
        name = _strip_prefix(key)
        prop = self._by_name.get(name)
        if prop is not None:
            return prop.secret
        return name.lower() in DRIVER_SECRET_KEYS or bool(_SECRET_KEY_HINT.search(name))

    def copy(self) -> PropertyRegistry:
        """An independent registry with the same properties."""
        clone = PropertyRegistry()
        with self._lock:
            clone._props = dict(self._props)
            clone._by_name = dict(self._by_name)
        return clone

    def __repr__(self) -> str:
        return f"PropertyRegistry({len(self._props)} properties)"


def _is_prefixed(key: str) -> bool:
    return key.startswith(INTERNAL_PREFIXES)


def _strip_prefix(key: str) -> str:
    for prefix in INTERNAL_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def default_registry() -> PropertyRegistry:
    """A new registry pre-filled with the catalogue of every known property."""
    from ._catalog import CATALOGUE

    registry = PropertyRegistry()
    for prop in CATALOGUE:
        registry._props[prop.name] = prop
        for name in (prop.name, *prop.aliases):
            registry._by_name[name] = prop
    return registry


_MISSING: Any = object()


class Properties(Mapping[str, object]):
    """One connection's merged properties. Immutable.

    Mapping access (``props[key]``, iteration) sees every key with canonical names: coerced
    values for registered wrapper properties, untouched values for everything else.
    :meth:`get` returns the coerced value or the property's default, :meth:`raw` the values
    exactly as given.
    """

    __slots__ = ("_raw", "_registry", "_values")

    def __init__(self, raw: Mapping[str, object], registry: PropertyRegistry) -> None:
        """Build from already-normalised keys; prefer :meth:`parse`. Coerces eagerly."""
        self._registry = registry
        self._raw: dict[str, object] = dict(raw)
        values: dict[str, object] = {}
        for key, value in self._raw.items():
            prop = registry.get(key)
            if prop is not None:
                coerced = prop.coerce(value)
                if prop.unsupported is not None and coerced != prop.default:
                    from .errors import NotSupportedError

                    raise NotSupportedError(
                        f"property {key!r} is not supported by awsdb: {prop.unsupported}"
                    )
                values[key] = coerced
                continue
            if _is_prefixed(key):
                inner = registry.get(_strip_prefix(key))
                if inner is not None:
                    try:
                        values[key] = inner.coerce(value)
                    except ProgrammingError as exc:
                        raise ProgrammingError(
                            str(exc).replace(repr(inner.name), repr(key), 1)
                        ) from None
                    continue
            values[key] = value
        self._values = values

    @classmethod
    def parse(
        cls,
        conninfo: str | None,
        overrides: Mapping[str, object],
        registry: PropertyRegistry,
    ) -> Properties:
        """Parse ``conninfo`` (libpq ``key=value``, ``postgresql://``, ``mysql://`` URL), then
        apply ``overrides``, which win. ``wrapper_plugins`` and other aliases map to their
        canonical names (within one source the canonical spelling wins); an override of
        ``None`` removes the key. Wrapper properties are coerced here."""
        merged: dict[str, object] = {}
        if conninfo:
            from ._dsn import parse_conninfo

            _merge(merged, parse_conninfo(conninfo), registry)
        _merge(merged, overrides, registry)
        props = cls(merged, registry)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("parsed connection properties: %r", props)
        return props

    @overload
    def get(self, key: Property[T], /) -> T: ...
    @overload
    def get(self, key: str, /) -> Any: ...
    @overload
    def get(self, key: str | Property[Any], default: object, /) -> Any: ...

    def get(self, key: str | Property[Any], default: object = _MISSING, /) -> Any:
        """The coerced value of a property, or its default when unset.

        ``key`` is a :class:`Property` or a name (aliases allowed). For a name that is not a
        registered property the raw value is returned, or ``default`` (``None`` if omitted).
        With an explicit ``default``, it replaces the property default for an unset key.
        """
        if isinstance(key, Property):
            if key.name in self._values:
                return self._values[key.name]
            return key.default if default is _MISSING else default
        prop = self._registry.get(key)
        name = prop.name if prop is not None else key
        if name in self._values:
            return self._values[name]
        if default is not _MISSING:
            return default
        return prop.default if prop is not None else None

    def __getitem__(self, key: str) -> object:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    @property
    def registry(self) -> PropertyRegistry:
        """The registry these properties were parsed against."""
        return self._registry

    def raw(self) -> dict[str, object]:
        """A copy of every key with its value exactly as given."""
        return dict(self._raw)

    def driver_kwargs(self) -> dict[str, object]:
        """Every key that is not a wrapper key, with its value untouched."""
        is_wrapper = self._registry.is_wrapper_key
        return {k: v for k, v in self._raw.items() if not is_wrapper(k)}

    def for_internal(self, prefix: str) -> Properties:
        """The properties of an internal connection of the family ``prefix``.

        Every ``<prefix><name>`` overrides ``<name>``; every prefixed-family key is dropped;
        the user's routing keys in :data:`ROUTING_KEYS` are dropped (a prefixed one, set for
        the internal connection explicitly, is kept); the defaults in
        :data:`INTERNAL_FORCED_DEFAULTS` are set where the merged result leaves them unset.
        """
        if prefix not in INTERNAL_FORCED_DEFAULTS:
            raise ProgrammingError(
                f"unknown internal property prefix {prefix!r} "
                f"(allowed: {', '.join(repr(p) for p in INTERNAL_PREFIXES)})"
            )
        base: dict[str, object] = {}
        family: dict[str, object] = {}
        for key, value in self._raw.items():
            if key.startswith(prefix):
                family[key[len(prefix) :]] = value
            elif _is_prefixed(key) or key in ROUTING_KEYS:
                continue
            else:
                base[key] = value
        _merge(base, family, self._registry)
        for key, value in INTERNAL_FORCED_DEFAULTS[prefix].items():
            base.setdefault(key, value)
        return Properties(base, self._registry)

    def with_overrides(self, **kw: object) -> Properties:
        """A copy with ``kw`` applied like :meth:`parse` overrides (``None`` removes)."""
        merged = dict(self._raw)
        _merge(merged, kw, self._registry)
        return Properties(merged, self._registry)

    def hosts(self) -> list[tuple[str, int | None]]:
        """The ``(host, port)`` pairs from ``host`` and ``port`` (libpq comma lists allowed).

        A single port applies to every host; otherwise the counts must match. An empty port
        entry means the driver default (``None``).
        """
        host = self._raw.get("host")
        if host is None or host == "":
            return []
        return split_host_list(host, self._raw.get("port"))

    def redacted(self) -> dict[str, object]:
        """Every key with secret values replaced by ``'***'``."""
        is_secret = self._registry.is_secret_key
        return {k: (REDACTED if is_secret(k) else v) for k, v in self._values.items()}

    def __repr__(self) -> str:
        return f"Properties({self.redacted()!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Properties):
            return self._values == other._values
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]


def _merge(
    target: dict[str, object], source: Mapping[str, object], registry: PropertyRegistry
) -> None:
    """Apply ``source`` onto ``target`` with canonical names; ``None`` removes a key."""
    canonical_given: set[str] = set()
    for key, value in source.items():
        if not isinstance(key, str):
            raise ProgrammingError(f"invalid property name {_show(key, False)} (allowed: a string)")
        name = key
        prop = registry.get(key)
        if prop is not None:
            name = prop.name
        elif _is_prefixed(key):
            prefix = key[: len(key) - len(_strip_prefix(key))]
            inner = registry.get(key[len(prefix) :])
            if inner is not None:
                name = prefix + inner.name
        if name != key and name in canonical_given:
            continue  # the canonical spelling wins over an alias in the same source
        if name == key:
            canonical_given.add(name)
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value


def split_host_list(
    host: object, port: object, default_port: int | None = None
) -> list[tuple[str, int | None]]:
    """Split a libpq-style ``host`` list (``"a,b,c"``) and ``port`` list into pairs.

    The one parser of host lists: :meth:`Properties.hosts` and
    :func:`awsdb.host_provider.parse_host_list` both use it. Entries are trimmed; an empty
    host entry (``"a,,b"``, a leading or trailing comma) is a :class:`ProgrammingError`.
    ``port`` is ``None``, an integer, a comma-separated string or a sequence of integers or
    strings: one port applies to every host, otherwise there is one per host. An empty port
    entry (or no port) means ``default_port``.
    """
    if not isinstance(host, str):
        raise ProgrammingError(
            f"invalid value for property 'host': {_show(host, False)} "
            "(allowed: a host name or a comma-separated list of host names)"
        )
    names = [h.strip() for h in host.split(",")]
    for position, name in enumerate(names, start=1):
        if not name:
            raise ProgrammingError(
                f"invalid value for property 'host': {_show(host, False)} has an empty entry "
                f"(entry {position} of {len(names)}; allowed: host names separated by single "
                "commas, without a leading or trailing comma)"
            )
    ports = _parse_ports(port)
    if len(ports) == 1:
        ports = ports * len(names)
    elif len(ports) != len(names):
        raise ProgrammingError(
            f"invalid value for property 'port': {_show(port, False)} "
            f"(allowed: one port, or one per host: {len(names)} hosts are given)"
        )
    return [(n, p if p is not None else default_port) for n, p in zip(names, ports, strict=True)]


def _parse_ports(port: object) -> list[int | None]:
    if port is None:
        return [None]
    entries: list[object]
    if isinstance(port, str):
        entries = [p.strip() for p in port.split(",")]
    elif isinstance(port, list | tuple):
        entries = list(port) if port else [""]
    else:
        entries = [port]
    out: list[int | None] = []
    for entry in entries:
        if entry == "":
            out.append(None)
            continue
        number: int | None = None
        if isinstance(entry, int) and not isinstance(entry, bool):
            number = entry
        elif isinstance(entry, str) and entry.isascii() and entry.isdigit() and len(entry) <= 5:
            number = int(entry)
        if number is None or not 1 <= number <= 65535:
            raise ProgrammingError(
                f"invalid value for property 'port': {_show(port, False)} "
                "(allowed: an integer from 1 to 65535, or a comma-separated list of them)"
            )
        out.append(number)
    return out
