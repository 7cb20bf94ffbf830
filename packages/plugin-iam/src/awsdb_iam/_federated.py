"""The ``federated_auth`` (ADFS) and ``okta`` plugins: SAML → STS → IAM token
(aurora-facts §10.3, §10.4).

The identity provider's SAML assertion is exchanged with STS ``AssumeRoleWithSAML`` for
temporary credentials, which sign an RDS IAM token for ``db_user`` (it replaces ``user``).
Tokens are cached per ``region:host:port:db_user`` for ``iam_token_expiration`` seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from awsdb.errors import ProgrammingError
from awsdb_iam._aws import TemporaryCredentials
from awsdb_iam._base import AuthPlugin
from awsdb_iam._errors import AwsAuthError
from awsdb_iam._iam import generate_token
from awsdb_iam._props import (
    DB_USER,
    IAM_IDP_ARN,
    IAM_ROLE_ARN,
    IAM_TOKEN_EXPIRATION,
    IDP_NAME,
    STS_ENDPOINT,
)
from awsdb_iam._saml import adfs_assertion, okta_assertion
from awsdb_iam._target import resolve_target

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties
    from awsdb_iam._state import AuthState

__all__ = ["FederatedAuthPlugin", "OktaAuthPlugin", "assume_role_with_saml"]


def assume_role_with_saml(
    state: AuthState, props: Properties, region: str, assertion: str, code: str
) -> TemporaryCredentials:
    """STS ``AssumeRoleWithSAML`` (an unsigned call) → temporary credentials."""
    role = props.get(IAM_ROLE_ARN)
    principal = props.get(IAM_IDP_ARN)
    if not role or not principal:
        raise ProgrammingError(f"{code}: iam_role_arn and iam_idp_arn are required")
    sts = state.clients.client("sts", region=region, endpoint=props.get(STS_ENDPOINT), signed=False)
    state.guard_logs()
    try:
        reply: dict[str, Any] = sts.assume_role_with_saml(
            RoleArn=str(role), PrincipalArn=str(principal), SAMLAssertion=assertion
        )
        raw = reply["Credentials"]
        creds = TemporaryCredentials(
            str(raw["AccessKeyId"]), str(raw["SecretAccessKey"]), str(raw["SessionToken"])
        )
    except Exception as exc:
        response = getattr(exc, "response", None)
        reason = type(exc).__name__
        if isinstance(response, dict) and response.get("Error", {}).get("Code"):
            reason = str(response["Error"]["Code"])
        raise AwsAuthError(f"{code}: STS AssumeRoleWithSAML for {role} failed: {reason}") from None
    for part in creds:
        state.remember_secret(part)
    return creds


class _FederatedPlugin(AuthPlugin):
    """Common part of the two federation plugins."""

    def fetch_assertion(self, props: Properties, state: AuthState) -> str:
        """Log in to the identity provider; return the SAML assertion."""
        raise NotImplementedError

    def cache(self, state: AuthState) -> Any:
        """Federated tokens have their own cache (other lifetime, other credentials)."""
        return state.federated_tokens

    def check(self, props: Properties) -> None:
        """Validate plugin-specific properties."""

    def plan(
        self, host: HostInfo, props: Properties, state: AuthState
    ) -> tuple[str | None, str, int, Callable[[], str]]:
        """The cache key ``region:host:port:db_user`` and the SAML → STS → token factory."""
        self.check(props)
        db_user = props.get(DB_USER)
        if not db_user:
            raise ProgrammingError(f"{self.code}: db_user is required (the database user)")
        db_user = str(db_user)
        driver = self.service.driver
        target = resolve_target(host, props, driver.family, driver.default_port, state, self.code)
        key = f"{target.region}:{target.host}:{target.port}:{db_user}"
        code = self.code

        def create() -> str:
            assertion = self.fetch_assertion(props, state)
            creds = assume_role_with_saml(state, props, target.region, assertion, code)
            return generate_token(
                state,
                code,
                target,
                db_user,
                lambda: state.clients.client_for("rds", target.region, creds),
            )

        return db_user, key, int(props.get(IAM_TOKEN_EXPIRATION)), create


class FederatedAuthPlugin(_FederatedPlugin):
    """ADFS: IdP-initiated sign-on form → SAML → STS → IAM token."""

    code = "federated_auth"

    def fetch_assertion(self, props: Properties, state: AuthState) -> str:
        """The ADFS form login."""
        return adfs_assertion(props, state, self.code)

    def check(self, props: Properties) -> None:
        """Only ADFS is implemented by this plugin (Okta has its own code)."""
        name = str(props.get(IDP_NAME) or "adfs").strip().lower()
        if name != "adfs":
            raise ProgrammingError(
                f"federated_auth: idp_name {name!r} is not supported (allowed: 'adfs'; "
                "use the okta plugin for Okta)"
            )


class OktaAuthPlugin(_FederatedPlugin):
    """Okta: authn → session token → AWS app SAML → STS → IAM token."""

    code = "okta"

    def fetch_assertion(self, props: Properties, state: AuthState) -> str:
        """The Okta authn and AWS-app SSO login."""
        return okta_assertion(props, state, self.code)
