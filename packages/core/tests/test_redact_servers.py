"""End-to-end redaction: connections through awsdb with DEBUG logging on, against real servers.

Every log record of every logger, every ``repr`` and every error message produced while
connecting (successfully or with a wrong password or a bad property) must be free of the
password and of secret wrapper properties.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

import awsdb
from awsdb.errors import ProgrammingError

IDP_SECRET = "Idp-Pa55-Secret-42"
WRONG_PW = "Wr0ng-Pa55word-17"


def _assert_clean(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text


@pytest.mark.pg
def test_pg_connect_with_debug_logging_leaks_no_secret(
    pg_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    psycopg = pytest.importorskip("psycopg")
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        conn = awsdb.connect(
            psycopg.Connection.connect,
            pg_server.dsn + f" idp_password={IDP_SECRET}",
            plugins="execute_time,connect_time",
        )
        try:
            texts.append(repr(conn))
            cur = conn.cursor()
            cur.execute("SELECT 1")
            assert cur.fetchall() == [(1,)]
            texts.append(repr(cur))
        finally:
            conn.close()
        with pytest.raises(psycopg.OperationalError) as bad_login:
            awsdb.connect(
                psycopg.Connection.connect,
                f"host={pg_server.host} port={pg_server.port} user={pg_server.user} "
                f"dbname={pg_server.database} password={WRONG_PW}",
                plugins="",
            )
        texts.append(str(bad_login.value))
        with pytest.raises(ProgrammingError) as bad_prop:
            awsdb.connect(
                psycopg.Connection.connect,
                pg_server.dsn,
                idp_password=[IDP_SECRET],
                plugins="",
            )
        texts.append(str(bad_prop.value))
    assert "idp_password" in str(bad_prop.value)
    assert caplog.records, "DEBUG logging produced records"
    texts.append(caplog.text)
    texts.extend(r.getMessage() for r in caplog.records)
    _assert_clean("\n".join(texts), pg_server.password, IDP_SECRET, WRONG_PW)


@pytest.mark.mysql
def test_mysql_connect_with_debug_logging_leaks_no_secret(
    mysql_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    connector = pytest.importorskip("mysql.connector")
    with caplog.at_level(logging.DEBUG):
        conn = awsdb.connect(
            connector.connect, mysql_server.dsn, plugins="execute_time", use_pure=True
        )
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            assert cur.fetchall() == [(1,)]
            shown = repr(conn)
        finally:
            conn.close()
    assert caplog.records
    _assert_clean(
        "\n".join([shown, caplog.text, *(r.getMessage() for r in caplog.records)]),
        mysql_server.password,
    )
