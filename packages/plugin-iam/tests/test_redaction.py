"""Tokens, secrets, SAML assertions, IdP passwords, session tokens and IdP bodies never
appear in logs (DEBUG everywhere, boto3 / botocore / urllib3 included), ``repr`` or errors."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

import pytest
from _iamtest_idp import ADFS_PASSWORD, BODY_MARKER, OKTA_PASSWORD
from _iamtest_support import HOST
from _iamtest_support import adfs_props as _adfs_props
from _iamtest_support import assumed_role_credentials as _assumed_role_credentials
from _iamtest_support import make_secret as _secret
from _iamtest_support import okta_props as _okta_props

import awsdb
from awsdb_testing.fake_driver import FakeDriver


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture every logger at DEBUG (what a user who turns on DEBUG logging sees)."""
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3", "awsdb", "awsdb_iam", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _everything(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_text:
            parts.append(record.exc_text)
    return "\n".join(parts)


def _assert_absent(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret, "a secret to look for must not be empty"
        assert secret not in text, f"a secret leaked ({len(secret)} characters)"
        # the signature part of a token alone is also a secret
        if "X-Amz-Signature=" in secret:
            assert secret.split("X-Amz-Signature=")[1] not in text


def test_iam_token_not_in_debug_logs_repr_or_errors(debug_log: pytest.LogCaptureFixture) -> None:
    driver = FakeDriver()
    conn = awsdb.connect(driver.connect, host=HOST, port=5432, user="u", plugins="iam")
    token = driver.calls.last("connect").kwargs["password"]
    driver.script.login_failure(times=2)  # cached token refused, fresh one too
    with pytest.raises(Exception) as info:
        awsdb.connect(driver.connect, host=HOST, port=5432, user="u", plugins="iam")
    fresh = driver.calls.last("connect").kwargs["password"]
    text = _everything(debug_log) + str(info.value) + repr(info.value) + repr(conn)
    assert len(debug_log.records) > 5  # DEBUG logging really was on
    _assert_absent(text, [token, fresh])
    conn.close()


def test_secret_not_in_debug_logs(moto_endpoint: str, debug_log: pytest.LogCaptureFixture) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    arn = _secret(moto_endpoint, {"username": "u", "password": password})
    debug_log.clear()
    driver = FakeDriver()
    awsdb.connect(
        driver.connect,
        host=HOST,
        port=5432,
        plugins="aws_secrets_manager",
        secrets_manager_secret_id=arn,
        secrets_manager_endpoint=moto_endpoint,
    ).close()
    assert driver.calls.last("connect").kwargs["password"] == password
    text = _everything(debug_log)
    assert "GetSecretValue" in text  # botocore's DEBUG records were captured
    _assert_absent(text, [password, json.dumps({"username": "u", "password": password})])


@pytest.mark.parametrize("flow", ["adfs", "okta"])
def test_federation_secrets_not_in_debug_logs(
    flow: str, idp: Any, idp_certs: Any, moto_endpoint: str, debug_log: pytest.LogCaptureFixture
) -> None:
    driver = FakeDriver()
    make = _adfs_props if flow == "adfs" else _okta_props
    awsdb.connect(driver.connect, **make(idp, idp_certs, moto_endpoint)).close()
    token = driver.calls.last("connect").kwargs["password"]
    creds = _assumed_role_credentials()
    from _iamtest_idp import saml_response

    assertion = saml_response("alice-adfs" if flow == "adfs" else "alice-okta")
    secrets = [
        token,
        creds["secret_key"],
        creds["session_token"],
        assertion,
        BODY_MARKER,
        ADFS_PASSWORD if flow == "adfs" else OKTA_PASSWORD,
        base64.b64decode(assertion).decode()[:60],
    ]
    secrets.extend(idp.session_tokens)
    text = _everything(debug_log)
    assert "AssumeRoleWithSAML" in text and "127.0.0.1" in text  # third-party DEBUG seen
    _assert_absent(text, secrets)
    # a failed login: the error names the step, never the body or the password
    props = make(idp, idp_certs, moto_endpoint, idp_password="Wrong-pw-123", db_user="other")
    with pytest.raises(Exception) as info:
        awsdb.connect(FakeDriver().connect, **props)
    _assert_absent(
        str(info.value) + repr(info.value) + _everything(debug_log), [BODY_MARKER, "Wrong-pw-123"]
    )
