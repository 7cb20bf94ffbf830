"""IAM tokens and secrets on a real MariaDB through mysql-connector (pure-Python mode).

What works on Debian's MariaDB 10.11 (no AWSAuthenticationPlugin outside RDS):

- a user ``IDENTIFIED BY '<token>'`` (mysql_native_password): the plugin asks for
  ``mysql_clear_password``, mysql-connector sends the token over TLS, the server switches
  the client to mysql_native_password and the connector answers the scramble of the full
  token, so the login proves that the exact token (over 900 characters with temporary
  credentials) arrived;
- a user ``IDENTIFIED VIA pam`` with ``--pam-use-cleartext-plugin`` (needs root to install a
  PAM service): the server itself asks for ``mysql_clear_password`` and a pam_exec script
  checks the cleartext token — the real RDS path. PAM hands at most 511 bytes to its
  modules: a token from static keys (≈ 350 characters) passes whole, one with a session
  token is cut (shown by a test);
- without TLS mysql-connector refuses to send a cleartext password: ``ssl_disabled`` is a
  clear error of the plugin, before any connection attempt.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mysql.connector
import pytest
from _iamtest_support import expected_token, in_ci

import awsdb
import awsdb_iam
from awsdb.errors import ProgrammingError

pytestmark = pytest.mark.mysql

NAME = "db-1.c9abc.us-east-1.rds.amazonaws.com"
PAM_SERVICE = "awsdb-iam-test"


@pytest.fixture(scope="module")
def pam_dir() -> Iterator[Path | None]:
    """A PAM service whose check script records what it received (root only)."""
    has_pam_plugin = any(Path("/usr/lib").glob("**/plugin/auth_pam.so"))
    has_pam_exec = any(Path("/").glob("*lib*/**/security/pam_exec.so"))
    if os.geteuid() != 0 or not Path("/etc/pam.d").is_dir():
        yield None  # installing a PAM service needs root
        return
    if not (has_pam_plugin and has_pam_exec):
        yield None  # MariaDB's auth_pam or pam_exec is not installed
        return
    base = Path(tempfile.mkdtemp(prefix="awsdb-iam-pam-"))
    base.chmod(0o755)
    script = base / "check.sh"
    script.write_text(
        '#!/bin/sh\ngiven=$(tr -d "\\000")\nprintf %s "$given" > "' + str(base) + '/received"\n'
        '[ "$given" = "$(cat "' + str(base) + '/expected")" ]\n'
    )
    script.chmod(0o755)
    service = Path("/etc/pam.d") / PAM_SERVICE
    service.write_text(
        f"auth required pam_exec.so expose_authtok quiet {script}\naccount required pam_permit.so\n"
    )
    try:
        yield base
    finally:
        service.unlink()
        for p in base.iterdir():
            p.unlink()
        base.rmdir()


@pytest.fixture(scope="module")
def mariadb(idp_certs: Any, pam_dir: Path | None) -> Iterator[Any]:
    """MariaDB with TLS (and the PAM plugin when root) on 127.0.0.1."""
    from _iamtest_servers import mariadb_tls

    extra = ("--plugin-load-add=auth_pam.so", "--pam-use-cleartext-plugin=ON") if pam_dir else ()
    try:
        cm = mariadb_tls(idp_certs.server_cert, idp_certs.server_key, idp_certs.ca_cert, extra)
        server = cm.__enter__()
    except RuntimeError as exc:
        if in_ci():
            raise
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture
def named(mariadb: Any) -> Iterator[Any]:
    """The RDS-shaped name resolves to the server's address (awsdb's resolver)."""
    from awsdb.resolver import get_resolver

    get_resolver().update({NAME: "127.0.0.1"})
    try:
        yield mariadb
    finally:
        get_resolver().remove(NAME)


def _create_user(server: Any, user: str, password: str) -> None:
    conn = server.root()
    try:
        cur = conn.cursor()
        cur.execute(f"DROP USER IF EXISTS '{user}'@'127.0.0.1'")
        cur.execute(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        conn.commit()
    finally:
        conn.close()


def _tls(idp_certs: Any) -> dict[str, Any]:
    return {"ssl_ca": str(idp_certs.ca_cert), "ssl_verify_cert": True}


SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE" + "x" * 600  # temporary credentials: long tokens


def test_iam_token_over_tls_pure_mode_long_token(
    named: Any, idp_certs: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    token = expected_token(NAME, named.port, "iam_my", "us-east-1", session_token=SESSION_TOKEN)
    assert len(token) > 900
    _create_user(named, "iam_my", token)
    conn = awsdb.connect(
        mysql.connector.connect,
        host=NAME,
        port=named.port,
        user="iam_my",
        plugins="iam",
        **_tls(idp_certs),
    )
    try:
        cur = conn.cursor()
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchall() == [("iam_my@127.0.0.1",)]
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        assert cur.fetchall()[0][1]  # the token went over TLS
    finally:
        conn.close()
    # the wrong password is refused: the login above checked the token
    with pytest.raises(mysql.connector.Error):
        mysql.connector.connect(
            host="127.0.0.1",
            port=named.port,
            user="iam_my",
            password=token[:-1],
            use_pure=True,
            **_tls(idp_certs),
        )


def test_ssl_disabled_is_a_clear_error_before_connecting(named: Any) -> None:
    with pytest.raises(ProgrammingError, match=r"mysql_clear_password.*TLS"):
        awsdb.connect(
            mysql.connector.connect,
            host=NAME,
            port=named.port,
            user="iam_my",
            plugins="iam",
            ssl_disabled=True,
        )
    assert awsdb_iam.cache_stats()["iam_tokens"].created == 1  # planned, never sent


def test_secret_password_on_mariadb(named: Any, moto_endpoint: str, idp_certs: Any) -> None:
    import boto3

    _create_user(named, "sm_my", "Secret-for-mariadb-1")
    arn = boto3.client(
        "secretsmanager", region_name="us-east-1", endpoint_url=moto_endpoint
    ).create_secret(
        Name="db/mariadb-app",
        SecretString=json.dumps({"username": "sm_my", "password": "Secret-for-mariadb-1"}),
    )["ARN"]
    conn = awsdb.connect(
        mysql.connector.connect,
        host=NAME,
        port=named.port,
        plugins="aws_secrets_manager",
        secrets_manager_secret_id=arn,
        secrets_manager_endpoint=moto_endpoint,
        ssl_disabled=True,  # a password (not a token): native authentication, no TLS needed
    )
    try:
        cur = conn.cursor()
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchall() == [("sm_my@127.0.0.1",)]
    finally:
        conn.close()


def test_cleartext_through_pam(
    named: Any, pam_dir: Path | None, idp_certs: Any, frozen_clock: Any
) -> None:
    if pam_dir is None:
        pytest.skip("needs root, MariaDB's auth_pam and pam_exec")
    token = expected_token(NAME, named.port, "iam_pam", "us-east-1")
    named.run(
        "DROP USER IF EXISTS 'iam_pam'@'%'",
        f"CREATE USER 'iam_pam'@'%' IDENTIFIED VIA pam USING '{PAM_SERVICE}'",
    )
    assert len(token) < 512  # static keys: the whole token fits through PAM
    (pam_dir / "expected").write_text(token)
    conn = awsdb.connect(
        mysql.connector.connect,
        host=NAME,
        port=named.port,
        user="iam_pam",
        plugins="iam",
        **_tls(idp_certs),
    )
    try:
        cur = conn.cursor()
        cur.execute("SELECT CURRENT_USER()")
        assert cur.fetchall() == [("iam_pam@%",)]
    finally:
        conn.close()
    assert (pam_dir / "received").read_text() == token  # the server got the cleartext token


def test_pam_cuts_long_tokens(
    named: Any,
    pam_dir: Path | None,
    idp_certs: Any,
    frozen_clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why PAM is no stand-in for RDS with temporary credentials: it keeps 511 bytes."""
    if pam_dir is None:
        pytest.skip("needs root, MariaDB's auth_pam and pam_exec")
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    token = expected_token(NAME, named.port, "iam_pam", "us-east-1", session_token=SESSION_TOKEN)
    named.run(
        "DROP USER IF EXISTS 'iam_pam'@'%'",
        f"CREATE USER 'iam_pam'@'%' IDENTIFIED VIA pam USING '{PAM_SERVICE}'",
    )
    (pam_dir / "expected").write_text(token)
    with pytest.raises(mysql.connector.Error):
        awsdb.connect(
            mysql.connector.connect,
            host=NAME,
            port=named.port,
            user="iam_pam",
            plugins="iam",
            **_tls(idp_certs),
        )
    assert (pam_dir / "received").read_text() == token[:511]


def test_token_not_in_the_connectors_debug_log(
    named: Any,
    pam_dir: Path | None,
    idp_certs: Any,
    frozen_clock: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the server switches the client to mysql_clear_password (PAM, like RDS; here
    because the user chose another initial auth_plugin), mysql-connector logs its response —
    the token — at DEBUG; the plugin's log guard redacts it."""
    import logging

    if pam_dir is None:
        pytest.skip("needs root, MariaDB's auth_pam and pam_exec")
    token = expected_token(NAME, named.port, "iam_pam", "us-east-1")  # the test's own signing
    named.run(
        "DROP USER IF EXISTS 'iam_pam'@'%'",
        f"CREATE USER 'iam_pam'@'%' IDENTIFIED VIA pam USING '{PAM_SERVICE}'",
    )
    (pam_dir / "expected").write_text(token)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="mysql.connector")
    caplog.set_level(logging.DEBUG, logger="botocore")
    awsdb.connect(
        mysql.connector.connect,
        host=NAME,
        port=named.port,
        user="iam_pam",
        plugins="iam",
        auth_plugin="mysql_native_password",
        **_tls(idp_certs),
    ).close()
    requests = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("mysql.connector") and "# request" in r.getMessage()
    ]
    assert requests  # the connector did log its cleartext response ...
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in text  # ... without the token
    assert token.split("X-Amz-Signature=")[1] not in text
