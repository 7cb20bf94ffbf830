"""Host selectors: which host of a role to connect to (aurora-facts §11.9).

Built-ins: ``random``, ``round_robin`` (with per-host weights), ``weighted_random`` and
``highest_weight``. Plugins add more through :meth:`SelectorRegistry.register`.

Eligible hosts are those of the requested role that are available; a request for
``HostRole.UNKNOWN`` accepts any role. With no eligible host a selector raises
``awsdb.errors.OperationalError("no available <role> host ...")``.

Unlike the AWS wrapper, selector state is never process-wide: the round-robin position lives in
the selector instance, keyed by the sorted set of eligible hosts (one cycle per cluster),
under a lock and bounded; weight pairs are parsed once per pairs string and validated.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from awsdb.errors import OperationalError, ProgrammingError
from awsdb.hosts import HostInfo, HostRole

if TYPE_CHECKING:
    import random

__all__ = [
    "HighestWeightSelector",
    "HostSelector",
    "PropertyReader",
    "RandomSelector",
    "RoundRobinSelector",
    "SelectorRegistry",
    "WeightedRandomSelector",
    "default_selectors",
    "eligible_hosts",
    "parse_weight_pairs",
]


class PropertyReader(Protocol):
    """What selectors need from connection properties: ``get(name)`` → typed value or default.

    ``awsdb.properties.Properties`` satisfies it; so does a plain ``dict``.
    """

    def get(self, name: str, /) -> object:
        """The value of property ``name`` (its default when unset)."""
        ...


@runtime_checkable
class HostSelector(Protocol):
    """Chooses one host of ``role`` among ``hosts``."""

    def select(self, hosts: Sequence[HostInfo], role: HostRole, props: PropertyReader) -> HostInfo:
        """The chosen host; ``OperationalError`` when no available host has ``role``."""
        ...


def eligible_hosts(hosts: Sequence[HostInfo], role: HostRole) -> list[HostInfo]:
    """The available hosts of ``role`` (any role for ``HostRole.UNKNOWN``), in input order."""
    if role is HostRole.UNKNOWN:
        return [h for h in hosts if h.is_available]
    return [h for h in hosts if h.role is role and h.is_available]


def _eligible_or_raise(hosts: Sequence[HostInfo], role: HostRole) -> list[HostInfo]:
    found = eligible_hosts(hosts, role)
    if not found:
        what = "" if role is HostRole.UNKNOWN else f"{role.value} "
        listed = ", ".join(f"{h.url} ({h.role.value}, {h.availability.value})" for h in hosts)
        raise OperationalError(
            f"no available {what}host among {len(hosts)} host(s)"
            + (f": {listed}" if listed else "")
        )
    return found


# --- weights ----------------------------------------------------------------------------------
@lru_cache(maxsize=128)
def parse_weight_pairs(text: str, property_name: str = "host_weight_pairs") -> Mapping[str, int]:
    """Parse ``"host:weight,host2:weight"`` into ``{host: weight}`` (hosts lowercased).

    The host part may itself be ``host:port`` (the weight is after the last ``:``). Weights
    are integers ≥ 1. Blank input gives an empty mapping. Anything else raises
    ``ProgrammingError`` naming ``property_name``, the offending entry and the expected form.
    Results are cached per string (bounded).
    """
    out: dict[str, int] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            if text.strip():
                raise ProgrammingError(
                    f"{property_name}={text!r}: empty entry; expected 'host:weight,...' "
                    "with integer weights >= 1"
                )
            continue
        host, sep, weight_text = entry.rpartition(":")
        host, weight_text = host.strip(), weight_text.strip()
        if not sep or not host:
            raise ProgrammingError(
                f"{property_name}={text!r}: entry {entry!r} is not 'host:weight' "
                "(integer weights >= 1)"
            )
        weight = int(weight_text) if weight_text.isdigit() else 0
        if weight < 1:
            raise ProgrammingError(
                f"{property_name}={text!r}: weight {weight_text!r} of host {host!r} is not "
                "an integer >= 1"
            )
        out[host.lower()] = weight
    return MappingProxyType(out)


def _default_weight(props: PropertyReader, name: str) -> int:
    value = props.get(name)
    if value is None or value == "":
        return 1
    if isinstance(value, bool):
        raise ProgrammingError(f"{name}={value!r}: expected an integer >= 1")
    if isinstance(value, int):
        weight = value
    elif isinstance(value, str) and value.strip().isdigit():
        weight = int(value.strip())
    else:
        raise ProgrammingError(f"{name}={value!r}: expected an integer >= 1")
    if weight < 1:
        raise ProgrammingError(f"{name}={value!r}: expected an integer >= 1")
    return weight


def _pairs(props: PropertyReader, name: str) -> Mapping[str, int]:
    value = props.get(name)
    if value is None:
        return {}
    if isinstance(value, Mapping):  # already parsed by the property layer
        return parse_weight_pairs(",".join(f"{k}:{v}" for k, v in value.items()), name)
    if not isinstance(value, str):
        raise ProgrammingError(f"{name}={value!r}: expected 'host:weight,...'")
    return parse_weight_pairs(value, name)


def _weight_of(host: HostInfo, pairs: Mapping[str, int], default: int) -> int:
    if pairs:
        for key in (host.url.lower(), host.host.lower()):
            weight = pairs.get(key)
            if weight is not None:
                return weight
    return default


# --- built-in selectors -----------------------------------------------------------------------
class RandomSelector:
    """Uniform choice among the eligible hosts."""

    name = "random"

    def __init__(self, rng: random.Random | None = None) -> None:
        if rng is None:
            import random  # lazy: keeps the module import light

            rng = random.Random()
        self._rng = rng

    def select(self, hosts: Sequence[HostInfo], role: HostRole, props: PropertyReader) -> HostInfo:
        """A uniformly random eligible host."""
        return self._rng.choice(_eligible_or_raise(hosts, role))


class WeightedRandomSelector:
    """Random choice with probability proportional to each host's weight.

    Weights come from ``weighted_random_host_weight_pairs`` (``host:weight,...``), otherwise
    ``weighted_random_default_weight``. Draws one integer and bisects cumulative weights: no
    list of Σ weights is built.
    """

    name = "weighted_random"
    pairs_property = "weighted_random_host_weight_pairs"
    default_weight_property = "weighted_random_default_weight"

    def __init__(self, rng: random.Random | None = None) -> None:
        if rng is None:
            import random  # lazy: keeps the module import light

            rng = random.Random()
        self._rng = rng

    def select(self, hosts: Sequence[HostInfo], role: HostRole, props: PropertyReader) -> HostInfo:
        """An eligible host drawn with probability weight / Σ weights."""
        eligible = _eligible_or_raise(hosts, role)
        pairs = _pairs(props, self.pairs_property)
        default = _default_weight(props, self.default_weight_property)
        cumulative = list(itertools.accumulate(_weight_of(h, pairs, default) for h in eligible))
        pick = self._rng.randrange(cumulative[-1])
        return eligible[bisect.bisect_right(cumulative, pick)]


class HighestWeightSelector:
    """The eligible host with the largest ``HostInfo.weight`` (first one on ties)."""

    name = "highest_weight"

    def select(self, hosts: Sequence[HostInfo], role: HostRole, props: PropertyReader) -> HostInfo:
        """The eligible host of highest weight."""
        return max(_eligible_or_raise(hosts, role), key=lambda h: h.weight)


class RoundRobinSelector:
    """Cycles through the eligible hosts sorted by name, each ``weight`` times in a row.

    Weights come from ``round_robin_host_weight_pairs``, otherwise
    ``round_robin_default_weight``. The position is kept per selector instance and per
    eligible host set (so two clusters never share a cycle), under a lock; idle cycles expire
    after ``ttl_seconds`` (10 min) and at most ``max_clusters`` cycles are kept.
    """

    name = "round_robin"
    pairs_property = "round_robin_host_weight_pairs"
    default_weight_property = "round_robin_default_weight"

    def __init__(
        self,
        *,
        ttl_seconds: float = 600.0,
        max_clusters: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        # key -> [index into the sorted host list, times served in a row, last use]
        self._state: OrderedDict[tuple[str, ...], list[float]] = OrderedDict()
        self._ttl = ttl_seconds
        self._max = max_clusters
        self._clock = clock

    def select(self, hosts: Sequence[HostInfo], role: HostRole, props: PropertyReader) -> HostInfo:
        """The next host of the weighted cycle for this eligible host set."""
        eligible = sorted(_eligible_or_raise(hosts, role), key=lambda h: (h.host.lower(), h.url))
        pairs = _pairs(props, self.pairs_property)
        default = _default_weight(props, self.default_weight_property)
        key = tuple(h.url.lower() for h in eligible)
        now = self._clock()
        with self._lock:
            state = self._state.get(key)
            if state is None or now - state[2] > self._ttl:
                state = [0, 0, now]
                self._state[key] = state
            self._state.move_to_end(key)
            index, served = int(state[0]), int(state[1])
            if served >= _weight_of(eligible[index], pairs, default):
                index, served = (index + 1) % len(eligible), 0
            state[0], state[1], state[2] = index, served + 1, now
            while len(self._state) > self._max:
                self._state.popitem(last=False)
        return eligible[index]

    def reset(self) -> None:
        """Forget every cycle."""
        with self._lock:
            self._state.clear()


# --- registry ---------------------------------------------------------------------------------
SelectorFactory = Callable[[], HostSelector]

_BUILTINS: Mapping[str, SelectorFactory] = {
    "random": RandomSelector,
    "round_robin": RoundRobinSelector,
    "weighted_random": WeightedRandomSelector,
    "highest_weight": HighestWeightSelector,
}


def _normalize_name(name: str) -> str:
    return name.strip().lower().replace("-", "_")


class SelectorRegistry:
    """Named host selectors: the built-ins plus those plugins register. Thread-safe.

    ``get(name)`` returns one selector instance per name and registry (created on first use),
    so stateful selectors such as ``round_robin`` keep their cycle across calls. Names are
    trimmed and compared case-insensitively, with ``-`` and ``_`` equivalent.
    """

    def __init__(self, factories: Mapping[str, SelectorFactory] | None = None) -> None:
        self._lock = threading.Lock()
        self._factories: dict[str, SelectorFactory] = {}
        self._instances: dict[str, HostSelector] = {}
        for name, factory in (factories or {}).items():
            self._factories[_normalize_name(name)] = factory

    def register(self, name: str, factory: SelectorFactory, *, replace: bool = False) -> None:
        """Add selector ``name`` made by ``factory``; an existing name needs ``replace=True``."""
        key = _normalize_name(name)
        if not key:
            raise ProgrammingError("host selector name must not be empty")
        with self._lock:
            if key in self._factories and not replace:
                raise ProgrammingError(f"host selector {key!r} is already registered")
            self._factories[key] = factory
            self._instances.pop(key, None)

    def names(self) -> list[str]:
        """The registered selector names, sorted."""
        with self._lock:
            return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        with self._lock:
            return _normalize_name(name) in self._factories

    def get(self, name: str) -> HostSelector:
        """The selector called ``name``; unknown names raise ``ProgrammingError`` listing
        the known ones."""
        key = _normalize_name(name)
        with self._lock:
            selector = self._instances.get(key)
            if selector is not None:
                return selector
            factory = self._factories.get(key)
            if factory is None:
                known = ", ".join(sorted(self._factories))
                raise ProgrammingError(f"unknown host selector strategy {name!r}; known: {known}")
            selector = factory()
            self._instances[key] = selector
            return selector


def default_selectors() -> SelectorRegistry:
    """A new registry holding the built-in selectors."""
    return SelectorRegistry(_BUILTINS)
