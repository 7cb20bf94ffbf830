"""The log of calls that reached a fake driver. Re-exported by :mod:`awsdb_testing.fake_driver`."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Call", "CallLog"]


@dataclass
class Call:
    """One call that reached the fake driver; ``error`` is set when it raised."""

    seq: int
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    connection_id: int | None
    host: str | None
    thread: str
    error: BaseException | None = None


class CallLog:
    """The calls that reached a fake driver, in order. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._seq = itertools.count(1)

    def _add(
        self,
        method: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        connection_id: int | None,
        host: str | None,
    ) -> Call:
        call = Call(
            next(self._seq),
            method,
            args,
            dict(kwargs),
            connection_id,
            host,
            threading.current_thread().name,
        )
        with self._lock:
            self._calls.append(call)
        return call

    def all(self) -> list[Call]:
        """A copy of every recorded call."""
        with self._lock:
            return list(self._calls)

    def methods(self) -> list[str]:
        """The method names of every recorded call, in order."""
        return [c.method for c in self.all()]

    def of(self, method: str) -> list[Call]:
        """The recorded calls of ``method``."""
        return [c for c in self.all() if c.method == method]

    def count(self, method: str) -> int:
        """How many times ``method`` reached the driver."""
        return len(self.of(method))

    def last(self, method: str | None = None) -> Call:
        """The most recent call (of ``method`` when given); ``LookupError`` if none."""
        calls = self.all() if method is None else self.of(method)
        if not calls:
            raise LookupError(f"no call of {method or 'any method'} reached the fake driver")
        return calls[-1]

    def clear(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._calls.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(self.all())
