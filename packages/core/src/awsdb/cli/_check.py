"""``awsdb check DSN``: connect through awsdb and show what it sees of the database.

It prints the driver, the detected database dialect, the server version, the instance the
connection landed on with its role, and for a cluster the topology as awsdb reads it (the
dialect's own topology query, the same one the topology monitor runs) as an aligned table;
``--json`` prints the same as one JSON object.

The DSN is a libpq ``key=value`` string or a ``postgresql://`` URL (driver psycopg), or a
``mysql://`` / ``mariadb://`` URL (driver mysql-connector-python); ``--driver`` picks the
driver when the DSN does not say (a ``key=value`` string means PostgreSQL by default).
Further ``key=value`` arguments are connection properties with the names of
:func:`awsdb.connect` and override the DSN. No plugin is loaded unless ``plugins=`` names
some (an authentication plugin such as ``iam``, for example). ``connect_timeout`` defaults
to 10 seconds. Passwords and other secrets are never printed.

Exit status:

- 0: connected; the report is printed. A server that is not a cluster (plain PostgreSQL or
  MySQL, RDS single instance) also exits 0: the report says ``not a cluster: <dialect>``
  and shows the single host.
- 1: connected, but the check failed: the cluster's topology has no writer, or a query of
  the check itself failed.
- 2: bad input: a DSN that cannot be parsed, an invalid property value, a driver that does
  not match the DSN.
- 3: the driver package is not installed.
- 4: the server cannot be reached (connection refused, timeout, unknown host): the message
  names ``host:port``.
- 5: authentication failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from awsdb.cli._render import format_table

if TYPE_CHECKING:
    from awsdb._connection import AwsWrapperConnection
    from awsdb._service import Services
    from awsdb.dialects import DatabaseDialect
    from awsdb.drivers import DriverDialect
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties

__all__ = [
    "EXIT_AUTH",
    "EXIT_CHECK_FAILED",
    "EXIT_INPUT",
    "EXIT_MISSING_DRIVER",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "CheckError",
    "CheckReport",
    "InstanceRow",
    "Target",
    "add_check_parser",
    "parse_properties",
    "parse_target",
    "render_json",
    "render_text",
]

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_INPUT = 2
EXIT_MISSING_DRIVER = 3
EXIT_UNREACHABLE = 4
EXIT_AUTH = 5

_DEFAULT_CONNECT_TIMEOUT_S = 10
_DRIVERS: Mapping[str, tuple[str, str, str]] = {
    # --driver value: (distribution, module to import, extra of awsdb-core)
    "pg": ("psycopg", "psycopg", "pg"),
    "mysql": ("mysql-connector-python", "mysql.connector", "mysql"),
}
_READ_BY_CHECK = (
    "cluster_id",
    "cluster_instance_host_pattern",
    "global_cluster_instance_host_patterns",
)
_ERROR_KINDS: Mapping[int, str] = {
    EXIT_CHECK_FAILED: "check_failed",
    EXIT_INPUT: "bad_input",
    EXIT_MISSING_DRIVER: "missing_driver",
    EXIT_UNREACHABLE: "unreachable",
    EXIT_AUTH: "authentication_failed",
}


class CheckError(Exception):
    """A failure of ``awsdb check`` with its exit status; the message is already redacted."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    @property
    def kind(self) -> str:
        """A stable name of the failure (``unreachable``, ``authentication_failed`` ...)."""
        return _ERROR_KINDS.get(self.exit_code, "error")


# --- input ---------------------------------------------------------------------------------


def parse_properties(items: Sequence[str]) -> dict[str, str]:
    """``key=value`` command-line arguments as a dict (a later key wins).

    An item without ``=`` or with an empty key is a :class:`CheckError` (exit 2) that names
    the item's position, never its text (it may hold a password).
    """
    out: dict[str, str] = {}
    for position, item in enumerate(items, start=1):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CheckError(
                f"property argument {position} is not key=value "
                "(give connection properties as key=value, e.g. connect_timeout=5)",
                EXIT_INPUT,
            )
        out[key] = value
    return out


@dataclass(frozen=True)
class Target:
    """What ``awsdb check`` connects to: the driver, the DSN and the property overrides."""

    driver: str
    """``pg`` or ``mysql``."""
    dsn: str
    overrides: Mapping[str, str] = field(default_factory=dict)


def parse_target(dsn: str, driver: str | None, properties: Mapping[str, str]) -> Target:
    """Check the DSN's syntax and pick the driver (:class:`CheckError` with exit 2 on bad
    input; messages never quote the DSN).

    The driver is ``driver`` when given (it must agree with a URL's scheme), else the URL's
    scheme (``postgresql``/``postgres`` → ``pg``, ``mysql``/``mariadb`` → ``mysql``), else
    ``pg`` for a libpq ``key=value`` string.
    """
    from awsdb._dsn import parse_conninfo
    from awsdb.errors import Error

    if driver is not None and driver not in _DRIVERS:
        raise CheckError(f"invalid --driver {driver!r}; allowed: {', '.join(_DRIVERS)}", EXIT_INPUT)
    if not dsn.strip():
        raise CheckError(
            "empty DSN: give a libpq 'host=... user=...' string, a postgresql:// or a mysql:// URL",
            EXIT_INPUT,
        )
    try:
        parse_conninfo(dsn)
    except Error as exc:
        raise CheckError(f"cannot parse the DSN: {exc}", EXIT_INPUT) from None
    scheme = _scheme(dsn)
    implied = {"postgresql": "pg", "postgres": "pg", "mysql": "mysql", "mariadb": "mysql"}.get(
        scheme or ""
    )
    if driver is not None and implied is not None and driver != implied:
        raise CheckError(
            f"--driver {driver} does not match the DSN's {scheme}:// scheme "
            f"(which means --driver {implied})",
            EXIT_INPUT,
        )
    return Target(driver or implied or "pg", dsn, dict(properties))


def _scheme(dsn: str) -> str | None:
    head, sep, _ = dsn.strip().partition("://")
    if not sep:
        return None
    return head.split("+", 1)[0].lower()


# --- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceRow:
    """One instance of the topology."""

    instance: str | None
    """The instance identifier reported by the server."""
    host: str
    port: int | None
    role: str
    """``writer``, ``reader`` or ``unknown``."""
    weight: int | None = None
    last_update: datetime | None = None
    connected: bool = False
    lag_ms: float | None = None
    """Replica lag in milliseconds, when the dialect's topology reports it (Aurora)."""
    """True for the instance the check's connection is on."""


@dataclass(frozen=True)
class CheckReport:
    """What ``awsdb check`` found; rendered by :func:`render_text` and :func:`render_json`."""

    driver: str
    """The awsdb driver dialect code (``psycopg``, ``mysql-connector-python``)."""
    driver_version: str | None
    dialect: str
    """The detected database dialect code (``aurora-pg``, ``pg``, ...)."""
    server_version: str | None
    host: str
    """The host the connection was opened to (as named in the DSN)."""
    port: int | None
    role: str
    """The connected instance's role: ``writer``, ``reader`` or ``unknown``."""
    instance: str | None = None
    """The connected instance's identifier (clusters only)."""
    cluster: bool = False
    """True when the dialect has a topology (an Aurora or Multi-AZ cluster)."""
    cluster_id: str | None = None
    topology: tuple[InstanceRow, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """False when a cluster's topology has no writer."""
        return not self.cluster or any(r.role == "writer" for r in self.topology)


def _address(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.strftime("%Y-%m-%d %H:%M:%S")


def render_text(report: CheckReport) -> str:
    """The report as text: ``label  value`` lines, then the topology as an aligned table."""
    driver = report.driver + (f" {report.driver_version}" if report.driver_version else "")
    where = _address(report.host, report.port)
    if report.instance is not None:
        connected = f"{report.instance} ({report.role}) via {where}"
    else:
        connected = f"{where} ({report.role})"
    lines = [
        ("driver", driver),
        ("dialect", report.dialect),
        ("server", report.server_version or "unknown"),
        ("connected", connected),
    ]
    if report.cluster:
        writers = sum(1 for r in report.topology if r.role == "writer")
        count = len(report.topology)
        lines.append(
            (
                "cluster",
                f"{count} instance{'s' if count != 1 else ''}, "
                f"{writers} writer{'s' if writers != 1 else ''}"
                + (f" (cluster id {report.cluster_id})" if report.cluster_id else ""),
            )
        )
    width = max(len(label) for label, _ in lines)
    out = [f"{label.ljust(width)}  {value}" for label, value in lines]
    if report.cluster:
        out.append("")
        with_lag = any(r.lag_ms is not None for r in report.topology)
        columns = ["instance", "host", "port", "role", "weight"]
        columns += ["lag ms"] if with_lag else []
        columns += ["last update"]
        rows = []
        for r in report.topology:
            row = [
                (r.instance or "?") + (" *" if r.connected else ""),
                r.host,
                "" if r.port is None else str(r.port),
                r.role,
                "" if r.weight is None else str(r.weight),
            ]
            if with_lag:
                row.append("" if r.lag_ms is None else f"{r.lag_ms:g}")
            row.append(_when(r.last_update))
            rows.append(row)
        out.append(format_table(columns, rows))
        if any(r.connected for r in report.topology):
            out.append("(* the instance this connection is on)")
    else:
        out.append(f"not a cluster: {report.dialect} (single host {where}, {report.role})")
    out.extend(f"note: {n}" for n in report.notes)
    return "\n".join(out)


def _row_json(row: InstanceRow) -> dict[str, object]:
    return {
        "instance": row.instance,
        "host": row.host,
        "port": row.port,
        "role": row.role,
        "weight": row.weight,
        "lag_ms": row.lag_ms,
        "last_update": None if row.last_update is None else row.last_update.isoformat(),
        "connected": row.connected,
    }


def report_json(report: CheckReport) -> dict[str, object]:
    """The report as a JSON-ready dict."""
    return {
        "ok": report.ok,
        "driver": report.driver,
        "driver_version": report.driver_version,
        "dialect": report.dialect,
        "server_version": report.server_version,
        "connected": {
            "host": report.host,
            "port": report.port,
            "instance": report.instance,
            "role": report.role,
        },
        "cluster": report.cluster,
        "cluster_id": report.cluster_id,
        "topology": [_row_json(r) for r in report.topology],
        "notes": list(report.notes),
    }


def render_json(report: CheckReport) -> str:
    """The report as one JSON object (indented)."""
    return json.dumps(report_json(report), indent=2)


def error_json(error: CheckError) -> str:
    """A failure as one JSON object: ``{"ok": false, "error": kind, "message": ...}``."""
    return json.dumps(
        {"ok": False, "error": error.kind, "exit_code": error.exit_code, "message": error.message},
        indent=2,
    )


# --- running the check ---------------------------------------------------------------------


def _load_driver(driver: str) -> tuple[Callable[..., Any], str | None]:
    """The driver's connect function and its installed version (exit 3 when missing)."""
    import importlib
    import importlib.metadata as md

    distribution, module_name, extra = _DRIVERS[driver]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise CheckError(
            f"the {distribution} package is not installed (needed for --driver {driver}): "
            f"pip install 'awsdb-core[{extra}]'",
            EXIT_MISSING_DRIVER,
        ) from None
    target: Callable[..., Any] = module.Connection.connect if driver == "pg" else module.connect
    try:
        version: str | None = md.version(distribution)
    except md.PackageNotFoundError:
        version = None
    return target, version


def _redactor(services: Services, props: Properties) -> Callable[[str], str]:
    services.secrets.track(props)
    return services.secrets.redact


_MAX_REASON = 200


def _first_line(exc: BaseException) -> str:
    """The error's text on one line, at most about 200 characters (a sentence boundary).

    mysql-connector errors carry ``errno`` and a wrapped ``msg``; others are joined line by
    line (libpq puts the reason and a hint on separate lines)."""
    msg, errno = getattr(exc, "msg", None), getattr(exc, "errno", None)
    if isinstance(msg, str) and msg.strip():
        text = " ".join(msg.split())
        if isinstance(errno, int):
            text = f"{errno}: {text}"
    else:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        text = "; ".join(lines) or type(exc).__name__
    if len(text) > _MAX_REASON:
        cut = text.rfind(". ", 0, _MAX_REASON)
        text = text[: cut + 1] if cut > 0 else text[:_MAX_REASON].rstrip() + " ..."
    return text


def _connect_error(
    exc: BaseException, driver: DriverDialect, where: str, user: object
) -> CheckError:
    from awsdb.drivers import ErrorKind
    from awsdb.errors import Error

    if isinstance(exc, Error) and not isinstance(exc, driver.operational_error()):
        return CheckError(_first_line(exc), EXIT_INPUT)  # awsdb's own input checks
    kind = driver.classify(exc)
    if kind is ErrorKind.LOGIN:
        who = f" for user {user!r}" if user else ""
        return CheckError(f"authentication failed{who} at {where}: {_first_line(exc)}", EXIT_AUTH)
    if kind in (ErrorKind.NETWORK, ErrorKind.TIMEOUT):
        timed_out = kind is ErrorKind.TIMEOUT or _is_timeout(exc)
        return CheckError(
            f"cannot connect to {where}{' (timed out)' if timed_out else ''}: {_first_line(exc)}",
            EXIT_UNREACHABLE,
        )
    return CheckError(f"cannot connect to {where}: {_first_line(exc)}", EXIT_CHECK_FAILED)


def _is_timeout(exc: BaseException) -> bool:
    """A connect timeout (psycopg ``ConnectionTimeout``, mysql-connector
    ``ConnectionTimeoutError``, ``TimeoutError``); the driver dialect counts some of them as
    network errors."""
    if isinstance(exc, TimeoutError):
        return True
    return type(exc).__name__ in ("ConnectionTimeout", "ConnectionTimeoutError")


def _server_version(raw: Any) -> str | None:
    info = getattr(raw, "info", None)
    status = getattr(info, "parameter_status", None)
    if callable(status):  # psycopg
        value = status("server_version")
        return f"PostgreSQL {value}" if value else None
    get_info = getattr(raw, "get_server_info", None)
    if callable(get_info):  # mysql-connector
        value = get_info()
        return str(value) if value else None
    return None


# Column of the replica lag (ms) in the topology rows of the dialects that report it
# (aurora-facts: Aurora ``SERVER_ID, is_writer, CPU, lag, LAST_UPDATE_TIMESTAMP``; Global
# Database ``SERVER_ID, is_writer, VISIBILITY_LAG_IN_MSEC, AWS_REGION``).
_LAG_COLUMN: Mapping[str, int] = {
    "aurora-pg": 3,
    "aurora-mysql": 3,
    "global-aurora-pg": 2,
    "global-aurora-mysql": 2,
}


def _lags(dialect: DatabaseDialect, rows: list[tuple[Any, ...]] | None) -> dict[str, float]:
    """Instance id → replica lag (ms) from the rows of the dialect's own topology query."""
    column = _LAG_COLUMN.get(dialect.code)
    out: dict[str, float] = {}
    if column is None or not rows:
        return out
    for row in rows:
        if len(row) <= column or row[0] is None or row[column] is None:
            continue
        ident = row[0]
        if isinstance(ident, bytes | bytearray):
            ident = bytes(ident).decode("utf-8", "replace")
        key = str(ident)
        try:
            out[key] = float(row[column])
        except (TypeError, ValueError):
            continue
    return out


def _topology(
    dialect: DatabaseDialect,
    query: Any,
    props: Properties,
    host: HostInfo,
    default_port: int | None,
    notes: list[str],
) -> tuple[list[HostInfo], dict[str, float]]:
    """The dialect's topology (as the topology monitor reads it) and the replica lags its
    rows carry (read from the same round trip: the query function records them)."""
    from awsdb.errors import ProgrammingError
    from awsdb.topology import instance_pattern

    if dialect.code.startswith("global-"):
        pattern = str(props.get("global_cluster_instance_host_patterns") or "")
        if not pattern:
            raise CheckError(
                f"dialect {dialect.code} needs global_cluster_instance_host_patterns "
                "(region:host-pattern,...) to show the topology",
                EXIT_INPUT,
            )
    else:
        try:
            pattern = instance_pattern(props, host.host)
        except ProgrammingError:
            pattern = "?"
            notes.append(
                "the instance host names cannot be derived from "
                f"{host.host!r}: instance ids are shown; set cluster_instance_host_pattern "
                "(e.g. '?.abc123.us-east-1.rds.amazonaws.com') to see their endpoints"
            )
    port = host.port if host.port is not None else default_port
    seen: list[tuple[Any, ...]] | None = None

    def recording(sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        nonlocal seen
        rows: list[tuple[Any, ...]] = query(sql, params)
        if sql == dialect.TOPOLOGY_SQL:
            seen = rows
        return rows

    try:
        hosts = dialect.query_topology(recording, host_pattern=pattern, default_port=port)
    except ProgrammingError as exc:
        raise CheckError(str(exc), EXIT_INPUT) from None
    return hosts, _lags(dialect, seen)


def _report(
    conn: AwsWrapperConnection, driver_version: str | None, props: Properties
) -> CheckReport:
    from awsdb import rds
    from awsdb.hosts import HostRole

    service = conn.plugin_service
    raw = service.current_connection
    host = service.current_host
    assert host is not None
    driver = service.driver
    dialect = service.detect_dialect(raw, host)
    query = service.aux_query(raw)
    server_version = _server_version(raw)
    notes: list[str] = []
    if not dialect.supports_topology:
        role = "reader" if dialect.is_reader(query) else "writer"
        return CheckReport(
            driver=driver.code,
            driver_version=driver_version,
            dialect=dialect.code,
            server_version=server_version,
            host=host.host,
            port=host.port,
            role=role,
        )
    hosts, lags = _topology(dialect, query, props, host, driver.default_port, notes)
    ident = dialect.instance_id(query)
    instance = ident[0] if ident is not None else None
    here = next(
        (
            h
            for h in hosts
            if instance is not None and (h.host_id == instance or h.matches(instance))
        ),
        None,
    )
    if here is not None:
        role = here.role.value
    else:
        role = "reader" if dialect.is_reader(query) else "writer"
        if hosts:
            notes.append(f"the connected instance {instance!r} is not in the topology")
    if not hosts:
        notes.append("the topology has no writer (the cluster is failing over, or is broken)")
    ordered = sorted(hosts, key=lambda h: (h.role is not HostRole.WRITER, h.host_id or h.host))
    rows = tuple(
        InstanceRow(
            instance=h.host_id,
            host=h.host,
            port=h.port,
            role=h.role.value,
            weight=h.weight,
            last_update=h.last_update,
            connected=h is here,
            lag_ms=lags.get(h.host_id) if h.host_id is not None else None,
        )
        for h in ordered
    )
    configured = props.get("cluster_id")
    cluster_id = str(configured) if configured else rds.cluster_id_for(host.host, host.port)
    return CheckReport(
        driver=driver.code,
        driver_version=driver_version,
        dialect=dialect.code,
        server_version=server_version,
        host=host.host,
        port=host.port,
        role=role,
        instance=instance,
        cluster=True,
        cluster_id=cluster_id,
        topology=rows,
        notes=tuple(notes),
    )


def run_check(target: Target) -> CheckReport:
    """Connect as ``target`` says, build the report and close the connection.

    Raises :class:`CheckError` (with the exit status) on every expected failure.
    """
    import awsdb
    from awsdb._service import get_services
    from awsdb.errors import Error
    from awsdb.properties import Properties

    services = get_services()
    overrides: dict[str, object] = dict(target.overrides)
    try:
        props = Properties.parse(target.dsn, overrides, services.properties)
    except Error as exc:
        raise CheckError(_first_line(exc), EXIT_INPUT) from None
    redact = _redactor(services, props)
    if props.get("connect_timeout", None) is None:
        overrides["connect_timeout"] = _DEFAULT_CONNECT_TIMEOUT_S
    if props.get("plugins", None) is None:
        overrides["plugins"] = ""
        # read by the check itself, not by the (plugin-less) connection: not passed on, so
        # that awsdb does not warn that they have no effect
        for name in _READ_BY_CHECK:
            overrides[name] = None
    try:
        connect_fn, version = _load_driver(target.driver)
        driver = services.drivers.for_target(
            connect_fn, str(props.get("wrapper_driver_dialect") or "") or None
        )
        try:
            pairs = props.hosts()
        except Error as exc:
            raise CheckError(_first_line(exc), EXIT_INPUT) from None
        if not pairs:
            raise CheckError(
                "the DSN names no host (give host=... or a URL with a host)", EXIT_INPUT
            )
        first_host, first_port = pairs[0]
        where = _address(first_host, first_port if first_port is not None else driver.default_port)
        try:
            conn = awsdb.connect(connect_fn, target.dsn, **overrides)
        except Exception as exc:
            raise _connect_error(exc, driver, where, props.get("user")) from None
        try:
            return _report(conn, version, props)
        except CheckError:
            raise
        except Exception as exc:
            kind = driver.classify(exc)
            from awsdb.drivers import ErrorKind

            code = EXIT_UNREACHABLE if kind is ErrorKind.NETWORK else EXIT_CHECK_FAILED
            raise CheckError(
                f"the check's queries on {where} failed: {_first_line(exc)}", code
            ) from None
        finally:
            with contextlib.suppress(Exception):  # lost during the check: nothing to close
                conn.close()
    except CheckError as exc:
        raise CheckError(redact(exc.message), exc.exit_code) from None


def cmd_check(args: argparse.Namespace) -> int:
    """The ``awsdb check`` command: print the report (or the failure); return the status."""
    try:
        target = parse_target(args.dsn, args.driver, parse_properties(args.properties))
        report = run_check(target)
    except CheckError as exc:
        if args.json:
            print(error_json(exc))
        print(f"awsdb check: {exc.message}", file=sys.stderr)
        return exc.exit_code
    print(render_json(report) if args.json else render_text(report))
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


_EPILOG = """\
exit status: 0 connected (also for a server that is not a cluster: "not a cluster: <dialect>"),
1 check failed (no writer in the topology), 2 bad input (DSN, property, --driver),
3 driver package not installed, 4 server unreachable (refused, timeout, unknown host),
5 authentication failed.
examples:
  awsdb check "host=db.cluster-xyz.us-east-1.rds.amazonaws.com user=app dbname=app"
  awsdb check mysql://app@db.cluster-xyz.us-east-1.rds.amazonaws.com/app --json
  awsdb check host=10.0.0.5 cluster_instance_host_pattern='?.xyz.eu-west-1.rds.amazonaws.com'
"""


def add_check_parser(sub: Any) -> None:
    """Add the ``check`` sub-command to an ``add_subparsers`` object."""
    p = sub.add_parser(
        "check",
        help="connect through awsdb and show the dialect and the cluster topology",
        description=(
            "Connect through awsdb and print the driver, the detected database dialect,\n"
            "the server version, the connected instance and its role, and the cluster\n"
            "topology. No plugin is loaded unless plugins=... is given; connect_timeout\n"
            "defaults to 10 s. Passwords are never printed."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "dsn",
        metavar="DSN",
        help="libpq 'key=value' string, postgresql:// URL, or mysql:// URL",
    )
    p.add_argument(
        "properties",
        metavar="KEY=VALUE",
        nargs="*",
        help="connection properties (the names of awsdb.connect), overriding the DSN",
    )
    p.add_argument(
        "--driver",
        choices=sorted(_DRIVERS),
        help="pg (psycopg) or mysql (mysql-connector-python); default: from the DSN, else pg",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_check)
