"""The ``aws_secrets_manager`` plugin: user and password from a secret (aurora-facts §10.2).

The secret (``SecretString`` JSON) is cached per (secret id, region, endpoint) for
``secrets_manager_expiration`` seconds (one hour by default). When it expires, one caller
fetches it again while concurrent callers keep using the cached value.

Rotation: a login failure makes the plugin fetch the secret again. A changed secret is
tried at once; an unchanged one means the rotation is between setting the new password
on the database and promoting it to ``AWSCURRENT``, so the ``AWSPENDING`` version is tried,
then the plugin keeps fetching with a backoff until ``secrets_manager_retry_timeout_sec``
has passed, and finally raises the driver's login error unchanged.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from awsdb.errors import ProgrammingError
from awsdb_iam._base import AuthPlugin, CallNext, driver_overrides
from awsdb_iam._errors import AwsAuthError
from awsdb_iam._props import (
    AWS_PROFILE,
    SECRETS_MANAGER_ENDPOINT,
    SECRETS_MANAGER_EXPIRATION,
    SECRETS_MANAGER_REGION,
    SECRETS_MANAGER_RETRY_TIMEOUT_SEC,
    SECRETS_MANAGER_SECRET_ID,
    SECRETS_MANAGER_SECRET_PASSWORD_KEY,
    SECRETS_MANAGER_SECRET_USERNAME_KEY,
)

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties
    from awsdb_iam._state import AuthState

__all__ = ["Credentials", "SecretsManagerPlugin", "region_of_secret"]

_log = logging.getLogger("awsdb_iam")

_ARN = re.compile(r"^arn:aws:secretsmanager:(?P<region>[^:\n]*):")
_FIRST_DELAY_S = 0.2
_MAX_DELAY_S = 2.0


class Credentials(NamedTuple):
    """A database user and password read from a secret. ``repr`` hides the password."""

    user: str | None
    password: str

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password=***)"

    def __str__(self) -> str:
        return self.__repr__()


def region_of_secret(secret_id: str, explicit: str | None) -> str:
    """``secrets_manager_region``, else the region of an ARN, else a clear error."""
    if explicit:
        return explicit
    m = _ARN.match(secret_id)
    if m is not None and m.group("region"):
        return m.group("region")
    raise ProgrammingError(
        "aws_secrets_manager: set secrets_manager_region, or give the secret as an ARN "
        f"(arn:aws:secretsmanager:<region>:...); {secret_id!r} names no region"
    )


class _Secret(NamedTuple):
    secret_id: str
    region: str
    endpoint: str | None
    profile: str | None
    user_key: str
    password_key: str


class SecretsManagerPlugin(AuthPlugin):
    """Sets ``user`` and ``password`` from an AWS Secrets Manager secret."""

    code = "aws_secrets_manager"

    def _open(
        self, host: HostInfo, props: Properties, is_initial: bool, call_next: CallNext
    ) -> Any:
        state = self.state()
        secret = self._secret(props)
        key = (secret.secret_id, secret.region, secret.endpoint, secret.profile)
        ttl = int(props.get(SECRETS_MANAGER_EXPIRATION))
        creds, _ = state.secrets.get_or_create(
            key, ttl, lambda: self._fetch(state, secret), serve_stale=True
        )
        try:
            return call_next(host, self._with(props, creds), is_initial)
        except Exception as exc:
            if not self.service.is_login_error(exc):
                raise
            last: Exception = exc
        _log.debug("aws_secrets_manager: login failed for %s; fetching it again", secret.secret_id)
        deadline = time.monotonic() + float(props.get(SECRETS_MANAGER_RETRY_TIMEOUT_SEC))
        delay = _FIRST_DELAY_S
        tried = {creds}
        while True:
            candidates = [self._fetch(state, secret)]
            pending = self._fetch(state, secret, stage="AWSPENDING")
            if pending is not None:
                candidates.append(pending)
            for candidate in candidates:
                if candidate is None or candidate in tried:
                    continue
                tried.add(candidate)
                try:
                    conn = call_next(host, self._with(props, candidate), is_initial)
                except Exception as exc:
                    if not self.service.is_login_error(exc):
                        raise
                    last = exc
                    continue
                state.secrets.put(key, candidate, ttl)
                return conn
            if time.monotonic() + delay > deadline:
                state.secrets.invalidate(key)
                raise last
            time.sleep(delay)
            delay = min(delay * 2, _MAX_DELAY_S)

    def _with(self, props: Properties, creds: Credentials) -> Properties:
        return driver_overrides(
            self.code,
            self.service.driver.family,
            props,
            creds.password,
            creds.user,
            cleartext=False,
        )

    def _secret(self, props: Properties) -> _Secret:
        secret_id = props.get(SECRETS_MANAGER_SECRET_ID)
        if not secret_id:
            raise ProgrammingError(
                "aws_secrets_manager: secrets_manager_secret_id is required (a name or ARN)"
            )
        return _Secret(
            str(secret_id),
            region_of_secret(str(secret_id), props.get(SECRETS_MANAGER_REGION)),
            props.get(SECRETS_MANAGER_ENDPOINT),
            props.get(AWS_PROFILE),
            str(props.get(SECRETS_MANAGER_SECRET_USERNAME_KEY)),
            str(props.get(SECRETS_MANAGER_SECRET_PASSWORD_KEY)),
        )

    def plan(  # pragma: no cover - this plugin overrides _open
        self, host: HostInfo, props: Properties, state: AuthState
    ) -> tuple[str | None, str, int, Callable[[], str]]:
        raise NotImplementedError

    def _fetch(self, state: AuthState, secret: _Secret, stage: str | None = None) -> Any:
        """The credentials of ``secret`` (``None`` for a missing ``stage``)."""
        client = state.clients.client(
            "secretsmanager",
            profile=secret.profile,
            region=secret.region,
            endpoint=secret.endpoint,
        )
        state.guard_logs()
        kwargs: dict[str, str] = {"SecretId": secret.secret_id}
        if stage is not None:
            kwargs["VersionStage"] = stage
        try:
            reply: dict[str, Any] = client.get_secret_value(**kwargs)
        except Exception as exc:
            code = _error_code(exc)
            if stage is not None and code == "ResourceNotFoundException":
                return None
            raise AwsAuthError(
                f"aws_secrets_manager: GetSecretValue of {secret.secret_id!r} in "
                f"{secret.region} failed: {code}"
            ) from None
        return _parse(state, secret, reply.get("SecretString"))


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(exc).__name__


def _parse(state: AuthState, secret: _Secret, text: object) -> Credentials:
    if not isinstance(text, str):
        raise AwsAuthError(
            f"aws_secrets_manager: secret {secret.secret_id!r} has no SecretString "
            "(binary secrets are not supported)"
        )
    state.remember_secret(text)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise AwsAuthError(
            f"aws_secrets_manager: the SecretString of {secret.secret_id!r} is not a JSON object"
        )
    password = data.get(secret.password_key)
    if not isinstance(password, str):
        raise AwsAuthError(
            f"aws_secrets_manager: secret {secret.secret_id!r} has no string key "
            f"{secret.password_key!r} (keys: {sorted(str(k) for k in data)}); set "
            "secrets_manager_secret_password_key"
        )
    state.remember_secret(password)
    user = data.get(secret.user_key)
    return Credentials(str(user) if user is not None else None, password)
