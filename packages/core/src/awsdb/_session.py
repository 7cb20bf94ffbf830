"""Session state the application set on a connection, carried over a switch.

The wrapper records every session setting the application changes through it (autocommit,
read-only, and the driver attributes the driver dialect lists, such as psycopg's
``isolation_level``), together with the value the connection had before the first change.
On failover or a switch the recorded values are applied to the new connection
(``transfer_session_state_on_switch``); before a close the original values are restored
(``reset_session_state_on_close``), so a connection handed back to a driver-level pool does
not leak the application's settings.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from awsdb.drivers import DriverDialect

__all__ = ["SessionState"]

_log = logging.getLogger("awsdb")

_FLAGS = ("autocommit", "read_only")  # applied first, in this order


def _read(driver: DriverDialect, conn: Any, name: str) -> Any:
    if name == "autocommit":
        return driver.get_autocommit(conn)
    if name == "read_only":
        return driver.get_read_only(conn)
    return getattr(conn, name)


def _write(driver: DriverDialect, conn: Any, name: str, value: Any) -> None:
    if name == "autocommit":
        driver.set_autocommit(conn, bool(value))
    elif name == "read_only":
        driver.set_read_only(conn, bool(value))
    else:
        setattr(conn, name, value)


class SessionState:
    """The session settings changed through one wrapper connection. Not thread-safe: it is
    changed by the thread that owns the connection and read under the service lock."""

    __slots__ = ("_pristine", "_values")

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._pristine: dict[str, Any] = {}

    def record(self, driver: DriverDialect, conn: Any, name: str, value: Any) -> None:
        """Note that ``name`` is being set to ``value`` on ``conn`` (call before setting)."""
        if name not in self._pristine:
            try:
                self._pristine[name] = _read(driver, conn, name)
            except Exception as exc:  # unreadable: nothing to restore on close
                _log.debug("could not read session setting %s: %s", name, type(exc).__name__)
        self._values[name] = value

    @property
    def values(self) -> dict[str, Any]:
        """A copy of the settings the application changed, by name."""
        return dict(self._values)

    @property
    def pristine(self) -> dict[str, Any]:
        """A copy of the values the settings had before the application changed them."""
        return dict(self._pristine)

    def __bool__(self) -> bool:
        return bool(self._values)

    def apply(self, driver: DriverDialect, conn: Any) -> None:
        """Set every recorded value on ``conn`` (a new, idle connection); errors propagate."""
        for name in _ordered(self._values):
            _write(driver, conn, name, self._values[name])

    def restore(self, driver: DriverDialect, conn: Any) -> None:
        """Best effort: put the original values back on ``conn`` before it is closed."""
        changed = [n for n in _ordered(self._pristine) if self._values.get(n) != self._pristine[n]]
        if not changed:
            return
        try:
            if driver.in_transaction(conn):
                conn.rollback()
            for name in changed:
                _write(driver, conn, name, self._pristine[name])
        except Exception as exc:
            _log.debug("restoring the session state failed: %s", type(exc).__name__)


def _ordered(values: dict[str, Any]) -> list[str]:
    return [n for n in _FLAGS if n in values] + [n for n in values if n not in _FLAGS]
