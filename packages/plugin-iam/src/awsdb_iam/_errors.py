"""The errors of the authentication plugins (never carrying a secret, token or body)."""

from __future__ import annotations

from awsdb.errors import OperationalError

__all__ = ["AwsAuthError", "IdentityProviderError"]


class AwsAuthError(OperationalError):
    """Credentials could not be obtained from AWS (STS, Secrets Manager, token signing)."""


class IdentityProviderError(AwsAuthError):
    """The identity provider (ADFS, Okta) refused the login or answered unexpectedly."""
