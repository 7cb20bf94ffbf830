"""Aurora-shaped names reach local servers through the resolver, for both drivers."""

from __future__ import annotations

from typing import Any

import mysql.connector
import psycopg

import awsdb
from awsdb.resolver import get_resolver

NAME = "instance-1.c0ffee.us-east-1.rds.amazonaws.com"


def test_psycopg_connects_by_name_with_hostaddr(pg_server: Any) -> None:
    with get_resolver().mapped({NAME: "127.0.0.1"}):
        conn = awsdb.connect(
            psycopg.Connection.connect,
            host=NAME,
            port=pg_server.port,
            user="app",
            password=pg_server.password,
            dbname="appdb",
            plugins="",
        )
        with conn:
            assert conn.info.host == NAME  # libpq keeps the name; hostaddr carries the address
            assert conn.plugin_service.current_host.host == NAME
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert get_resolver().override(NAME) is None


def test_mysql_connects_by_name(mysql_server: Any) -> None:
    with get_resolver().mapped({NAME.upper(): "127.0.0.1"}):
        conn = awsdb.connect(
            mysql.connector.connect,
            host=NAME,
            port=mysql_server.port,
            user="app",
            password=mysql_server.password,
            database="appdb",
            plugins="",
        )
        with conn:
            assert conn.plugin_service.current_host.host == NAME
            assert conn.execute("SELECT 1").fetchall() == [(1,)]


def test_resolver_is_lock_free_when_empty() -> None:
    resolver = get_resolver()
    resolver.clear()
    assert resolver.override("anything") is None
    resolver.set("a.example", "127.0.0.9")
    assert resolver.resolve("A.EXAMPLE") == "127.0.0.9"
    assert resolver.snapshot() == {"a.example": "127.0.0.9"}
    resolver.remove("a.example")
    assert resolver.resolve("localhost") == "127.0.0.1"


def test_hidden_name_resolves_to_nothing_without_dns() -> None:
    resolver = get_resolver()
    resolver.clear()
    resolver.set("gone.example", "127.0.0.9")
    resolver.hide("GONE.example")
    assert resolver.override("gone.example") is None
    assert resolver.resolve("gone.example") is None  # no DNS query for a hidden name
    resolver.set("gone.example", "127.0.0.8")  # a new record un-hides it
    assert resolver.resolve("gone.example") == "127.0.0.8"
    resolver.hide("gone.example")
    resolver.remove("gone.example")
    assert resolver.resolve("localhost") == "127.0.0.1"
    assert resolver.snapshot() == {}
