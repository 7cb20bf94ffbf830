"""Property-based tests of property coercion and parsing over the whole catalogue.

For every catalogue property and arbitrary values: the result has the property's type (and
is a canonical choice, within range), or the error is a ``ProgrammingError`` naming the
property, the value (``<redacted>`` for secrets) and what is allowed. Secret values never
appear in messages or ``repr``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from awsdb._catalog import CATALOGUE
from awsdb._dsn import make_conninfo
from awsdb.errors import ProgrammingError
from awsdb.properties import Properties, Property, _show, default_registry

_FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_NUMERIC_TEXT = st.from_regex(
    r"\s?[+-]?[0-9]{0,6}(\.[0-9]{0,3})?(e[+-]?[0-9]{1,3})?\s?", fullmatch=True
)
_WORDS = st.sampled_from(
    [
        "true",
        "FALSE",
        " yes",
        "off ",
        "1",
        "0",
        "2",
        "",
        " ",
        "nan",
        "inf",
        "-1",
        "1e999",
        "strict-writer",
        "strict_reader",
        "Reader-Or-Writer",
        "aurora_pg",
        "OTLP",
        "xray",
        "exponential-backoff",
        "writer",
        "none",
        "a,b",
        "a,,b",
        ",",
        "random",
        "\x00",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-10, max_value=70000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    _NUMERIC_TEXT,
    _WORDS,
    st.binary(max_size=5),
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(st.one_of(_WORDS, st.text(max_size=8), st.integers()), max_size=4),
    st.tuples(_WORDS),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _assert_valid_result(prop: Property[Any], value: object, result: object) -> None:
    if value is None:
        assert result == prop.default
        return
    assert type(result) is prop.type, (prop.name, value, result)
    if prop.type in (int, float):
        assert isinstance(result, int | float)
        assert math.isfinite(result)
        if prop.minimum is not None:
            assert result >= prop.minimum
        if prop.maximum is not None:
            assert result <= prop.maximum
    if prop.choices is not None:
        assert isinstance(result, str)
        items = result.split(",") if prop.multi and result else [result]
        assert all(item in prop.choices for item in items), (prop.name, result)
    # coercion is idempotent: a coerced value is accepted unchanged
    assert prop.coerce(result) == result


def _assert_good_error(prop: Property[Any], value: object, exc: ProgrammingError) -> None:
    message = str(exc)
    assert f"property {prop.name!r}" in message
    assert "allowed: " in message
    if prop.secret:
        assert "<redacted>" in message
        if isinstance(value, str) and len(value) >= 4:
            assert value not in message
    else:
        assert _show(value, False) in message


@_FUZZ
@given(st.sampled_from(CATALOGUE), _VALUES)
def test_coerce_every_catalogue_property(prop: Property[Any], value: object) -> None:
    try:
        result = prop.coerce(value)
    except ProgrammingError as exc:
        _assert_good_error(prop, value, exc)
    else:
        _assert_valid_result(prop, value, result)


def test_coerce_every_catalogue_property_on_fixed_tricky_values() -> None:
    tricky: list[object] = [
        None,
        True,
        False,
        0,
        1,
        -1,
        2**70,
        0.5,
        float("nan"),
        "",
        " ",
        "true",
        "no",
        "12",
        " 12 ",
        "1.5",
        "abc",
        [],
        ["a"],
        b"x",
        {},
    ]
    for prop in CATALOGUE:
        accepted = 0
        for value in tricky:
            try:
                result = prop.coerce(value)
            except ProgrammingError as exc:
                _assert_good_error(prop, value, exc)
            else:
                accepted += 1
                _assert_valid_result(prop, value, result)
        assert accepted >= 1  # None at least (the default)


_SECRET_VALUE = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=6,
    max_size=20,
).filter(lambda s: s.strip() != "" and len(re.sub(r"\W", "", s)) >= 6)


_VOCABULARY = (
    "invalid value for property 'idp_password': <redacted> (allowed: a string) "
    "Properties({'host': 'h', 'monitoring-password': '***', 'sslpassword': '***', "
    "'connect_timeout': 10, 'user': 'u'}) failover_mode failure_detection_time_ms ssl_secure "
    "one of 'strict_writer', 'strict_reader', 'reader_or_writer' (case-insensitive; '-' and "
    "'_' are interchangeable) an integer >= 0 true/false, 1/0, yes/no, on/off "
    "(case-insensitive) or a bool ['x'] (of type list) 3.5 b'b' (of type bytes) "
    "[None] (of type list) [['x']] (of type list) [3.5] (of type list) [b'b'] (of type list)"
)


@settings(_FUZZ, max_examples=500)
@given(
    secret=_SECRET_VALUE,
    key=st.sampled_from(["password", "idp_password", "monitoring-password", "sslpassword"]),
    junk=st.sampled_from([None, ["x"], 3.5, b"b"]),
    bad_prop=st.sampled_from(["failover_mode", "failure_detection_time_ms", "ssl_secure"]),
)
def test_secrets_never_appear_in_reprs_or_errors(
    secret: str, key: str, junk: object, bad_prop: str
) -> None:
    # a secret that is a word of the messages themselves cannot be told apart from them
    assume(secret not in _VOCABULARY)
    reg = default_registry()
    props = Properties.parse(None, {key: secret, "host": "h"}, reg)
    assert secret not in repr(props)
    assert secret not in repr(props.for_internal("monitoring-"))
    assert secret not in repr(props.with_overrides(user="u"))
    if junk is not None:
        # a wrong value for a secret wrapper property: the error does not echo it
        try:
            Properties.parse(None, {"idp_password": [secret, junk]}, reg)
        except ProgrammingError as exc:
            assert secret not in str(exc)
            assert "idp_password" in str(exc)
        else:
            raise AssertionError("a list is not a valid idp_password")
    # an error about another property in the same call does not echo the secret either
    try:
        Properties.parse(make_conninfo({key: secret}), {bad_prop: [junk]}, reg)
    except ProgrammingError as exc:
        assert secret not in str(exc)
        assert bad_prop in str(exc)
