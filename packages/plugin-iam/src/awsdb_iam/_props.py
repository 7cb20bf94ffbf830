"""The connection properties of the authentication plugins.

Names, types and defaults are those of the AWS Advanced Python Wrapper (and of awsdb's
property catalogue, which lists them with these owners), plus three awsdb extensions:
``idp_ca_bundle``, ``sts_endpoint`` and ``secrets_manager_retry_timeout_sec``.
"""

from __future__ import annotations

from typing import Any

from awsdb.properties import Property

__all__ = [
    "APP_ID",
    "AWS_PROFILE",
    "DB_USER",
    "HTTP_REQUEST_CONNECT_TIMEOUT",
    "IAM_DEFAULT_PORT",
    "IAM_EXPIRATION",
    "IAM_HOST",
    "IAM_IDP_ARN",
    "IAM_REGION",
    "IAM_ROLE_ARN",
    "IAM_TOKEN_EXPIRATION",
    "IDP_CA_BUNDLE",
    "IDP_ENDPOINT",
    "IDP_NAME",
    "IDP_PASSWORD",
    "IDP_PORT",
    "IDP_USERNAME",
    "PROPERTIES",
    "RP_IDENTIFIER",
    "SECRETS_MANAGER_ENDPOINT",
    "SECRETS_MANAGER_EXPIRATION",
    "SECRETS_MANAGER_REGION",
    "SECRETS_MANAGER_RETRY_TIMEOUT_SEC",
    "SECRETS_MANAGER_SECRET_ID",
    "SECRETS_MANAGER_SECRET_PASSWORD_KEY",
    "SECRETS_MANAGER_SECRET_USERNAME_KEY",
    "SSL_SECURE",
    "STS_ENDPOINT",
]

_PORT_MAX = 65535

IAM_HOST: Property[str | None] = Property(
    "iam_host",
    str,
    None,
    "Host the IAM token is signed for. Unset: the connect host.",
    owner="iam",
)
IAM_DEFAULT_PORT: Property[int | None] = Property(
    "iam_default_port",
    int,
    None,
    "Port the IAM token is signed for. Unset: the host's port, then 5432 / 3306.",
    owner="iam",
    minimum=1,
    maximum=_PORT_MAX,
)
IAM_REGION: Property[str | None] = Property(
    "iam_region", str, None, "Signing region. Unset: from the host name.", owner="iam"
)
IAM_EXPIRATION = Property(
    "iam_expiration",
    int,
    870,
    "IAM token cache lifetime in seconds. awsdb deviation: 870 (a 30 s margin before the "
    "15-minute token expires; the anchor uses 900, no margin).",
    owner="iam",
    minimum=1,
    maximum=900,
)
AWS_PROFILE: Property[str | None] = Property(
    "aws_profile", str, None, "boto3 profile name for AWS calls.", owner="iam"
)
SECRETS_MANAGER_SECRET_ID: Property[str | None] = Property(
    "secrets_manager_secret_id",
    str,
    None,
    "Secret name or ARN (required by aws_secrets_manager).",
    owner="aws_secrets_manager",
)
SECRETS_MANAGER_REGION: Property[str | None] = Property(
    "secrets_manager_region",
    str,
    None,
    "Region of the secret. Unset: parsed from the ARN, otherwise an error. awsdb deviation: "
    "no us-east-1 default (the anchor declares one and never applies it).",
    owner="aws_secrets_manager",
)
SECRETS_MANAGER_ENDPOINT: Property[str | None] = Property(
    "secrets_manager_endpoint",
    str,
    None,
    "Secrets Manager endpoint override.",
    owner="aws_secrets_manager",
)
SECRETS_MANAGER_SECRET_USERNAME_KEY = Property(
    "secrets_manager_secret_username_key",
    str,
    "username",
    "JSON key of the secret holding the user.",
    owner="aws_secrets_manager",
)
SECRETS_MANAGER_SECRET_PASSWORD_KEY = Property(
    "secrets_manager_secret_password_key",
    str,
    "password",
    "JSON key of the secret holding the password.",
    owner="aws_secrets_manager",
)
SECRETS_MANAGER_EXPIRATION = Property(
    "secrets_manager_expiration",
    int,
    3600,
    "Secret cache lifetime in seconds. awsdb deviation: 3600 (one hour; the anchor caches "
    "secrets for a year and reads negative values as a year).",
    owner="aws_secrets_manager",
    minimum=1,
)
SECRETS_MANAGER_RETRY_TIMEOUT_SEC = Property(
    "secrets_manager_retry_timeout_sec",
    float,
    15.0,
    "awsdb extension: after a login failure, how long to keep fetching the secret again "
    "and retrying while a rotation completes (0: one fetch and one retry only).",
    owner="aws_secrets_manager",
    minimum=0,
)
IDP_NAME = Property(
    "idp_name",
    str,
    "adfs",
    "Federated identity provider; federated_auth accepts adfs (or empty).",
    owner="federated_auth",
)
IDP_ENDPOINT: Property[str | None] = Property(
    "idp_endpoint", str, None, "Identity provider host (ADFS or Okta).", owner="federated_auth"
)
IDP_PORT = Property(
    "idp_port",
    int,
    443,
    "ADFS port (not used by okta).",
    owner="federated_auth",
    minimum=1,
    maximum=_PORT_MAX,
)
RP_IDENTIFIER = Property(
    "rp_identifier",
    str,
    "urn:amazon:webservices",
    "ADFS relying-party identifier.",
    owner="federated_auth",
)
IDP_USERNAME: Property[str | None] = Property(
    "idp_username", str, None, "Identity provider user (ADFS and Okta).", owner="federated_auth"
)
IDP_PASSWORD: Property[str | None] = Property(
    "idp_password",
    str,
    None,
    "Identity provider password (ADFS and Okta).",
    owner="federated_auth",
    secret=True,
)
IAM_ROLE_ARN: Property[str | None] = Property(
    "iam_role_arn",
    str,
    None,
    "ARN of the role to assume (ADFS and Okta).",
    owner="federated_auth",
)
IAM_IDP_ARN: Property[str | None] = Property(
    "iam_idp_arn",
    str,
    None,
    "ARN of the SAML identity provider (ADFS and Okta).",
    owner="federated_auth",
)
IAM_TOKEN_EXPIRATION = Property(
    "iam_token_expiration",
    int,
    870,
    "Federated / Okta token cache lifetime in seconds.",
    owner="federated_auth",
    minimum=1,
    maximum=900,
)
HTTP_REQUEST_CONNECT_TIMEOUT = Property(
    "http_request_connect_timeout",
    float,
    60.0,
    "Connect timeout of identity provider HTTP calls, in seconds.",
    owner="federated_auth",
    minimum=0,
)
SSL_SECURE = Property(
    "ssl_secure",
    bool,
    True,
    "Verify TLS certificates of identity provider calls (false is insecure).",
    owner="federated_auth",
)
IDP_CA_BUNDLE: Property[str | None] = Property(
    "idp_ca_bundle",
    str,
    None,
    "awsdb extension: path of a PEM CA bundle that verifies the identity provider's TLS "
    "certificate (unset: the CA bundle of requests / certifi).",
    owner="federated_auth",
)
STS_ENDPOINT: Property[str | None] = Property(
    "sts_endpoint",
    str,
    None,
    "awsdb extension: AWS STS endpoint override for AssumeRoleWithSAML (ADFS and Okta).",
    owner="federated_auth",
)
DB_USER: Property[str | None] = Property(
    "db_user",
    str,
    None,
    "Database user the federated token is issued for; it replaces user.",
    owner="federated_auth",
)
APP_ID: Property[str | None] = Property(
    "app_id", str, None, "Okta AWS application id.", owner="okta"
)

PROPERTIES: tuple[Property[Any], ...] = (
    IAM_HOST,
    IAM_DEFAULT_PORT,
    IAM_REGION,
    IAM_EXPIRATION,
    AWS_PROFILE,
    SECRETS_MANAGER_SECRET_ID,
    SECRETS_MANAGER_REGION,
    SECRETS_MANAGER_ENDPOINT,
    SECRETS_MANAGER_SECRET_USERNAME_KEY,
    SECRETS_MANAGER_SECRET_PASSWORD_KEY,
    SECRETS_MANAGER_EXPIRATION,
    SECRETS_MANAGER_RETRY_TIMEOUT_SEC,
    IDP_NAME,
    IDP_ENDPOINT,
    IDP_PORT,
    RP_IDENTIFIER,
    IDP_USERNAME,
    IDP_PASSWORD,
    IAM_ROLE_ARN,
    IAM_IDP_ARN,
    IAM_TOKEN_EXPIRATION,
    HTTP_REQUEST_CONNECT_TIMEOUT,
    SSL_SECURE,
    IDP_CA_BUNDLE,
    STS_ENDPOINT,
    DB_USER,
    APP_ID,
)
"""Every property the four plugins read, announced through ``awsdb_properties``."""
