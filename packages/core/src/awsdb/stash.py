"""Typed per-process state for plugins: :class:`StashKey` and :class:`Stash`.

A plugin that needs state shared by all connections of the process (a token cache, a
counter, a table of pools) declares a module-level *key*, never a module-level value::

    from awsdb.stash import StashKey

    _TOKENS: StashKey[TokenCache] = StashKey("iam.tokens")

    cache = service.services.stash.setdefault(_TOKENS, TokenCache)

The value lives in the process services (``Services.stash``) and is dropped by
:func:`awsdb.release_resources`; a value with a ``release()`` method has it called then. The
key carries the value type, so ``stash[key]`` type-checks without casts (pytest's
``StashKey`` is the model).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

__all__ = ["Stash", "StashKey"]

T = TypeVar("T")

_log = logging.getLogger("awsdb")


class StashKey(Generic[T]):
    """A typed key into a :class:`Stash`. Create one per kind of state, at module level.

    Keys compare by identity: two keys with the same name are different keys. The name is
    only for ``repr`` and error messages.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"StashKey({self.name!r})"


class Stash:
    """A thread-safe map of :class:`StashKey` to values. One per process services."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[StashKey[Any], Any] = {}

    def setdefault(self, key: StashKey[T], factory: Callable[[], T]) -> T:
        """The value under ``key``, created by ``factory()`` the first time (exactly once)."""
        try:
            return cast("T", self._values[key])  # lock-free fast path
        except KeyError:
            pass
        with self._lock:
            if key not in self._values:
                self._values[key] = factory()
            return cast("T", self._values[key])

    def get(self, key: StashKey[T], default: T | None = None) -> T | None:
        """The value under ``key``, or ``default``."""
        return cast("T | None", self._values.get(key, default))

    def __getitem__(self, key: StashKey[T]) -> T:
        try:
            return cast("T", self._values[key])
        except KeyError:
            raise KeyError(f"nothing stored under {key!r}") from None

    def __setitem__(self, key: StashKey[T], value: T) -> None:
        with self._lock:
            self._values[key] = value

    def pop(self, key: StashKey[T], default: T | None = None) -> T | None:
        """Remove and return the value under ``key`` (``default`` when absent)."""
        with self._lock:
            return cast("T | None", self._values.pop(key, default))

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def release(self) -> None:
        """Drop every value, newest first, calling ``release()`` on those that have one."""
        with self._lock:
            values, self._values = list(self._values.items()), {}
        for key, value in reversed(values):
            release = getattr(value, "release", None)
            if callable(release):
                try:
                    release()
                except Exception:
                    _log.exception("releasing the value under %r failed", key)
