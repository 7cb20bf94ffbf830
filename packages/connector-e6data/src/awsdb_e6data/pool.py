"""A thread-safe pool of :class:`~awsdb_e6data.connection.Connection` objects."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from .connection import Connection
from .cursor import Cursor
from .errors import Error, InterfaceError, PoolTimeoutError

__all__ = ["ConnectionPool", "PooledConnection"]

_log = logging.getLogger("awsdb_e6data.pool")


class PooledConnection:
    """A checked-out connection; a context manager that returns itself to the pool.

    Attribute access falls through to the underlying :class:`Connection`.
    """

    def __init__(self, connection: Connection, pool: ConnectionPool) -> None:
        self.connection = connection
        self.pool = pool
        self.in_use = False
        self.created_at = time.monotonic()
        self.last_used = self.created_at
        self.use_count = 0
        self.thread_id: int | None = None
        self._cursors: list[Cursor] = []

    def cursor(self, catalog_name: str | None = None, db_name: str | None = None) -> Cursor:
        """A new cursor with these arguments; closed when the connection is returned."""
        cur = self.connection.cursor(catalog_name, db_name)
        self._cursors.append(cur)
        return cur

    def _close_cursors(self) -> None:
        cursors, self._cursors = self._cursors, []
        for cur in cursors:
            with contextlib.suppress(Error):
                cur.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)

    def __enter__(self) -> PooledConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.return_connection(self)


class ConnectionPool:
    """Pool with ``min_size`` eager (lazy-network) connections, up to ``max_size`` idle and
    ``max_overflow`` extra ones under load.

    Every checkout is a distinct connection (no per-thread sharing). ``timeout`` is the wait
    for a free connection (``0`` = do not wait); ``recycle`` the maximum age in seconds
    (``<= 0`` = never); ``pre_ping`` makes a real round trip before handing a connection out.
    """

    def __init__(
        self,
        min_size: int = 2,
        max_size: int = 10,
        max_overflow: int = 5,
        timeout: float = 30.0,
        recycle: int = 3600,
        debug: bool = False,
        pre_ping: bool = True,
        **connection_params: Any,
    ) -> None:
        if min_size < 0 or max_size < 1 or max_overflow < 0 or min_size > max_size:
            raise InterfaceError("need 0 <= min_size <= max_size, max_size >= 1, overflow >= 0")
        self.min_size = min_size
        self.max_size = max_size
        self.max_overflow = max_overflow
        self.timeout = timeout
        self.recycle = recycle
        self.debug = debug
        self.pre_ping = pre_ping
        self._params = connection_params
        self._cond = threading.Condition()
        self._idle: deque[PooledConnection] = deque()
        self._all: set[PooledConnection] = set()
        self._reserved = 0
        self._waiting = 0
        self._total_requests = 0
        self._failed = 0
        self._closed = False
        for _ in range(min_size):
            try:
                pooled = self._create()
            except Error:
                with self._cond:
                    self._failed += 1
                continue
            with self._cond:
                self._all.add(pooled)
                self._idle.append(pooled)

    def _event(self, msg: str, *args: Any) -> None:
        _log.log(logging.INFO if self.debug else logging.DEBUG, msg, *args)

    def _create(self) -> PooledConnection:
        return PooledConnection(Connection(**self._params), self)

    def _healthy(self, pooled: PooledConnection) -> bool:
        if pooled.connection.closed:
            return False
        if self.recycle > 0 and time.monotonic() - pooled.created_at > self.recycle:
            return False
        if self.pre_ping:
            try:
                pooled.connection.ping()
            except Error as exc:
                self._event("pre-ping failed: %s", exc)
                return False
        return True

    def _discard(self, pooled: PooledConnection) -> None:
        with self._cond:
            self._all.discard(pooled)
            self._cond.notify()
        pooled.connection.close()

    def get_connection(self, timeout: float | None = None) -> PooledConnection:
        """Check out a connection; raise :class:`PoolTimeoutError` after ``timeout``."""
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + max(wait, 0.0)
        with self._cond:
            self._total_requests += 1
        replacing = False  # a connection failed its health check during this checkout
        while True:
            pooled: PooledConnection | None = None
            with self._cond:
                while True:
                    if self._closed:
                        raise InterfaceError("pool is closed")
                    if self._idle:
                        pooled = self._idle.popleft()
                        pooled.in_use = True
                        break
                    if len(self._all) + self._reserved < self.max_size + self.max_overflow:
                        self._reserved += 1
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise PoolTimeoutError(f"Failed to get connection within {wait} seconds")
                    self._waiting += 1
                    try:
                        self._cond.wait(remaining)
                    finally:
                        self._waiting -= 1
            if pooled is None:
                try:
                    pooled = self._create()
                except Error:
                    with self._cond:
                        self._reserved -= 1
                        self._failed += 1
                        self._cond.notify()
                    raise
                with self._cond:
                    self._reserved -= 1
                    self._all.add(pooled)
                    pooled.in_use = True
                self._event("created connection (total %d)", len(self._all))
                if replacing and self.pre_ping:
                    try:
                        pooled.connection.ping()  # the replacement is checked too, or raises
                    except Error:
                        with self._cond:
                            self._failed += 1
                        self._discard(pooled)
                        raise
            elif not self._healthy(pooled):
                replacing = True
                self._discard(pooled)
                continue
            pooled.use_count += 1
            pooled.thread_id = threading.get_ident()
            pooled.last_used = time.monotonic()
            return pooled

    def return_connection(self, pooled: PooledConnection) -> None:
        """Give a connection back; cursors it created are closed first."""
        with self._cond:
            if not pooled.in_use:
                return
        pooled._close_cursors()
        with self._cond:
            pooled.in_use = False
            pooled.thread_id = None
            pooled.last_used = time.monotonic()
            keep = (
                not self._closed
                and pooled in self._all
                and not pooled.connection.closed
                and len(self._all) <= self.max_size
            )
            if keep:
                self._idle.append(pooled)
            else:
                self._all.discard(pooled)
            self._cond.notify()
        if not keep:
            pooled.connection.close()

    @contextlib.contextmanager
    def get_connection_context(self, timeout: float | None = None) -> Iterator[PooledConnection]:
        """``with pool.get_connection_context() as conn:`` checks out and returns."""
        pooled = self.get_connection(timeout)
        try:
            yield pooled
        finally:
            self.return_connection(pooled)

    def close_all(self) -> None:
        """Close every connection (idle and checked out) and refuse new checkouts."""
        with self._cond:
            self._closed = True
            everything = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for pooled in everything:
            pooled.connection.close()

    def get_statistics(self) -> dict[str, int]:
        """The published keys: created/active/idle/waiting/requests/failed/overflow/threads/
        pool_size."""
        with self._cond:
            active = [p for p in self._all if p.in_use]
            return {
                "created_connections": len(self._all),
                "active_connections": len(active),
                "idle_connections": len(self._idle),
                "waiting_threads": self._waiting,
                "total_requests": self._total_requests,
                "failed_connections": self._failed,
                "overflow_connections": max(0, len(self._all) - self.max_size),
                "thread_connections": len({p.thread_id for p in active}),
                "pool_size": len(self._all),
            }

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_all()
