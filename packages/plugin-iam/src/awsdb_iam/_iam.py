"""The ``iam`` plugin: an RDS IAM authentication token as the password (aurora-facts §10.1).

The token is a SigV4-presigned URL made locally by boto3's ``generate_db_auth_token`` (no
network call) for ``region:host:port:user``; it is cached for ``iam_expiration`` seconds
(870 by default, a 30 s margin before the 15-minute validity ends), so a thousand connects
in a token window generate one token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from awsdb.errors import ProgrammingError
from awsdb_iam._base import AuthPlugin
from awsdb_iam._errors import AwsAuthError
from awsdb_iam._props import AWS_PROFILE, IAM_EXPIRATION
from awsdb_iam._target import TokenTarget, resolve_target

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties
    from awsdb_iam._state import AuthState

__all__ = ["IamAuthPlugin", "generate_token"]


def generate_token(
    state: AuthState,
    plugin_code: str,
    target: TokenTarget,
    user: str,
    make_client: Callable[[], Any],
) -> str:
    """Presign an RDS IAM token with the ``rds`` client ``make_client()`` returns (a shared
    one); remember the token as a secret for log redaction. Errors (no credentials, an
    unknown profile) name the cause, never credentials."""
    state.guard_logs()  # before botocore logs the canonical request and the signature
    try:
        token: str = make_client().generate_db_auth_token(
            DBHostname=target.host, Port=target.port, DBUsername=user, Region=target.region
        )
    except Exception as exc:
        message = state.secrets_filter.redact(str(exc))
        raise AwsAuthError(
            f"{plugin_code}: cannot sign an IAM token for {user}@{target.host}:{target.port} "
            f"in {target.region}: {type(exc).__name__}: {message}"
        ) from None
    state.remember_secret(token)
    return token


class IamAuthPlugin(AuthPlugin):
    """Sets an IAM token as the password of every physical connection."""

    code = "iam"

    def plan(
        self, host: HostInfo, props: Properties, state: AuthState
    ) -> tuple[str | None, str, int, Callable[[], str]]:
        """The cache key ``region:host:port:user`` and the token factory."""
        user = props.get("user")
        if not user:
            raise ProgrammingError("iam: the user property is required (the database user)")
        user = str(user)
        driver = self.service.driver
        target = resolve_target(host, props, driver.family, driver.default_port, state, "iam")
        profile = props.get(AWS_PROFILE)
        key = f"{target.region}:{target.host}:{target.port}:{user}"
        if profile:
            key += f":{profile}"

        def create() -> str:
            return generate_token(
                state,
                "iam",
                target,
                user,
                lambda: state.clients.client("rds", profile=profile, region=target.region),
            )

        return None, key, int(props.get(IAM_EXPIRATION)), create
