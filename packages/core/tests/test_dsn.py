"""Unit tests of awsdb._dsn: libpq key=value strings, postgresql:// and mysql:// URLs."""

from __future__ import annotations

import re

import pytest

from awsdb._dsn import make_conninfo, parse_conninfo
from awsdb.errors import ProgrammingError

# --- libpq key=value ----------------------------------------------------------------------


def test_empty_and_blank_strings_give_empty_dict() -> None:
    assert parse_conninfo("") == {}
    assert parse_conninfo(" \t\n ") == {}


def test_simple_pairs_and_spaces_around_equals() -> None:
    assert parse_conninfo("host=a port = 5432  dbname =app user= u") == {
        "host": "a",
        "port": "5432",
        "dbname": "app",
        "user": "u",
    }


def test_quoted_values_with_escapes() -> None:
    got = parse_conninfo(r"password='it\'s a \\ secret' application_name='x y'")
    assert got == {"password": "it's a \\ secret", "application_name": "x y"}


def test_empty_quoted_value_and_trailing_empty_value() -> None:
    assert parse_conninfo("options='' sslmode=") == {"options": "", "sslmode": ""}


def test_backslash_escape_outside_quotes() -> None:
    assert parse_conninfo(r"host=a\ b") == {"host": "a b"}


def test_quoted_value_followed_directly_by_next_key() -> None:
    assert parse_conninfo("a='x'b=c") == {"a": "x", "b": "c"}


def test_value_after_space_following_equals_like_libpq() -> None:
    # libpq skips whitespace after '=', so the value is the next word
    assert parse_conninfo("a= b=c") == {"a": "b=c"}


def test_later_duplicate_wins() -> None:
    assert parse_conninfo("host=a host=b") == {"host": "b"}


def test_unknown_and_prefixed_keys_are_kept() -> None:
    got = parse_conninfo("topology-monitoring-connect_timeout=3 failover_mode=strict-writer")
    assert got == {"topology-monitoring-connect_timeout": "3", "failover_mode": "strict-writer"}


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("host", 0, "expected '='"),
        ("host=a port", 7, "expected '='"),
        ("host=a =b", 7, "empty key"),
        ("host='abc", 5, "unterminated quoted value"),
        ("host=a\x00", 6, "NUL"),
    ],
)
def test_keyword_errors_name_position_and_expectation(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(ProgrammingError) as info:
        parse_conninfo(text)
    message = str(info.value)
    assert f"position {position}" in message
    assert expected in message


def test_unterminated_quote_in_password_is_not_echoed() -> None:
    with pytest.raises(ProgrammingError) as info:
        parse_conninfo("user=u password='S3cr3t-value host=h")
    assert "S3cr3t" not in str(info.value)
    assert "position 16" in str(info.value)


def test_unquoted_password_with_space_is_not_echoed() -> None:
    # "my pass" unquoted: the second word becomes a key without '='
    with pytest.raises(ProgrammingError) as info:
        parse_conninfo("password=my Hunter2pass host=h")
    assert "Hunter2pass" not in str(info.value)


def test_non_string_input_is_a_programming_error() -> None:
    with pytest.raises(ProgrammingError, match="allowed: a str"):
        parse_conninfo(b"host=a")  # type: ignore[arg-type]


# --- postgresql:// URLs -------------------------------------------------------------------


def test_full_postgresql_url() -> None:
    got = parse_conninfo(
        "postgresql://alice:p%40ss%3Aw0rd@db.example.com:6543/my%20db"
        "?application_name=a%26b&connect_timeout=5"
    )
    assert got == {
        "user": "alice",
        "password": "p@ss:w0rd",
        "host": "db.example.com",
        "port": "6543",
        "dbname": "my db",
        "application_name": "a&b",
        "connect_timeout": "5",
    }


def test_postgres_scheme_and_driver_suffix() -> None:
    assert parse_conninfo("postgres://h/db") == {"host": "h", "dbname": "db"}
    assert parse_conninfo("postgresql+psycopg://h/db") == {"host": "h", "dbname": "db"}


def test_multi_host_url_like_libpq() -> None:
    assert parse_conninfo("postgresql://h1:5432,h2:5433/db") == {
        "host": "h1,h2",
        "port": "5432,5433",
        "dbname": "db",
    }
    assert parse_conninfo("postgresql://h1,h2:5433") == {"host": "h1,h2", "port": ",5433"}
    assert parse_conninfo("postgresql://h1,h2") == {"host": "h1,h2", "port": ","}


def test_ipv6_hosts() -> None:
    assert parse_conninfo("postgresql://[::1]:5432,[fe80::2]/x") == {
        "host": "::1,fe80::2",
        "port": "5432,",
        "dbname": "x",
    }


def test_url_edge_cases() -> None:
    assert parse_conninfo("postgresql://") == {}
    assert parse_conninfo("postgresql:///db") == {"dbname": "db"}
    assert parse_conninfo("postgresql://:5433") == {"port": "5433"}
    assert parse_conninfo("postgresql://h?dbname=x") == {"host": "h", "dbname": "x"}
    assert parse_conninfo("postgresql://%2Fvar%2Frun%2Fpostgresql/db") == {
        "host": "/var/run/postgresql",
        "dbname": "db",
    }
    # empty user / password are not stored, like libpq
    assert parse_conninfo("postgresql://:@h") == {"host": "h"}
    assert parse_conninfo("postgresql://u@h?a=&b=1&") == {
        "user": "u",
        "host": "h",
        "a": "",
        "b": "1",
    }


def test_ssl_true_maps_to_sslmode_require() -> None:
    assert parse_conninfo("postgresql://h?ssl=true") == {"host": "h", "sslmode": "require"}


def test_query_parameters_override_like_libpq_and_keep_prefixed_keys() -> None:
    got = parse_conninfo(
        "postgresql://h/db?wrapper_plugins=failover%2Cefm&monitoring-connect_timeout=3"
    )
    assert got == {
        "host": "h",
        "dbname": "db",
        "wrapper_plugins": "failover,efm",
        "monitoring-connect_timeout": "3",
    }


def test_utf8_percent_decoding() -> None:
    assert parse_conninfo("postgresql://h/%C3%A9t%C3%A9") == {"host": "h", "dbname": "été"}


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("postgresql://[::1/db", 13, "unterminated IPv6"),
        ("postgresql://[]/db", 13, "empty IPv6"),
        ("postgresql://[::1]x/db", 18, "unexpected character"),
        ("postgresql://h/db?a", 18, "without '='"),
        ("postgresql://h/db?a=1=2", 21, "extra '='"),
        ("postgresql://h/db?=1", 18, "empty key"),
        ("postgresql://h/d%zzb", 16, "percent-encoding"),
        ("postgresql://h/d%4", 16, "percent-encoding"),
        ("postgresql://h/d%00", 16, "%00"),
        ("postgresql://h/%ff", 15, "UTF-8"),
    ],
)
def test_url_errors_name_position(text: str, position: int, expected: str) -> None:
    with pytest.raises(ProgrammingError) as info:
        parse_conninfo(text)
    assert f"position {position}" in str(info.value)
    assert expected in str(info.value)


def test_bad_percent_encoding_in_password_is_not_echoed() -> None:
    with pytest.raises(ProgrammingError) as info:
        parse_conninfo("postgresql://u:Sup3rS%zzcret@h/db")
    assert "Sup3r" not in str(info.value)
    assert "zzcret" not in str(info.value)
    assert "position 21" in str(info.value)


# --- mysql:// URLs ------------------------------------------------------------------------


def test_mysql_url() -> None:
    got = parse_conninfo("mysql://root:pw%2F1@127.0.0.1:3307/app?charset=utf8mb4")
    assert got == {
        "user": "root",
        "password": "pw/1",
        "host": "127.0.0.1",
        "port": "3307",
        "database": "app",
        "charset": "utf8mb4",
    }


def test_mysql_url_variants() -> None:
    assert parse_conninfo("mysql+mysqlconnector://h/db") == {"host": "h", "database": "db"}
    assert parse_conninfo("MariaDB://h") == {"host": "h"}
    assert parse_conninfo("mysql://h/db?ssl=true") == {"host": "h", "database": "db", "ssl": "true"}
    assert parse_conninfo("mysql://a:1,b:2/db") == {
        "host": "a,b",
        "port": "1,2",
        "database": "db",
    }


# --- make_conninfo ------------------------------------------------------------------------


def test_make_conninfo_quotes_when_needed() -> None:
    text = make_conninfo(
        {"host": "h", "password": "it's \\ x", "options": "", "port": 5432, "skip": None}
    )
    assert text == r"host=h password='it\'s \\ x' options='' port=5432"
    assert parse_conninfo(text) == {
        "host": "h",
        "password": "it's \\ x",
        "options": "",
        "port": "5432",
    }


@pytest.mark.parametrize("key", ["", "a b", "a=b", "a'b", "a\\b"])
def test_make_conninfo_rejects_bad_keys(key: str) -> None:
    with pytest.raises(ProgrammingError, match=re.escape(repr(key))):
        make_conninfo({key: "v"})


def test_make_conninfo_rejects_nul_values_without_echo() -> None:
    with pytest.raises(ProgrammingError, match="NUL") as info:
        make_conninfo({"password": "abcd\x00efgh"})
    assert "abcd" not in str(info.value)
