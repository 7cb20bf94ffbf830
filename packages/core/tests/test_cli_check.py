"""``awsdb check``: input parsing, rendering and the failures that need no server."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from awsdb.cli import build_parser, main
from awsdb.cli._check import (
    EXIT_INPUT,
    EXIT_MISSING_DRIVER,
    CheckError,
    CheckReport,
    InstanceRow,
    _first_line,
    error_json,
    parse_properties,
    parse_target,
    render_json,
    render_text,
)
from awsdb.cli._render import format_table


def _cluster_report(**changes: object) -> CheckReport:
    ts = datetime(2026, 12, 7, 23, 40, 1, tzinfo=UTC)
    rows = (
        InstanceRow(
            "instance-1",
            "instance-1.abc.us-east-1.rds.amazonaws.com",
            5432,
            "writer",
            100,
            ts,
            connected=True,
        ),
        InstanceRow(
            "instance-2", "instance-2.abc.us-east-1.rds.amazonaws.com", 5432, "reader", 100, ts
        ),
        InstanceRow(
            "instance-3", "instance-3.abc.us-east-1.rds.amazonaws.com", 5432, "reader", 100, None
        ),
    )
    fields: dict[str, object] = {
        "driver": "psycopg",
        "driver_version": "3.3.9",
        "dialect": "aurora-pg",
        "server_version": "PostgreSQL 15.18",
        "host": "db.cluster-abc.us-east-1.rds.amazonaws.com",
        "port": 5432,
        "role": "writer",
        "instance": "instance-1",
        "cluster": True,
        "cluster_id": "db.cluster-abc.us-east-1.rds.amazonaws.com",
        "topology": rows,
    }
    fields.update(changes)
    return CheckReport(**fields)  # type: ignore[arg-type]


# --- parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "driver", "expected"),
    [
        ("host=db user=u", None, "pg"),
        ("postgresql://u@db/app", None, "pg"),
        ("postgres://u@db/app", None, "pg"),
        ("postgresql+psycopg://u@db/app", None, "pg"),
        ("mysql://u@db/app", None, "mysql"),
        ("MariaDB://u@db/app", None, "mysql"),
        ("host=db user=u", "mysql", "mysql"),
        ("mysql://u@db/app", "mysql", "mysql"),
    ],
)
def test_driver_from_dsn_or_option(dsn: str, driver: str | None, expected: str) -> None:
    target = parse_target(dsn, driver, {"connect_timeout": "3"})
    assert (target.driver, target.dsn, dict(target.overrides)) == (
        expected,
        dsn,
        {"connect_timeout": "3"},
    )


def test_driver_that_contradicts_the_scheme_is_bad_input() -> None:
    with pytest.raises(CheckError, match="does not match the DSN's mysql:// scheme") as info:
        parse_target("mysql://u@db/app", "pg", {})
    assert info.value.exit_code == EXIT_INPUT and info.value.kind == "bad_input"


@pytest.mark.parametrize(
    "dsn",
    [
        "host='unterminated password=hunter2secret",
        "host db",
        "postgresql://u:hunter2secret@[::1/app",
        "mysql://u:hunter2secret@db/app?ssl",
        "   ",
    ],
)
def test_unparsable_dsn_is_bad_input_without_quoting_it(dsn: str) -> None:
    with pytest.raises(CheckError) as info:
        parse_target(dsn, None, {})
    assert info.value.exit_code == EXIT_INPUT
    assert "hunter2secret" not in info.value.message
    assert "DSN" in info.value.message


def test_properties_are_key_value() -> None:
    assert parse_properties(["a=1", "b=", "c=x=y", "a=2"]) == {"a": "2", "b": "", "c": "x=y"}
    with pytest.raises(CheckError, match="property argument 2 is not key=value") as info:
        parse_properties(["a=1", "hunter2secret"])
    assert info.value.exit_code == EXIT_INPUT and "hunter2secret" not in info.value.message
    with pytest.raises(CheckError, match="argument 1"):
        parse_properties(["=value"])


def test_parser_takes_dsn_properties_and_options() -> None:
    args = build_parser().parse_args(
        ["check", "host=db user=u", "connect_timeout=3", "--driver", "pg", "--json"]
    )
    assert (args.dsn, args.properties, args.driver, args.json) == (
        "host=db user=u",
        ["connect_timeout=3"],
        "pg",
        True,
    )
    assert callable(args.func)


# --- rendering -------------------------------------------------------------------------


def test_format_table_aligns_columns() -> None:
    text = format_table(["a", "bb", "c"], [["xxx", "y", ""], ["z", "wwww", "q"]])
    assert text.splitlines() == [
        "a    bb    c",
        "xxx  y",
        "z    wwww  q",
    ]


def test_text_report_of_a_cluster() -> None:
    lines = render_text(_cluster_report()).splitlines()
    assert lines[:5] == [
        "driver     psycopg 3.3.9",
        "dialect    aurora-pg",
        "server     PostgreSQL 15.18",
        "connected  instance-1 (writer) via db.cluster-abc.us-east-1.rds.amazonaws.com:5432",
        "cluster    3 instances, 1 writer (cluster id db.cluster-abc.us-east-1.rds.amazonaws.com)",
    ]
    header = lines[6]
    assert header.split() == ["instance", "host", "port", "role", "weight", "last", "update"]
    table = lines[7:10]
    assert table[0].split() == [
        "instance-1",
        "*",
        "instance-1.abc.us-east-1.rds.amazonaws.com",
        "5432",
        "writer",
        "100",
        "2026-12-07",
        "23:40:01",
        "UTC",
    ]
    assert table[2].split()[-3:] == ["5432", "reader", "100"]  # no last update: left empty
    # aligned: every column starts at the same offset on every line
    for column in ("host", "port", "role", "weight"):
        offset = header.index(column)
        assert all(line[offset - 2 : offset] == "  " for line in table)
    assert lines[10] == "(* the instance this connection is on)"


def test_text_report_of_a_single_server() -> None:
    report = CheckReport(
        driver="mysql-connector-python",
        driver_version=None,
        dialect="mysql",
        server_version=None,
        host="::1",
        port=3306,
        role="writer",
    )
    text = render_text(report)
    assert "connected  [::1]:3306 (writer)" in text
    assert "server     unknown" in text
    assert text.splitlines()[-1] == "not a cluster: mysql (single host [::1]:3306, writer)"
    assert report.ok


def test_text_report_notes_and_no_writer() -> None:
    report = _cluster_report(topology=(), notes=("the topology has no writer",))
    assert not report.ok
    text = render_text(report)
    assert "cluster    0 instances, 0 writers" in text
    assert text.splitlines()[-1] == "note: the topology has no writer"


def test_json_report_has_the_same_content() -> None:
    data = json.loads(render_json(_cluster_report()))
    assert data["ok"] is True
    assert data["dialect"] == "aurora-pg" and data["driver"] == "psycopg"
    assert data["connected"] == {
        "host": "db.cluster-abc.us-east-1.rds.amazonaws.com",
        "port": 5432,
        "instance": "instance-1",
        "role": "writer",
    }
    assert [r["role"] for r in data["topology"]] == ["writer", "reader", "reader"]
    assert data["topology"][0]["last_update"] == "2026-12-07T23:40:01+00:00"
    assert data["topology"][2]["last_update"] is None
    assert data["topology"][0]["connected"] is True


def test_json_error() -> None:
    data = json.loads(error_json(CheckError("cannot connect to h:1: refused", 4)))
    assert data == {
        "ok": False,
        "error": "unreachable",
        "exit_code": 4,
        "message": "cannot connect to h:1: refused",
    }


# --- the command, without a server ------------------------------------------------------


def test_main_bad_dsn_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "host='x password=hunter2secret"]) == EXIT_INPUT
    captured = capsys.readouterr()
    assert "awsdb check: cannot parse the DSN: invalid connection string at position 5" in (
        captured.err
    )
    assert "hunter2secret" not in captured.err + captured.out


def test_main_bad_property_value_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "host=db", "auto_sort_wrapper_plugin_order=maybe", "--json"]) == 2
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["error"] == "bad_input" and "auto_sort_wrapper_plugin_order" in data["message"]


def test_main_no_host_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "user=u dbname=app"]) == EXIT_INPUT
    assert "names no host" in capsys.readouterr().err


def test_missing_driver_package_exits_3() -> None:
    # a real process in which the driver cannot be imported
    code = (
        "import sys; sys.modules['mysql'] = None; sys.modules['mysql.connector'] = None\n"
        "from awsdb.cli import main\n"
        "raise SystemExit(main(['check', 'mysql://u:hunter2secret@127.0.0.1:1/app']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == EXIT_MISSING_DRIVER, proc.stderr
    assert "mysql-connector-python package is not installed" in proc.stderr
    assert "pip install 'awsdb-core[mysql]'" in proc.stderr
    assert "hunter2secret" not in proc.stderr + proc.stdout


class _ConnectorError(Exception):
    """The shape of a mysql-connector error: ``errno`` and a wrapped ``msg``."""

    def __init__(self, errno: int, msg: str) -> None:
        super().__init__(f"{errno}: {msg}")
        self.errno, self.msg = errno, msg


def test_error_reason_on_one_line() -> None:
    libpq = Exception(
        'connection to server at "127.0.0.1", port 1 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
    )
    assert _first_line(libpq) == (
        'connection to server at "127.0.0.1", port 1 failed: Connection refused; '
        "Is the server running on that host and accepting TCP/IP connections?"
    )
    wrapped = _ConnectorError(
        3024,
        "\n    The Read Operation timed out. As a consequence the current connection has "
        "been closed to avoid\n    any unstable behaviour, consider using the reconnect() "
        "option and continue with the current\n    session's workflow.\n    ",
    )
    assert _first_line(wrapped) == "3024: The Read Operation timed out."
    assert _first_line(Exception("x" * 500)) == "x" * 200 + " ..."
    assert _first_line(TimeoutError()) == "TimeoutError"


def test_lag_column_only_when_the_dialect_reports_it() -> None:
    base = _cluster_report()
    rows = tuple(
        InstanceRow(
            r.instance,
            r.host,
            r.port,
            r.role,
            r.weight,
            r.last_update,
            r.connected,
            lag_ms=0.0 if r.role == "writer" else 12.5,
        )
        for r in base.topology
    )
    text = render_text(_cluster_report(topology=rows))
    header = next(line for line in text.splitlines() if line.startswith("instance "))
    assert header.split() == [
        "instance",
        "host",
        "port",
        "role",
        "weight",
        "lag",
        "ms",
        "last",
        "update",
    ]
    table = text.splitlines()[text.splitlines().index(header) + 1 :][:3]
    assert [line.split()[6 if i == 0 else 5] for i, line in enumerate(table)] == [
        "0",
        "12.5",
        "12.5",
    ]
    assert json.loads(render_json(_cluster_report(topology=rows)))["topology"][1]["lag_ms"] == 12.5
    assert json.loads(render_json(base))["topology"][0]["lag_ms"] is None


def test_python_dash_m_awsdb_runs_the_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "awsdb", "check", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: awsdb check" in proc.stdout
