"""Dialect registry, detection cache and detection (aurora-facts §3.2)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence

from awsdb.dialects._base import AuxQuery, DatabaseDialect
from awsdb.dialects.mysql import (
    AuroraMysqlDialect,
    GlobalAuroraMysqlDialect,
    MultiAzMysqlDialect,
    MysqlDialect,
    RdsMysqlDialect,
)
from awsdb.dialects.pg import (
    AuroraPgDialect,
    GlobalAuroraPgDialect,
    MultiAzPgDialect,
    PgDialect,
    RdsPgDialect,
)
from awsdb.errors import InterfaceError, ProgrammingError
from awsdb.rds import RdsUrlType, classify, normalize_host

__all__ = [
    "BUILTIN_DIALECTS",
    "UNKNOWN_CANDIDATES",
    "DialectCache",
    "DialectRegistry",
    "detect_dialect",
    "guess_dialect",
    "normalize_family",
]

BUILTIN_DIALECTS: tuple[type[DatabaseDialect], ...] = (
    PgDialect,
    RdsPgDialect,
    AuroraPgDialect,
    GlobalAuroraPgDialect,
    MultiAzPgDialect,
    MysqlDialect,
    RdsMysqlDialect,
    AuroraMysqlDialect,
    GlobalAuroraMysqlDialect,
    MultiAzMysqlDialect,
)

UNKNOWN = "unknown"
UNKNOWN_CANDIDATES: tuple[str, ...] = (
    "mysql",
    "pg",
    "rds-mysql",
    "rds-pg",
    "aurora-mysql",
    "aurora-pg",
    "multi-az-mysql",
    "multi-az-pg",
)
"""Probed in this order when the driver family is unknown."""

_FAMILIES = {
    "pg": "pg",
    "postgres": "pg",
    "postgresql": "pg",
    "psycopg": "pg",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql-connector-python": "mysql",
    "mysql-connector": "mysql",
}


def normalize_family(family: str) -> str:
    """``"pg"``, ``"mysql"`` or ``"unknown"`` for a driver family or driver dialect code."""
    return _FAMILIES.get(family.strip().lower().replace("_", "-"), UNKNOWN)


def _normalize_code(code: str) -> str:
    return code.strip().lower().replace("_", "-")


class DialectRegistry:
    """Database dialects by code: the built-ins plus any registered. Thread-safe.

    Dialects are stateless, so ``get`` returns one shared instance per code. Codes are
    trimmed and compared case-insensitively, with ``_`` and ``-`` equivalent.
    """

    def __init__(
        self, dialects: Iterable[type[DatabaseDialect]] | None = None, *, builtins: bool = True
    ) -> None:
        self._lock = threading.Lock()
        self._classes: dict[str, type[DatabaseDialect]] = {}
        self._instances: dict[str, DatabaseDialect] = {}
        for cls in (*(BUILTIN_DIALECTS if builtins else ()), *(dialects or ())):
            self._classes[_normalize_code(cls.code)] = cls

    def register(self, cls: type[DatabaseDialect], *, replace: bool = False) -> None:
        """Add dialect class ``cls`` under ``cls.code``; an existing code needs ``replace``."""
        code = _normalize_code(getattr(cls, "code", ""))
        if not code:
            raise ProgrammingError(f"dialect class {cls.__qualname__} has no code")
        if code == UNKNOWN:
            raise ProgrammingError(f"dialect code {code!r} is reserved")
        with self._lock:
            if code in self._classes and not replace:
                raise ProgrammingError(f"database dialect {code!r} is already registered")
            self._classes[code] = cls
            self._instances.pop(code, None)

    def codes(self) -> list[str]:
        """Registered dialect codes, sorted."""
        with self._lock:
            return sorted(self._classes)

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, str):
            return False
        with self._lock:
            return _normalize_code(code) in self._classes

    def get(self, code: str) -> DatabaseDialect:
        """The dialect for ``code``; unknown codes raise ``ProgrammingError`` listing the
        registered ones."""
        key = _normalize_code(code)
        with self._lock:
            dialect = self._instances.get(key)
            if dialect is not None:
                return dialect
            cls = self._classes.get(key)
            if cls is None:
                known = ", ".join(sorted(self._classes))
                raise ProgrammingError(f"wrapper_dialect={code!r} is not known; known: {known}")
            dialect = cls()
            self._instances[key] = dialect
            return dialect


class DialectCache:
    """Detected dialect codes by URL and host, bounded (LRU) and expiring after ``ttl``.

    Thread-safe. Keys are normalised host names or ``host:port`` urls (case-insensitive).
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = 1800.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock

    def get(self, key: str) -> str | None:
        """The cached code for ``key``, or ``None`` when absent or expired."""
        k = key.strip().lower()
        now = self._clock()
        with self._lock:
            entry = self._entries.get(k)
            if entry is None:
                return None
            if now - entry[1] > self._ttl:
                del self._entries[k]
                return None
            self._entries.move_to_end(k)
            return entry[0]

    def put(self, key: str, code: str) -> None:
        """Cache ``code`` for ``key`` from now."""
        k = key.strip().lower()
        with self._lock:
            self._entries[k] = (code, self._clock())
            self._entries.move_to_end(k)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _guess(family: str, kind: RdsUrlType) -> tuple[str, bool]:
    """(guessed code, final) for a driver family and URL type."""
    fam = normalize_family(family)
    if fam == "mysql":
        if kind is RdsUrlType.RDS_GLOBAL_WRITER_CLUSTER:
            return "global-aurora-mysql", True
        if kind.is_cluster:
            return "aurora-mysql", False
        if kind in (RdsUrlType.RDS_INSTANCE, RdsUrlType.RDS_PROXY):
            return "rds-mysql", False
        return "mysql", False
    if fam == "pg":
        if kind is RdsUrlType.RDS_AURORA_LIMITLESS_DB_SHARD_GROUP:
            return "aurora-pg", True
        if kind is RdsUrlType.RDS_GLOBAL_WRITER_CLUSTER:
            return "global-aurora-pg", True
        if kind.is_cluster:
            return "aurora-pg", False
        if kind.is_rds:
            return "rds-pg", False
        return "pg", False
    return UNKNOWN, False


def guess_dialect(family: str, host: str) -> str:
    """The dialect code guessed from the driver family and the host's URL type (§3.2 step 4).

    ``"unknown"`` for an unknown family.
    """
    return _guess(family, classify(host))[0]


class _Memoized:
    """``query`` with results (and failures) remembered for one detection run, so probes
    sharing a statement (the PostgreSQL probe, ``rds.extensions``) run it once. Counts the
    statements that succeeded."""

    def __init__(self, query: AuxQuery) -> None:
        self._query = query
        self._seen: dict[
            tuple[str, tuple[object, ...] | None], list[tuple[object, ...]] | Exception
        ] = {}
        self.succeeded = 0

    def __call__(self, sql: str, params: Sequence[object] | None) -> list[tuple[object, ...]]:
        key = (sql, None if params is None else tuple(params))
        if key in self._seen:
            found = self._seen[key]
            if isinstance(found, Exception):
                raise found
            return found
        try:
            rows = self._query(sql, params)
        except Exception as exc:
            self._seen[key] = exc
            raise
        self._seen[key] = rows
        self.succeeded += 1
        return rows


def _url(host: str, port: int | None) -> str:
    h = normalize_host(host)
    return h if port is None else f"{h}:{port}"


def detect_dialect(
    family: str,
    host: str,
    query: AuxQuery,
    *,
    port: int | None = None,
    override: str | None = None,
    cache: DialectCache | None = None,
    registry: DialectRegistry | None = None,
) -> DatabaseDialect:
    """The database dialect of a new connection to ``host[:port]`` (aurora-facts §3.2).

    1. ``override`` (``wrapper_dialect``): that dialect, no probing; unknown codes raise
       ``ProgrammingError``.
    2. ``cache``: the code cached for the URL (then the host) within its TTL.
    3. The guess from the host's URL type (:func:`guess_dialect`); ``global-`` and
       ``shardgrp-`` guesses are final.
    4. The probes of the guess's update candidates, in order; the first match wins. An
       Aurora guess is only refined, never confirmed; if nothing matches the guess stands.
       For an unknown family the candidates are :data:`UNKNOWN_CANDIDATES`, a match is then
       refined by its own candidates, and no match raises ``InterfaceError``.

    The result is cached for the URL and the host (a standing guess only when at least one
    probe statement succeeded). A statement shared by several probes runs once per detection.
    """
    reg = registry if registry is not None else DialectRegistry()
    if override is not None and override.strip():
        return reg.get(override)
    url, bare = _url(host, port), normalize_host(host)
    if cache is not None:
        for key in (url, bare):
            code = cache.get(key)
            if code is not None and code in reg:
                return reg.get(code)
    guess, final = _guess(family, classify(host))
    code = guess
    cacheable = True
    if not final:
        probe = _Memoized(query)
        if guess == UNKNOWN:
            matched = _first_match(reg, UNKNOWN_CANDIDATES, probe)
            if matched is None:
                raise InterfaceError(
                    f"cannot detect the database dialect of {url}: no probe of "
                    f"{', '.join(UNKNOWN_CANDIDATES)} matched; set wrapper_dialect"
                )
            code = matched
        refined = _first_match(reg, reg.get(code).update_candidates, probe)
        # A standing guess is cached only if some probe statement got an answer: when all of
        # them failed the connection may simply be broken.
        cacheable = refined is not None or code != guess or probe.succeeded > 0
        code = refined or code
    if cache is not None and cacheable:
        cache.put(url, code)
        if bare != url:
            cache.put(bare, code)
    return reg.get(code)


def _first_match(reg: DialectRegistry, candidates: Sequence[str], query: AuxQuery) -> str | None:
    for candidate in candidates:
        if candidate in reg and reg.get(candidate).is_dialect(query):
            return candidate
    return None
