"""Tests of awsdb._redact: mappings, text, patterns and the logging filter with DEBUG on."""

from __future__ import annotations

import io
import logging
import string
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from awsdb._redact import (
    MIN_SECRET_LENGTH,
    SecretsFilter,
    redact_mapping,
    redact_patterns,
    redact_text,
)
from awsdb.errors import ProgrammingError
from awsdb.properties import Properties, default_registry

PW = "Pa55-w0rd!x"
IDP = "idp-S3cret-9"
TOKEN = "tok.AbCdEf0123456789"


def test_redact_mapping_by_key() -> None:
    reg = default_registry()
    m = {
        "user": "u",
        "password": PW,
        "idp_password": IDP,
        "monitoring-password": PW,
        "secrets_manager_secret_id": "arn:aws:secretsmanager:us-east-1:1:secret:x",
        "session_token": TOKEN,
        "dsn": f"host=h password={PW}",
        "port": 5432,
    }
    out = redact_mapping(m, reg)
    assert out == {
        "user": "u",
        "password": "***",
        "idp_password": "***",
        "monitoring-password": "***",
        "secrets_manager_secret_id": "arn:aws:secretsmanager:us-east-1:1:secret:x",
        "session_token": "***",
        "dsn": "host=h password=***",
        "port": 5432,
    }
    assert m["password"] == PW  # the input is not modified
    # without a registry, key shapes decide (so the secret id is hidden too: over-redaction)
    assert redact_mapping({"secrets_manager_secret_id": "x", "user": "u"}) == {
        "secrets_manager_secret_id": "***",
        "user": "u",
    }


def test_redact_text_replaces_values_and_their_encoded_forms() -> None:
    secret = "p@ss w'rd\\1"
    text = f"a {secret} b {secret!r} c p%40ss%20w%27rd%5C1 d"
    out = redact_text(text, [secret])
    assert out == 'a *** b "***" c *** d'
    assert redact_text("abc", ["abc"]) == "abc"  # shorter than MIN_SECRET_LENGTH
    assert MIN_SECRET_LENGTH == 4
    # the longer secret is replaced first
    assert redact_text("xx secret-long xx", ["secret", "secret-long"]) == "xx *** xx"


def test_redact_text_never_leaves_a_rejoined_occurrence() -> None:
    secret = "ab**"
    out = redact_text("aab***", [secret])
    assert secret not in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"host=h password={PW} dbname=d", "host=h password=*** dbname=d"),
        (f"host=h password = '{PW} x' dbname=d", "host=h password = *** dbname=d"),
        (f"postgresql://u:{PW}@h:5432/db", "postgresql://u:***@h:5432/db"),
        (f"mysql://u:{PW}@h/db?x=1", "mysql://u:***@h/db?x=1"),
        (f'{{"password": "{PW}", "user": "u"}}', '{"password": ***, "user": "u"}'),
        (f"{{'sslpassword': '{PW}'}}", "{'sslpassword': ***}"),
        (f"use cached token: {TOKEN}", "use cached token: ***"),
        (f"?X-Amz-Security-Token={TOKEN}&a=1", "?X-Amz-Security-Token=***&a=1"),
        ("password authentication failed for user u", "password authentication failed for user u"),
        ("postgresql://h:5432/db", "postgresql://h:5432/db"),
        (
            "arn:aws:secretsmanager:us-east-1:1:secret:x",
            "arn:aws:secretsmanager:us-east-1:1:secret:x",
        ),
        ("token:abc", "token:abc"),
    ],
)
def test_redact_patterns(text: str, expected: str) -> None:
    assert redact_patterns(text) == expected


# --- the logging filter, with DEBUG logging on ----------------------------------------------


@pytest.fixture
def debug_log() -> Iterator[tuple[logging.Logger, io.StringIO, SecretsFilter]]:
    logger = logging.getLogger("awsdb.test_redact")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s %(extra_info)s"))
    flt = SecretsFilter(default_registry())
    flt.attach(logger)
    flt.attach(logger)  # idempotent
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, stream, flt
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(flt)
        logger.setLevel(old_level)


def test_filter_redacts_messages_args_exceptions_and_extras(
    debug_log: tuple[logging.Logger, io.StringIO, SecretsFilter],
) -> None:
    logger, stream, flt = debug_log
    assert logger.filters.count(flt) == 1
    props = Properties.parse(f"host=h password={PW} idp_password={IDP}", {}, default_registry())
    flt.track(props)
    flt.add(TOKEN)
    assert flt.secrets() == 3
    extra = {"extra_info": "-"}
    logger.debug("connecting with %r", props, extra=extra)
    logger.debug("raw kwargs %s", {"password": PW, "host": "h"}, extra=extra)
    logger.debug("generated new auth token %s", TOKEN, extra=extra)
    logger.debug("conninfo %s", f"host=h password={PW}", extra=extra)
    logger.debug("values: %s and %s", PW, IDP, extra=extra)
    logger.debug("mapping %(host)s", {"host": "h", "password": PW}, extra=extra)
    logger.info("SAML response body: <Assertion>%s</Assertion>", TOKEN, extra=extra)
    logger.debug("extra mapping", extra={"extra_info": {"password": PW}})
    logger.debug("extra text", extra={"extra_info": f"token {TOKEN}"})
    logger.debug("extra secret key", extra={"extra_info": "-", "db_password": PW})
    try:
        raise ProgrammingError(f"login failed with {PW} and token {TOKEN}")
    except ProgrammingError:
        logger.exception("failure", extra=extra)
    logger.debug("stack", stack_info=True, extra={"extra_info": PW})
    output = stream.getvalue()
    for secret in (PW, IDP, TOKEN):
        assert secret not in output
    assert output.count("DEBUG awsdb.test_redact") == 10
    assert "connecting with Properties({'host': 'h', 'password': '***'" in output
    assert "values: *** and ***" in output
    assert "mapping h" in output
    assert "ProgrammingError: login failed with *** and token ***" in output
    assert "Traceback" in output


def test_filter_clears_args_so_handlers_never_see_them(
    debug_log: tuple[logging.Logger, io.StringIO, SecretsFilter],
) -> None:
    logger, _, flt = debug_log
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    logger.addHandler(keep)
    try:
        flt.add(PW)
        logger.debug("x %s", PW, extra={"extra_info": "-"})
    finally:
        logger.removeHandler(keep)
    (record,) = seen
    assert record.args is None
    assert record.msg == "x ***"


def test_filter_on_a_handler_covers_child_loggers() -> None:
    parent = logging.getLogger("awsdb.test_redact_parent")
    child = logging.getLogger("awsdb.test_redact_parent.child")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    flt = SecretsFilter()
    flt.add(PW)
    flt.attach(handler)
    parent.addHandler(handler)
    parent.setLevel(logging.DEBUG)
    try:
        child.debug("child says %s", PW)
    finally:
        parent.removeHandler(handler)
        parent.setLevel(logging.NOTSET)
    assert "child says ***" in stream.getvalue()
    assert PW not in stream.getvalue()


def test_broken_format_strings_are_still_redacted(
    debug_log: tuple[logging.Logger, io.StringIO, SecretsFilter],
) -> None:
    logger, stream, flt = debug_log
    flt.add(PW)
    logger.debug(f"bad %d format {PW}", "not a number", extra={"extra_info": "-"})
    assert PW not in stream.getvalue()
    assert "arguments dropped" in stream.getvalue()


def test_tracking_is_bounded_discardable_and_thread_safe() -> None:
    flt = SecretsFilter()
    flt.add(None)
    flt.add("abc")  # too short
    assert flt.secrets() == 0

    def worker(i: int) -> None:
        for j in range(400):
            flt.add(f"secret-{i}-{j}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert flt.secrets() == 1024
    flt.add("secret-newest")
    assert flt.redact("secret-newest") == "***"
    flt.discard("secret-newest")
    flt.discard("never-added")
    assert flt.redact("x secret-newest") == "x secret-newest"


def test_properties_debug_log_has_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="awsdb"):
        Properties.parse(
            f"postgresql://u:{PW}@h/db?idp_password={IDP}",
            {"monitoring-password": TOKEN},
            default_registry(),
        )
    assert caplog.records, "parse logs its result at DEBUG"
    text = caplog.text
    for secret in (PW, IDP, TOKEN):
        assert secret not in text


_SECRETS = st.text(
    alphabet=string.ascii_letters + string.digits + "!#$%&()*+,-./:;<=>?@[]^_{|}~ '\"\\",
    min_size=MIN_SECRET_LENGTH,
    max_size=16,
)
_FILLER = st.text(max_size=30)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=_SECRETS,
    before=_FILLER,
    after=_FILLER,
    form=st.sampled_from(["plain", "repr", "kv", "url", "dict"]),
)
def test_filter_never_lets_a_known_secret_through(
    secret: str, before: str, after: str, form: str
) -> None:
    flt = SecretsFilter(default_registry())
    flt.add(secret)
    msg: str
    args: tuple[object, ...]
    if form == "plain":
        msg, args = "%s%s%s", (before, secret, after)
    elif form == "repr":
        msg, args = "%s%r%s", (before, secret, after)
    elif form == "kv":
        msg, args = "%s password=%s %s", (before, secret, after)
    elif form == "url":
        msg, args = "%s postgresql://u:%s@h/db %s", (before, secret, after)
    else:
        msg, args = "%s %s %s", (before, {"password": secret}, after)
    record = logging.LogRecord("awsdb.x", logging.DEBUG, __file__, 1, msg, args, None)
    assert flt.filter(record)
    assert secret not in record.getMessage()
