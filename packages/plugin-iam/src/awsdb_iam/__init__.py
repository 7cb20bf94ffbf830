"""awsdb authentication plugins: IAM database tokens, AWS Secrets Manager, ADFS and Okta.

Plugin codes (choose them with ``plugins=``):

- ``iam``: an RDS IAM authentication token as the password, cached per
  ``region:host:port:user``;
- ``aws_secrets_manager``: user and password from a Secrets Manager secret, cached, fetched
  again on a login failure (rotation);
- ``federated_auth``: ADFS SAML federation → STS → IAM token for ``db_user``;
- ``okta``: Okta SAML federation → STS → IAM token for ``db_user``.

::

    import awsdb, psycopg

    conn = awsdb.connect(
        psycopg.Connection.connect,
        "host=db.cluster-xyz.us-east-1.rds.amazonaws.com dbname=app user=app_iam",
        plugins="iam",
    )

Importing this package imports neither boto3 nor requests and starts nothing; the
per-process state (clients and caches) lives in the core's stash and is released by
``awsdb.release_resources()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from awsdb import PluginSpec, hookimpl
from awsdb.properties import Property
from awsdb_iam._cache import CacheStats
from awsdb_iam._errors import AwsAuthError, IdentityProviderError
from awsdb_iam._federated import FederatedAuthPlugin, OktaAuthPlugin
from awsdb_iam._iam import IamAuthPlugin
from awsdb_iam._props import PROPERTIES
from awsdb_iam._secrets import Credentials, SecretsManagerPlugin

__all__ = [
    "AwsAuthError",
    "CacheStats",
    "Credentials",
    "FederatedAuthPlugin",
    "IamAuthPlugin",
    "IdentityProviderError",
    "OktaAuthPlugin",
    "SecretsManagerPlugin",
    "awsdb_plugin_specs",
    "awsdb_properties",
    "cache_stats",
]


@hookimpl
def awsdb_plugin_specs() -> Sequence[PluginSpec]:
    """Announce ``iam``, ``aws_secrets_manager``, ``federated_auth`` and ``okta``."""
    return [
        PluginSpec(
            code="iam",
            factory=IamAuthPlugin,
            weight=700,
            description="IAM database authentication token as the password.",
        ),
        PluginSpec(
            code="aws_secrets_manager",
            factory=SecretsManagerPlugin,
            weight=800,
            description="User and password from AWS Secrets Manager.",
        ),
        PluginSpec(
            code="federated_auth",
            factory=FederatedAuthPlugin,
            weight=900,
            description="ADFS SAML federation, STS, then an IAM token.",
        ),
        PluginSpec(
            code="okta",
            factory=OktaAuthPlugin,
            weight=1000,
            description="Okta SAML federation, STS, then an IAM token.",
        ),
    ]


@hookimpl
def awsdb_properties() -> Sequence[Property[Any]]:
    """Announce the properties of the four plugins."""
    return list(PROPERTIES)


def cache_stats() -> dict[str, CacheStats]:
    """Counters of this process's caches: ``iam_tokens``, ``federated_tokens``, ``secrets``
    (``created`` counts token generations and secret fetches)."""
    from awsdb._service import get_services
    from awsdb_iam._state import auth_state

    state = auth_state(get_services())
    return {
        "iam_tokens": state.iam_tokens.stats,
        "federated_tokens": state.federated_tokens.stats,
        "secrets": state.secrets.stats,
    }
