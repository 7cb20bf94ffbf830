"""No password or secret property in logs, reprs or error messages (DEBUG logging on)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest

import awsdb
from awsdb.properties import Properties, default_registry

SECRET = "app-secret-pw"


def test_no_secret_in_debug_logs_and_reprs(
    pg_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    conn = awsdb.connect(
        psycopg.Connection.connect, pg_server.dsn, plugins="execute_time,connect_time,dev"
    )
    with conn:
        logging.getLogger("awsdb.test").debug("props are %s", conn.plugin_service.props)
        text = " ".join(
            [caplog.text, repr(conn), repr(conn.cursor()), repr(conn.plugin_service.props)]
        )
        assert caplog.records  # DEBUG output was produced
    assert SECRET not in text


def test_secret_property_values_are_redacted_in_errors() -> None:
    reg = default_registry()
    with pytest.raises(awsdb.ProgrammingError) as info:
        Properties.parse("", {"idp_password": 12345, "failover_mode": "nope"}, reg)
    assert "12345" not in str(info.value)


def test_bad_enum_value_names_property_value_and_allowed() -> None:
    reg = default_registry()
    with pytest.raises(awsdb.ProgrammingError) as info:
        Properties.parse("failover_mode=sideways", {}, reg)
    msg = str(info.value)
    assert "failover_mode" in msg and "sideways" in msg and "strict_writer" in msg


@pytest.mark.parametrize("spelling", ["strict-writer", "strict_writer", " STRICT-WRITER "])
def test_failover_mode_accepts_both_spellings(spelling: str) -> None:
    props = Properties.parse("", {"failover_mode": spelling}, default_registry())
    assert props.get("failover_mode") == "strict_writer"


def test_wrong_type_is_rejected_at_connect(pg_server: Any) -> None:
    with pytest.raises(awsdb.ProgrammingError, match="failure_detection_time_ms"):
        awsdb.connect(
            psycopg.Connection.connect, pg_server.dsn, plugins="", failure_detection_time_ms="soon"
        )


def test_child_and_plugin_loggers_are_filtered(
    pg_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with awsdb.connect(psycopg.Connection.connect, pg_server.dsn, plugins="execute_time"):
        for name in ("awsdb.plugins", "awsdb.properties"):
            logging.getLogger(name).debug("connecting with password=%s", SECRET)
        plugin_log = logging.getLogger("awsdb_someplugin.monitor")  # a plugin module's logger
        from awsdb._service import get_services

        get_services().attach_secrets_filter()  # runs after each plugin module is loaded
        plugin_log.warning("token %s expired", SECRET)
        plugin_log.debug("value is %s", SECRET)
    assert len(caplog.records) >= 3
    assert SECRET not in caplog.text
