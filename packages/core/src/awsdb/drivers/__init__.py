"""Driver dialects: psycopg 3, mysql-connector-python, and third parties by entry point."""

from __future__ import annotations

import importlib.metadata as md
import threading
from collections.abc import Callable
from typing import Any

from awsdb.drivers._base import DriverDialect, ErrorKind
from awsdb.errors import ProgrammingError

__all__ = ["DRIVER_ENTRY_POINT_GROUP", "DriverDialect", "DriverRegistry", "ErrorKind"]

DRIVER_ENTRY_POINT_GROUP = "awsdb.drivers"


class DriverRegistry:
    """Built-in and third-party driver dialects; chosen from the target function."""

    def __init__(self, *, autoload: bool = True) -> None:
        from awsdb.drivers._mysql import MySQLConnectorDialect
        from awsdb.drivers._psycopg import PsycopgDialect

        self._lock = threading.RLock()
        self._classes: dict[str, type[DriverDialect]] = {
            PsycopgDialect.code: PsycopgDialect,
            MySQLConnectorDialect.code: MySQLConnectorDialect,
        }
        self._instances: dict[str, DriverDialect] = {}
        self._autoload = autoload
        self._eps_loaded = False

    def register(self, cls: type[DriverDialect]) -> None:
        """Add a driver dialect class under its ``code``."""
        if not (isinstance(cls, type) and issubclass(cls, DriverDialect)) or not cls.code:
            raise ProgrammingError(f"{cls!r} is not a DriverDialect subclass with a code")
        with self._lock:
            self._classes[cls.code] = cls
            self._instances.pop(cls.code, None)

    def _load_entry_points(self) -> None:
        if self._eps_loaded or not self._autoload:
            return
        with self._lock:  # concurrent first connections wait for the complete set
            if self._eps_loaded:
                return
            for ep in md.entry_points(group=DRIVER_ENTRY_POINT_GROUP):
                if ep.name not in self._classes:
                    self.register(ep.load())
            self._eps_loaded = True

    def codes(self) -> list[str]:
        """Known dialect codes."""
        self._load_entry_points()
        return sorted(self._classes)

    def get(self, code: str) -> DriverDialect:
        """The dialect registered under ``code``."""
        self._load_entry_points()
        with self._lock:
            cls = self._classes.get(code)
            if cls is None:
                raise ProgrammingError(
                    f"invalid value for property 'wrapper_driver_dialect': {code!r}; "
                    f"allowed: {', '.join(sorted(self._classes))}"
                )
            inst = self._instances.get(code)
            if inst is None:
                inst = self._instances[code] = cls()
            return inst

    def for_target(self, target: Callable[..., Any], override: str | None = None) -> DriverDialect:
        """The dialect for ``target``, or the one named by ``override``."""
        if override:
            return self.get(override)
        for code, cls in list(self._classes.items()):
            if cls.matches(target):
                return self.get(code)
        self._load_entry_points()
        for code, cls in list(self._classes.items()):
            if cls.matches(target):
                return self.get(code)
        name = getattr(target, "__qualname__", repr(target))
        raise ProgrammingError(
            f"no driver dialect matches the target {getattr(target, '__module__', '?')}.{name}; "
            f"set wrapper_driver_dialect to one of: {', '.join(self.codes())}"
        )
