"""Helpers shared by the tests and the benchmark: fixed credentials, the expected token,
secrets in moto and the federation properties (unique module name: the tests directories of
several packages are on ``sys.path`` in one pytest run)."""

from __future__ import annotations

import datetime
import json
import os
import uuid
from typing import Any

from _iamtest_idp import (
    ADFS_PASSWORD,
    ADFS_USER,
    IDP_ARN,
    OKTA_APP,
    OKTA_PASSWORD,
    OKTA_USER,
    ROLE_ARN,
)

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
FROZEN = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.UTC)
HOST = "db.cluster-c9abc.us-east-1.rds.amazonaws.com"


def in_ci() -> bool:
    """True under CI, where a missing server fails instead of skipping."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def expected_token(host: str, port: int, user: str, region: str, **creds: str) -> str:
    """The token botocore presigns for these inputs (computed independently of awsdb)."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=creds.get("access_key", ACCESS_KEY),
        aws_secret_access_key=creds.get("secret_key", SECRET_KEY),
        aws_session_token=creds.get("session_token"),
        region_name=region,
    )
    client = session.client("rds")
    try:
        token: str = client.generate_db_auth_token(
            DBHostname=host, Port=port, DBUsername=user, Region=region
        )
    finally:
        client.close()
    return token


def secrets_client(endpoint: str, region: str = "us-east-1") -> Any:
    """A Secrets Manager client of moto."""
    import boto3

    return boto3.client("secretsmanager", region_name=region, endpoint_url=endpoint)


def make_secret(endpoint: str, value: dict[str, Any], region: str = "us-east-1") -> str:
    """A new secret in moto; returns its ARN."""
    reply = secrets_client(endpoint, region).create_secret(
        Name=f"db/{uuid.uuid4().hex}", SecretString=json.dumps(value)
    )
    return str(reply["ARN"])


def adfs_props(idp: Any, certs: Any, moto: str, **kw: Any) -> dict[str, Any]:
    """Connection properties of an ADFS federated connection to the test IdP and moto."""
    props: dict[str, Any] = {
        "host": HOST,
        "port": 5432,
        "plugins": "federated_auth",
        "idp_endpoint": idp.endpoint,
        "idp_port": idp.port,
        "idp_username": ADFS_USER,
        "idp_password": ADFS_PASSWORD,
        "iam_role_arn": ROLE_ARN,
        "iam_idp_arn": IDP_ARN,
        "db_user": "iam_fed",
        "user": "ignored-user",
        "idp_ca_bundle": str(certs.ca_cert),
        "sts_endpoint": moto,
        "http_request_connect_timeout": 10,
    }
    props.update(kw)
    return props


def okta_props(idp: Any, certs: Any, moto: str, **kw: Any) -> dict[str, Any]:
    """Connection properties of an Okta federated connection to the test IdP and moto."""
    props = adfs_props(
        idp,
        certs,
        moto,
        plugins="okta",
        idp_username=OKTA_USER,
        idp_password=OKTA_PASSWORD,
        app_id=OKTA_APP,
        idp_endpoint=f"{idp.endpoint}:{idp.port}",
    )
    props.pop("idp_port")
    props.update(kw)
    return props


def assumed_role_credentials() -> dict[str, str]:
    """The temporary credentials moto's STS handed out last (moto runs in this process)."""
    from moto.backends import get_backend

    backend = get_backend("sts")["123456789012"]["global"]
    role = backend.assumed_roles[-1]
    return {
        "access_key": role.access_key_id,
        "secret_key": role.secret_access_key,
        "session_token": role.session_token,
    }
