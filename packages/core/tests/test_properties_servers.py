"""Real-server tests: parsed properties reach PostgreSQL and MariaDB through the real drivers.

libpq rejects unknown connection keywords, so a successful psycopg connect with
``driver_kwargs()`` proves that every wrapper key (including the ``blue-green-monitoring-``,
``frt-`` and ``limitless-router-monitor-`` families the anchor lets through) is stripped,
while driver keys and their values reach the driver untouched.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from awsdb._dsn import make_conninfo
from awsdb.properties import Properties, default_registry

_WRAPPER_NOISE = (
    " failover_mode=strict-writer wrapper_plugins='failover, efm'"
    " failure_detection_time_ms=1000 connect_timeout=5 socket_timeout=2.5"
    " monitoring-connect_timeout=3 topology-monitoring-socket_timeout=4"
    " blue-green-monitoring-connect_timeout=3 frt-connect_timeout=1"
    " limitless-router-monitor-connect_timeout=1"
)


@pytest.mark.pg
def test_pg_conninfo_driver_kwargs_connect(pg_server: Any) -> None:
    psycopg = pytest.importorskip("psycopg")
    props = Properties.parse(
        pg_server.dsn + _WRAPPER_NOISE, {"application_name": "awsdb props"}, default_registry()
    )
    assert props.get("failover_mode") == "strict_writer"
    assert props.get("plugins") == "failover,efm"
    kwargs = props.driver_kwargs()
    with psycopg.connect(**kwargs) as conn:
        row = conn.execute("SELECT current_user, current_setting('application_name')").fetchone()
    assert row == (pg_server.user, "awsdb props")
    # the same keys rendered back into a libpq string connect too
    with psycopg.connect(make_conninfo(kwargs)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.pg
def test_pg_without_stripping_libpq_rejects_the_wrapper_keys(pg_server: Any) -> None:
    # negative control: what the anchor does with blue-green-monitoring-* keys
    psycopg = pytest.importorskip("psycopg")
    props = Properties.parse(
        pg_server.dsn + " blue-green-monitoring-connect_timeout=3", {}, default_registry()
    )
    with pytest.raises(psycopg.ProgrammingError, match="blue-green-monitoring-connect_timeout"):
        psycopg.connect(make_conninfo(props.raw()))


@pytest.mark.pg
def test_pg_url_with_encoded_password_and_multi_host(pg_server: Any) -> None:
    psycopg = pytest.importorskip("psycopg")
    url = (
        f"postgresql://{quote(pg_server.user, safe='')}:{quote(pg_server.password, safe='')}"
        f"@{pg_server.host}:{pg_server.port},{pg_server.host}:{pg_server.port}"
        f"/{pg_server.database}?application_name=url%20test&failover_mode=reader-or-writer"
        "&topology-monitoring-connect_timeout=2"
    )
    props = Properties.parse(url, {}, default_registry())
    assert props.hosts() == [(pg_server.host, pg_server.port)] * 2
    assert props.get("failover_mode") == "reader_or_writer"
    with psycopg.connect(**props.driver_kwargs()) as conn:
        row = conn.execute("SELECT current_setting('application_name')").fetchone()
    assert row == ("url test",)


@pytest.mark.pg
def test_pg_internal_connection_properties_connect(pg_server: Any) -> None:
    psycopg = pytest.importorskip("psycopg")
    props = Properties.parse(
        pg_server.dsn + " target_session_attrs=standby"
        " topology-monitoring-application_name=topology-monitor",
        {},
        default_registry(),
    )
    # the user's routing preference would make a connect to this primary fail...
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(**props.driver_kwargs(), connect_timeout=5)
    # ...but internal connections drop it, and take their own prefixed values
    internal = props.for_internal("topology-monitoring-")
    assert internal.get("connect_timeout") == 5
    with psycopg.connect(**internal.driver_kwargs()) as conn:
        row = conn.execute("SELECT current_setting('application_name')").fetchone()
    assert row == ("topology-monitor",)


@pytest.mark.mysql
def test_mysql_url_driver_kwargs_connect(mysql_server: Any) -> None:
    connector = pytest.importorskip("mysql.connector")
    url = (
        f"mysql://{quote(mysql_server.user, safe='')}:{quote(mysql_server.password, safe='')}"
        f"@{mysql_server.host}:{mysql_server.port}/{mysql_server.database}"
        "?wrapper_plugins=failover&failover_mode=strict_writer&monitoring-connect_timeout=3"
        "&blue-green-monitoring-connect_timeout=3&charset=utf8mb4"
    )
    props = Properties.parse(url, {"use_pure": True}, default_registry())
    kwargs = props.driver_kwargs()
    assert set(kwargs) == {"user", "password", "host", "port", "database", "charset", "use_pure"}
    # ports stay as given (a string from a URL); the driver dialect converts them
    kwargs["port"] = props.hosts()[0][1]
    conn = connector.connect(**kwargs)
    try:
        cur = conn.cursor()
        cur.execute("SELECT DATABASE(), @@character_set_client")
        assert cur.fetchone() == (mysql_server.database, "utf8mb4")
    finally:
        conn.close()
