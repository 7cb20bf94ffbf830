"""``federated_auth`` (ADFS) and ``okta`` against a TLS identity provider on loopback and
moto's STS in server mode, then a real PostgreSQL login with the federated token."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from _iamtest_idp import (
    ADFS_PASSWORD,
    ADFS_USER,
    BODY_MARKER,
    OKTA_APP,
    OKTA_PASSWORD,
    OKTA_USER,
)
from _iamtest_support import (
    HOST,
    expected_token,
)
from _iamtest_support import (
    adfs_props as _adfs_props,
)
from _iamtest_support import (
    assumed_role_credentials as _assumed_role_credentials,
)
from _iamtest_support import (
    okta_props as _okta_props,
)

import awsdb
import awsdb_iam
from awsdb.errors import ProgrammingError
from awsdb_testing.fake_driver import FakeDriver


def test_adfs_form_login_sts_and_token(
    idp: Any, idp_certs: Any, moto_endpoint: str, frozen_clock: Any
) -> None:
    driver = FakeDriver()
    awsdb.connect(driver.connect, **_adfs_props(idp, idp_certs, moto_endpoint)).close()
    get, post = idp.seen[0], idp.seen[1]
    assert get.path == "/adfs/ls/IdpInitiatedSignOn.aspx"
    assert get.query["loginToRp"] == ["urn:amazon:webservices"]
    assert post.path == "/adfs/ls/" and post.query["client-request-id"] == ["42"]
    assert post.form["UserName"] == [ADFS_USER] and post.form["Password"] == [ADFS_PASSWORD]
    assert post.form["AuthMethod"] == ["FormsAuthentication"] and post.form["Kmsi"] == ["true"]
    sent = driver.calls.last("connect").kwargs
    assert sent["user"] == "iam_fed"  # db_user replaces user
    creds = _assumed_role_credentials()
    assert sent["password"] == expected_token(HOST, 5432, "iam_fed", "us-east-1", **creds)
    assert "X-Amz-Security-Token=" in sent["password"]
    for key in ("idp_password", "idp_username", "iam_role_arn", "sts_endpoint", "db_user"):
        assert key not in sent


def test_federated_token_is_cached_and_retried_once(
    idp: Any, idp_certs: Any, moto_endpoint: str
) -> None:
    driver = FakeDriver()
    props = _adfs_props(idp, idp_certs, moto_endpoint)
    for _ in range(20):
        awsdb.connect(driver.connect, **props).close()
    assert len(idp.seen) == 2  # one IdP login for 20 connects
    assert awsdb_iam.cache_stats()["federated_tokens"].created == 1
    driver.script.login_failure()
    awsdb.connect(driver.connect, **props).close()
    assert len(idp.seen) == 4  # the cached token was refused: one new login
    assert awsdb_iam.cache_stats()["federated_tokens"].created == 2


def test_okta_authn_session_token_sso_sts_and_token(
    idp: Any, idp_certs: Any, moto_endpoint: str, frozen_clock: Any
) -> None:
    driver = FakeDriver()
    awsdb.connect(driver.connect, **_okta_props(idp, idp_certs, moto_endpoint)).close()
    authn, sso = idp.seen
    assert authn.path == "/api/v1/authn"
    assert authn.json == {"username": OKTA_USER, "password": OKTA_PASSWORD}
    assert sso.path == f"/app/amazon_aws/{OKTA_APP}/sso/saml"
    assert sso.query["onetimetoken"][0] in idp.session_tokens
    creds = _assumed_role_credentials()
    sent = driver.calls.last("connect").kwargs
    assert sent["user"] == "iam_fed"
    assert sent["password"] == expected_token(HOST, 5432, "iam_fed", "us-east-1", **creds)


def test_untrusted_certificate_fails_verification_is_on_by_default(
    idp: Any, idp_certs: Any, moto_endpoint: str
) -> None:
    for props in (
        _adfs_props(idp, idp_certs, moto_endpoint, idp_ca_bundle=str(idp_certs.other_ca_cert)),
        _adfs_props(idp, idp_certs, moto_endpoint, idp_ca_bundle=None),  # system CAs
        _okta_props(idp, idp_certs, moto_endpoint, idp_ca_bundle=None),
    ):
        with pytest.raises(awsdb_iam.IdentityProviderError, match="TLS verification"):
            awsdb.connect(FakeDriver().connect, **props)
    assert idp.seen == []  # no request got through the handshake


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_ssl_secure_false_skips_verification(
    idp: Any, idp_certs: Any, moto_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    driver = FakeDriver()
    props = _adfs_props(idp, idp_certs, moto_endpoint, idp_ca_bundle=None, ssl_secure="false")
    awsdb.connect(driver.connect, **props).close()
    assert "NOT verified" in caplog.text


def test_wrong_idp_password_is_a_clear_error_without_body(
    idp: Any, idp_certs: Any, moto_endpoint: str
) -> None:
    props = _adfs_props(idp, idp_certs, moto_endpoint, idp_password="wrong-Adfs-pw")
    with pytest.raises(awsdb_iam.IdentityProviderError, match="no SAMLResponse") as info:
        awsdb.connect(FakeDriver().connect, **props)
    text = str(info.value) + repr(info.value)
    assert BODY_MARKER not in text and "wrong-Adfs-pw" not in text
    props = _okta_props(idp, idp_certs, moto_endpoint, idp_password="wrong-Okta-pw")
    with pytest.raises(awsdb_iam.IdentityProviderError, match="HTTP 401") as info:
        awsdb.connect(FakeDriver().connect, **props)
    text = str(info.value) + repr(info.value)
    assert BODY_MARKER not in text and "wrong-Okta-pw" not in text


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"db_user": None}, "db_user is required"),
        ({"idp_endpoint": None}, "idp_endpoint property is required"),
        ({"idp_name": "okta"}, "idp_name 'okta' is not supported"),
        ({"iam_role_arn": None}, "iam_role_arn and iam_idp_arn are required"),
        ({"idp_endpoint": "http://idp.example.com"}, "must be a host name"),
    ],
)
def test_bad_input_is_a_clear_error(
    idp: Any, idp_certs: Any, moto_endpoint: str, kw: dict[str, Any], match: str
) -> None:
    with pytest.raises(ProgrammingError, match=match):
        awsdb.connect(FakeDriver().connect, **_adfs_props(idp, idp_certs, moto_endpoint, **kw))


@pytest.mark.pg
@pytest.mark.parametrize("flow", ["adfs", "okta"])
def test_real_postgresql_login_with_the_federated_token(
    flow: str, pg_node: Any, idp: Any, idp_certs: Any, moto_endpoint: str, frozen_clock: Any
) -> None:
    make = _adfs_props if flow == "adfs" else _okta_props
    props = make(
        idp,
        idp_certs,
        moto_endpoint,
        host=pg_node.name,
        port=pg_node.port,
        dbname="app",
        db_user="iam_fed",
    )
    pg_node.set_password("iam_fed", "not-the-token-yet")
    with pg_node.cluster.names_installed():
        # first connect: the federated token is made (and cached) but not yet the password
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            awsdb.connect(psycopg.Connection.connect, **props)
        creds = _assumed_role_credentials()
        pg_node.set_password(
            "iam_fed", expected_token(pg_node.name, pg_node.port, "iam_fed", "us-east-1", **creds)
        )
        with awsdb.connect(psycopg.Connection.connect, **props) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("iam_fed",)
    assert awsdb_iam.cache_stats()["federated_tokens"].created == 1
