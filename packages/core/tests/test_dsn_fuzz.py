"""Property-based tests of awsdb._dsn: arbitrary and near-valid input, round trips, and
agreement with libpq itself (through psycopg's ``conninfo_to_dict``) where libpq accepts."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from awsdb._dsn import make_conninfo, parse_conninfo
from awsdb.errors import ProgrammingError

_FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_POSITION = re.compile(r"at position (\d+): \S")

# Characters that make parsing interesting: separators, quotes, escapes, URL syntax.
_SYNTAX = " \t\n='\\\"@:/?&,[]%#+"
_ALPHABET = st.sampled_from(list(_SYNTAX + "abc019xyzé\x00\x0b\u00a0"))
_KEY = st.text(alphabet=string.ascii_lowercase + "_-", min_size=1, max_size=12)
_VALUE = st.text(max_size=20).filter(lambda v: "\x00" not in v)


def _check_result_or_error(text: str) -> dict[str, str] | None:
    try:
        result = parse_conninfo(text)
    except ProgrammingError as exc:
        match = _POSITION.search(str(exc))
        assert match is not None, str(exc)
        assert 0 <= int(match.group(1)) <= len(text)
        return None
    assert isinstance(result, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.items())
    return result


@_FUZZ
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_a_positioned_programming_error(text: str) -> None:
    _check_result_or_error(text)


@_FUZZ
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_syntax_heavy_text_parses_or_raises_a_positioned_programming_error(text: str) -> None:
    _check_result_or_error(text)


@_FUZZ
@given(
    st.sampled_from(["postgresql://", "postgres://", "mysql://", "postgresql+psycopg://"]),
    st.text(alphabet=_ALPHABET, max_size=40),
)
def test_url_like_text_parses_or_raises_a_positioned_programming_error(
    scheme: str, rest: str
) -> None:
    _check_result_or_error(scheme + rest)


@_FUZZ
@given(st.dictionaries(_KEY, _VALUE, max_size=6))
@example({"password": "it's \\ a\tsecret", "host": ""})
def test_rendered_conninfo_round_trips(params: dict[str, str]) -> None:
    assert parse_conninfo(make_conninfo(params)) == params


# Upper case and digits: the error messages are lower-case words, so any run of the secret
# found in a message came from the input.
_SECRET = st.text(
    alphabet=string.ascii_uppercase + string.digits + "'\\ =@:/%", min_size=8, max_size=24
).filter(lambda s: sum(c.isalnum() for c in s) >= 8)


@_FUZZ
@given(_SECRET, st.sampled_from(["kv-open-quote", "kv-bare", "url", "url-percent"]))
def test_malformed_input_never_echoes_the_password(secret: str, shape: str) -> None:
    if shape == "kv-open-quote":
        text = f"host=h password='{secret}"
    elif shape == "kv-bare":
        text = f"host=h password={secret} dbname=x"
    elif shape == "url":
        text = f"postgresql://u:{secret}@[h/db"
    else:
        text = f"postgresql://u:{secret}%G@h/db"
    try:
        parse_conninfo(text)
    except ProgrammingError as exc:
        message = str(exc)
        assert secret not in message
        # no alphanumeric run of the secret of length >= 4 shows up either
        for run in re.findall(r"[A-Z0-9]{4,}", secret):
            assert run not in message


# --- differential tests against libpq --------------------------------------------------------

_LIBPQ_KEYS = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
    "sslmode",
    "connect_timeout",
    "target_session_attrs",
]
_LIBPQ_VALUE = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    max_size=15,
)


def _libpq() -> Any:
    psycopg = pytest.importorskip("psycopg")
    from psycopg import conninfo

    return conninfo, psycopg


def _pct(text: str) -> str:
    return "".join(
        c
        if c.isascii() and (c.isalnum() or c in "-._~")
        else "".join(f"%{b:02X}" for b in c.encode())
        for c in text
    )


@_FUZZ
@given(st.dictionaries(st.sampled_from(_LIBPQ_KEYS), _LIBPQ_VALUE, max_size=6))
def test_rendered_conninfo_agrees_with_libpq(params: dict[str, str]) -> None:
    conninfo, _ = _libpq()
    text = make_conninfo(params)
    assert conninfo.conninfo_to_dict(text) == parse_conninfo(text) == params


_WS = st.sampled_from(["", " ", "  ", "\t", "\n"])


@st.composite
def _near_valid_keywords(draw: st.DrawFn) -> str:
    """key=value pairs of real libpq keys with random spacing, quoting and escapes, and
    occasionally a corrupted quote or a missing '='."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(_LIBPQ_KEYS))
        body = draw(st.text(alphabet="aé0 =\\'\t", max_size=8))
        if draw(st.booleans()):
            value = "'" + body.replace("\\", "\\\\").replace("'", "\\'") + "'"
        else:
            value = "".join("\\" + c if c in " \t'\\" else c for c in body)
        if draw(st.integers(0, 9)) == 0:  # corruption
            value = draw(st.sampled_from(["'", "'abc", "\\", "a'b", ""])) + value
        eq = "" if draw(st.integers(0, 19)) == 0 else "="
        parts.append(key + draw(_WS) + eq + draw(_WS) + value)
    return " ".join(parts) + draw(_WS)


@_FUZZ
@given(_near_valid_keywords())
def test_keyword_syntax_agrees_with_libpq(text: str) -> None:
    conninfo, psycopg = _libpq()
    try:
        expected = conninfo.conninfo_to_dict(text)
    except psycopg.ProgrammingError as exc:
        if "invalid connection option" in str(exc):
            # a corruption made a word that is no libpq keyword: awsdb keeps unknown keys
            result = _check_result_or_error(text)
            assert result is None or set(result) - set(_LIBPQ_KEYS)
        else:
            # a syntax error for libpq is one for awsdb too
            with pytest.raises(ProgrammingError, match=r"at position \d+"):
                parse_conninfo(text)
        return
    assert parse_conninfo(text) == expected


_HOST = st.one_of(
    st.from_regex(r"[a-z][a-z0-9.-]{0,10}", fullmatch=True),
    st.sampled_from(["[::1]", "[fe80::1]", "127.0.0.1", ""]),
)


@settings(_FUZZ, max_examples=300)
@given(
    user=st.none() | _LIBPQ_VALUE,
    password=st.none() | _LIBPQ_VALUE,
    hosts=st.lists(st.tuples(_HOST, st.none() | st.integers(1, 65535)), min_size=1, max_size=3),
    dbname=st.none() | _LIBPQ_VALUE,
    query=st.dictionaries(st.sampled_from(_LIBPQ_KEYS[5:]), _LIBPQ_VALUE, max_size=3),
)
def test_structured_urls_agree_with_libpq(
    user: str | None,
    password: str | None,
    hosts: list[tuple[str, int | None]],
    dbname: str | None,
    query: dict[str, str],
) -> None:
    conninfo, psycopg = _libpq()
    url = "postgresql://"
    if user is not None or password is not None:
        url += _pct(user or "")
        if password is not None:
            url += ":" + _pct(password)
        url += "@"
    url += ",".join(h + (f":{p}" if p is not None else "") for h, p in hosts)
    if dbname is not None:
        url += "/" + _pct(dbname)
    if query:
        url += "?" + "&".join(f"{k}={_pct(v)}" for k, v in query.items())
    try:
        expected = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        assume(False)
        return
    assert parse_conninfo(url) == expected
