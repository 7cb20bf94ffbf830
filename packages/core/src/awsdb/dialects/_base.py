"""The database dialect base class and the shared topology post-processing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import ClassVar, NamedTuple

from awsdb.errors import ProgrammingError, UnsupportedOperationError
from awsdb.hosts import HostInfo, HostRole
from awsdb.rds import HostPattern, instance_name_of, parse_host_pattern

__all__ = [
    "AuxQuery",
    "BlueGreenRow",
    "DatabaseDialect",
    "TopologyRow",
    "build_topology",
    "driver_version",
    "global_topology",
    "multi_az_topology",
    "parse_global_host_patterns",
    "truthy",
]

AuxQuery = Callable[[str, Sequence[object] | None], list[tuple[object, ...]]]
"""Runs one auxiliary statement and returns all its rows.

Provided by the driver dialect: it runs the statement on a raw connection under
``auxiliary_query_timeout_sec``, leaves the transaction state as it found it and raises the
driver's exceptions on failure. With ``params=None`` the SQL is sent as is (no placeholder
processing, so ``%`` in ``LIKE`` patterns is literal); with parameters it uses the driver's
``%s`` placeholders.
"""

BlueGreenRow = tuple[object, ...]
"""One blue/green metadata row: ``(version, endpoint, port, role, status)``."""


@lru_cache(maxsize=1)
def driver_version() -> str:
    """The installed awsdb-core version (read lazily from the distribution metadata)."""
    from importlib import metadata

    try:
        return metadata.version("awsdb-core")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def truthy(value: object) -> bool:
    """A SQL boolean-ish value as ``bool``: ``True``/``1``/``'1'``/``'ON'``/``'true'``/``'t'``."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "on", "true", "t", "yes", "y")
    try:  # Decimal and other numeric types, without importing decimal
        return float(value) != 0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return bool(value)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _first_value(rows: list[tuple[object, ...]]) -> object:
    if not rows or not rows[0]:
        return None
    return rows[0][0]


class TopologyRow(NamedTuple):
    """One topology row, reduced to what post-processing needs."""

    instance_id: str | None
    """Instance identifier substituted for ``?`` in the host pattern."""
    is_writer: bool
    last_update: datetime | None = None
    port: int | None = None
    """Port reported by the row itself (Multi-AZ); the pattern's port still wins."""
    host_id: str | None = None
    """Identity recorded as ``HostInfo.host_id``; defaults to ``instance_id``."""


def _timestamp_key(ts: datetime | None) -> float:
    if ts is None:
        return float("-inf")
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.timestamp()


def build_topology(
    rows: Iterable[TopologyRow],
    pattern: HostPattern | Callable[[TopologyRow], HostPattern],
    default_port: int | None,
) -> list[HostInfo]:
    """Turn topology rows into hosts (aurora-facts §3.5).

    - host name: the pattern with ``?`` replaced by the instance id; the port from the
      pattern, else the row's port, else ``default_port``; the id is recorded as an alias.
      Rows without an instance id are skipped (a host named ``?.domain`` cannot be reached);
    - writer: no writer row → ``[]`` (the topology is invalid); several → the one with the
      latest ``last_update`` (``None`` counts as oldest; first one on ties);
    - duplicate host names collapse, the last row wins; a reader row naming the chosen
      writer's host is dropped (the writer row is authoritative);
    - order: readers first (in row order), writer last.
    """
    writers: list[HostInfo] = []
    readers: dict[str, HostInfo] = {}
    for row in rows:
        if not row.instance_id:
            continue
        pat = pattern if isinstance(pattern, HostPattern) else pattern(row)
        port = pat.port
        if port is None:
            port = row.port if row.port is not None else default_port
        info = HostInfo(
            host=pat.host_for(row.instance_id),
            port=port,
            role=HostRole.WRITER if row.is_writer else HostRole.READER,
            host_id=row.host_id or row.instance_id,
            aliases=frozenset({row.instance_id}),
            last_update=row.last_update,
        )
        if row.is_writer:
            writers.append(info)
        else:
            readers.pop(info.host, None)
            readers[info.host] = info
    if not writers:
        return []
    writer = max(writers, key=lambda h: _timestamp_key(h.last_update))
    readers.pop(writer.host, None)
    return [*readers.values(), writer]


class DatabaseDialect:
    """SQL and behaviour of one database kind. One subclass per ``code``.

    Dialects are stateless: one instance can serve every connection. Class attributes hold
    the exact SQL texts; methods take an :data:`AuxQuery` and never touch raw connections.
    """

    code: ClassVar[str]
    family: ClassVar[str]  # "pg" | "mysql"
    default_port: ClassVar[int]
    update_candidates: ClassVar[tuple[str, ...]] = ()
    supports_topology: ClassVar[bool] = False

    HOST_ALIAS_SQL: ClassVar[str]
    INSTANCE_ID_SQL: ClassVar[str]
    IS_READER_SQL: ClassVar[str]
    TOPOLOGY_SQL: ClassVar[str | None] = None
    WRITER_CHECK_SQL: ClassVar[str | None] = None
    BLUE_GREEN_EXISTS_SQL: ClassVar[str | None] = None
    BLUE_GREEN_STATUS_SQL: ClassVar[str | None] = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code!r}>"

    # --- detection ------------------------------------------------------------------------
    def is_dialect(self, query: AuxQuery) -> bool:
        """Run this dialect's probe(s); ``True`` on a match. Any exception gives ``False``."""
        try:
            return self._probe(query)
        except Exception:
            return False

    def _probe(self, query: AuxQuery) -> bool:
        raise NotImplementedError

    # --- auxiliary queries ----------------------------------------------------------------
    def host_alias(self, query: AuxQuery) -> str | None:
        """``"host:port"`` as the server names itself, or ``None`` when it cannot say
        (e.g. PostgreSQL over a Unix socket, where the address is NULL)."""
        alias = _text(_first_value(query(self.HOST_ALIAS_SQL, None)))
        if not alias or alias.startswith(":"):
            return None
        return alias

    def instance_id(self, query: AuxQuery) -> tuple[str, str] | None:
        """The two columns of the instance-id query, ``(id, name)``, or ``None`` without a
        row or when the id is NULL."""
        rows = query(self.INSTANCE_ID_SQL, None)
        if not rows or len(rows[0]) < 2:
            return None
        ident, name = _text(rows[0][0]), _text(rows[0][1])
        if not ident:
            return None
        return ident, name or ident

    def is_reader(self, query: AuxQuery) -> bool:
        """True when the connected instance is read-only (a reader / standby)."""
        return truthy(_first_value(query(self.IS_READER_SQL, None)))

    def writer_check(self, query: AuxQuery) -> bool:
        """True when the connected instance is the cluster's writer.

        Dialects without a dedicated writer-check query answer ``not is_reader``.
        """
        if self.WRITER_CHECK_SQL is None:
            return not self.is_reader(query)
        return bool(query(self.WRITER_CHECK_SQL, None))

    def query_topology(
        self, query: AuxQuery, *, host_pattern: str, default_port: int | None
    ) -> list[HostInfo]:
        """The cluster's hosts, readers first and writer last; ``[]`` when the topology is
        invalid (no writer). ``UnsupportedOperationError`` for dialects without topology."""
        if not self.supports_topology or self.TOPOLOGY_SQL is None:
            raise UnsupportedOperationError(f"database dialect {self.code!r} has no topology")
        pattern = parse_host_pattern(host_pattern)
        rows = query(self.TOPOLOGY_SQL, None)
        return build_topology(self._topology_rows(query, rows), pattern, default_port)

    def _topology_rows(
        self, query: AuxQuery, rows: list[tuple[object, ...]]
    ) -> Iterable[TopologyRow]:
        """Aurora layout: ``SERVER_ID, is_writer, CPU, lag, LAST_UPDATE_TIMESTAMP``."""
        for row in rows:
            ts = row[4] if len(row) > 4 else None
            yield TopologyRow(
                instance_id=_text(row[0]),
                is_writer=truthy(row[1]),
                last_update=ts if isinstance(ts, datetime) else None,
            )

    def blue_green_status(self, query: AuxQuery) -> list[BlueGreenRow] | None:
        """Blue/green metadata rows ``(version, endpoint, port, role, status)``.

        ``None`` when the dialect has no blue/green metadata or the server does not offer it
        (the availability check fails or returns nothing). Errors of the status query itself
        propagate (the caller tells a lost connection from a missing table).
        """
        if self.BLUE_GREEN_EXISTS_SQL is None or self.BLUE_GREEN_STATUS_SQL is None:
            return None
        try:
            exists = query(self.BLUE_GREEN_EXISTS_SQL, None)
        except Exception:
            return None
        if not exists or _first_value(exists) is None:
            return None
        sql = self.BLUE_GREEN_STATUS_SQL.replace("{DRIVER_VERSION}", driver_version())
        return [tuple(r) for r in query(sql, None)]


def parse_global_host_patterns(text: str) -> dict[str, HostPattern]:
    """Parse ``global_cluster_instance_host_patterns``: ``region:host-pattern[:port],...``."""
    out: dict[str, HostPattern] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        region, sep, rest = entry.partition(":")
        if not sep or not region.strip() or not rest.strip():
            raise ProgrammingError(
                f"global_cluster_instance_host_patterns={text!r}: entry {entry!r} is not "
                "'region:host-pattern[:port]'"
            )
        out[region.strip().lower()] = parse_host_pattern(rest.strip())
    if not out:
        raise ProgrammingError(
            "global_cluster_instance_host_patterns is empty; expected "
            "'region:host-pattern[:port],...'"
        )
    return out


def global_topology(
    rows: list[tuple[object, ...]], host_pattern: str, default_port: int | None
) -> list[HostInfo]:
    """Global Database topology from ``SERVER_ID, is_writer, lag, AWS_REGION`` rows.

    ``host_pattern`` is ``region:host-pattern[:port],...``; each row takes its region's
    pattern, and a row whose region has no pattern raises ``ProgrammingError``. Rows carry
    no timestamp, so among several writer rows the first wins.
    """
    patterns = parse_global_host_patterns(host_pattern)
    regions: dict[str, str] = {}
    parsed: list[TopologyRow] = []
    for row in rows:
        ident = _text(row[0])
        if not ident:
            continue
        region = (_text(row[3]) or "").lower()
        if region not in patterns:
            raise ProgrammingError(
                f"global_cluster_instance_host_patterns has no pattern for region {region!r} "
                f"of instance {ident!r}; known regions: {', '.join(sorted(patterns))}"
            )
        regions[ident] = region
        parsed.append(TopologyRow(instance_id=ident, is_writer=truthy(row[1])))
    return build_topology(parsed, lambda r: patterns[regions[r.instance_id or ""]], default_port)


class GlobalTopologyMixin:
    """Topology and region lookup shared by the Global Database dialects of both engines."""

    TOPOLOGY_SQL: ClassVar[str | None]
    REGION_SQL: ClassVar[str]

    def query_topology(
        self, query: AuxQuery, *, host_pattern: str, default_port: int | None
    ) -> list[HostInfo]:
        """Global topology; the pattern of each row is chosen by its ``AWS_REGION``."""
        assert self.TOPOLOGY_SQL is not None
        return global_topology(query(self.TOPOLOGY_SQL, None), host_pattern, default_port)

    def region_of_instance(self, query: AuxQuery, instance_id: str) -> str | None:
        """The AWS region of ``instance_id`` in the global cluster."""
        return _text(_first_value(query(self.REGION_SQL, (instance_id,))))


def _port(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(value)
    if text is not None and text.strip().isdigit():
        return int(text.strip())
    return None


def multi_az_topology(
    rows: list[tuple[object, ...]],
    writer_id: str | None,
    pattern: HostPattern,
    default_port: int | None,
) -> list[HostInfo]:
    """Multi-AZ DB cluster topology from ``id, endpoint, port`` rows.

    The role is writer when the row id equals ``writer_id``; the instance name is the first
    DNS label of ``endpoint`` (through the RDS instance regex); the row's port is used when
    the pattern has none. Without a writer row the topology is invalid (``[]``).
    """
    parsed: list[TopologyRow] = []
    for row in rows:
        ident, endpoint, port = row[0], row[1], row[2] if len(row) > 2 else None
        host_id = _text(ident)
        endpoint_text = (_text(endpoint) or "").strip()
        name = instance_name_of(endpoint_text) or endpoint_text.split(".", 1)[0]
        parsed.append(
            TopologyRow(
                instance_id=name or None,
                is_writer=writer_id is not None and host_id == writer_id,
                port=_port(port),
                host_id=host_id,
            )
        )
    return build_topology(parsed, pattern, default_port)
