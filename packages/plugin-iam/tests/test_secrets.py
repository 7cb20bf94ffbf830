"""The ``aws_secrets_manager`` plugin against moto in server mode on loopback, and a real
PostgreSQL login with the secret's password (and across a rotation)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import psycopg
import pytest
from _iamtest_support import HOST
from _iamtest_support import make_secret as _secret
from _iamtest_support import secrets_client as _sm

import awsdb
import awsdb_iam
from awsdb.errors import ProgrammingError
from awsdb_testing.fake_driver import FakeDriver


def _connect(target: Any, endpoint: str, secret_id: str, **kw: Any) -> Any:
    props: dict[str, Any] = {
        "host": HOST,
        "port": 5432,
        "plugins": "aws_secrets_manager",
        "secrets_manager_secret_id": secret_id,
        "secrets_manager_endpoint": endpoint,
    }
    props.update(kw)
    return awsdb.connect(target, **props)


def test_user_and_password_come_from_the_secret_arn_region(moto_endpoint: str) -> None:
    arn = _secret(moto_endpoint, {"username": "sm_user", "password": "s3cret-pw-1"}, "eu-west-1")
    assert ":eu-west-1:" in arn
    driver = FakeDriver()
    _connect(driver.connect, moto_endpoint, arn).close()
    sent = driver.calls.last("connect").kwargs
    assert (sent["user"], sent["password"]) == ("sm_user", "s3cret-pw-1")
    assert not any(k.startswith("secrets_manager") for k in sent)


def test_name_needs_a_region(moto_endpoint: str) -> None:
    with pytest.raises(ProgrammingError, match="set secrets_manager_region"):
        _connect(FakeDriver().connect, moto_endpoint, "db/by-name")


def test_name_with_region_and_custom_keys(moto_endpoint: str) -> None:
    arn = _secret(moto_endpoint, {"login": "u2", "pw": "another-pw-2"}, "ap-south-1")
    name = _sm(moto_endpoint, "ap-south-1").describe_secret(SecretId=arn)["Name"]
    driver = FakeDriver()
    _connect(
        driver.connect,
        moto_endpoint,
        name,
        secrets_manager_region="ap-south-1",
        secrets_manager_secret_username_key="login",
        secrets_manager_secret_password_key="pw",
    ).close()
    sent = driver.calls.last("connect").kwargs
    assert (sent["user"], sent["password"]) == ("u2", "another-pw-2")


def test_missing_key_and_missing_secret_are_clear_errors(moto_endpoint: str) -> None:
    arn = _secret(moto_endpoint, {"username": "u", "pass": "not-under-password"})
    with pytest.raises(awsdb_iam.AwsAuthError, match="no string key 'password'") as info:
        _connect(FakeDriver().connect, moto_endpoint, arn)
    assert "not-under-password" not in str(info.value)
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    with pytest.raises(awsdb_iam.AwsAuthError, match="ResourceNotFoundException"):
        _connect(FakeDriver().connect, moto_endpoint, missing)


def test_cached_for_the_expiration(moto_endpoint: str) -> None:
    arn = _secret(moto_endpoint, {"username": "u", "password": "cached-pw-1"})
    driver = FakeDriver()
    for _ in range(50):
        _connect(driver.connect, moto_endpoint, arn).close()
    assert awsdb_iam.cache_stats()["secrets"].created == 1


def test_expired_secret_is_fetched_again(moto_endpoint: str, monkeypatch: Any) -> None:
    arn = _secret(moto_endpoint, {"username": "u", "password": "pw-before-x"})
    driver = FakeDriver()
    _connect(driver.connect, moto_endpoint, arn, secrets_manager_expiration=1).close()
    _sm(moto_endpoint).put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": "u", "password": "pw-after-y"})
    )
    time.sleep(1.1)
    _connect(driver.connect, moto_endpoint, arn, secrets_manager_expiration=1).close()
    assert driver.calls.last("connect").kwargs["password"] == "pw-after-y"


def test_login_failure_refetches_and_retries_with_the_new_secret(moto_endpoint: str) -> None:
    arn = _secret(moto_endpoint, {"username": "u", "password": "old-password"})
    driver = FakeDriver()
    _connect(driver.connect, moto_endpoint, arn).close()
    _sm(moto_endpoint).put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": "u", "password": "new-password"})
    )
    driver.script.login_failure()
    _connect(driver.connect, moto_endpoint, arn).close()
    passwords = [c.kwargs["password"] for c in driver.calls.of("connect")]
    assert passwords == ["old-password", "old-password", "new-password"]


def test_rotation_window_is_bridged_by_the_pending_version(moto_endpoint: str) -> None:
    """The database already has the AWSPENDING password; AWSCURRENT is still the old one."""
    arn = _secret(moto_endpoint, {"username": "u", "password": "current-pw"})
    _sm(moto_endpoint).put_secret_value(
        SecretId=arn,
        SecretString=json.dumps({"username": "u", "password": "pending-pw"}),
        VersionStages=["AWSPENDING"],
    )
    driver = FakeDriver()
    driver.script.login_failure()
    _connect(driver.connect, moto_endpoint, arn).close()
    passwords = [c.kwargs["password"] for c in driver.calls.of("connect")]
    assert passwords == ["current-pw", "pending-pw"]


def test_retry_gives_up_after_the_timeout_with_the_driver_error(moto_endpoint: str) -> None:
    from awsdb._service import get_services
    from awsdb_iam._state import auth_state

    arn = _secret(moto_endpoint, {"username": "u", "password": "never-right"})
    client = auth_state(get_services()).clients.client(
        "secretsmanager", region="us-east-1", endpoint=moto_endpoint
    )
    original = client.get_secret_value
    stages: list[str] = []

    def counted(**kw: Any) -> Any:
        stages.append(kw.get("VersionStage", "AWSCURRENT"))
        return original(**kw)

    client.get_secret_value = counted
    driver = FakeDriver()
    driver.script.login_failure(times=None)
    with pytest.raises(Exception, match="password authentication failed") as info:
        _connect(driver.connect, moto_endpoint, arn, secrets_manager_retry_timeout_sec=0)
    assert "never-right" not in str(info.value)
    assert driver.calls.count("connect") == 1  # the same secret is never retried
    # timeout 0: the cached fetch, then one round (AWSCURRENT again, AWSPENDING), no more
    assert stages == ["AWSCURRENT", "AWSCURRENT", "AWSPENDING"]
    assert awsdb_iam.cache_stats()["secrets"].invalidated == 1
    stages.clear()
    with pytest.raises(Exception, match="password authentication failed"):
        _connect(driver.connect, moto_endpoint, arn, secrets_manager_retry_timeout_sec=3)
    assert len(stages) > 3  # kept fetching with a backoff until the timeout, then gave up


def test_stale_secret_is_served_while_one_caller_refreshes(moto_endpoint: str) -> None:
    from awsdb._service import get_services
    from awsdb_iam._state import auth_state

    arn = _secret(moto_endpoint, {"username": "u", "password": "stale-but-fine"})
    driver = FakeDriver()
    _connect(driver.connect, moto_endpoint, arn, secrets_manager_expiration=1).close()
    time.sleep(1.1)
    client = auth_state(get_services()).clients.client(
        "secretsmanager", region="us-east-1", endpoint=moto_endpoint
    )
    entered, release = threading.Event(), threading.Event()
    original = client.get_secret_value

    def slow(**kw: Any) -> Any:
        entered.set()
        release.wait(30)
        return original(**kw)

    client.get_secret_value = slow
    refresher = threading.Thread(
        target=lambda: _connect(
            driver.connect, moto_endpoint, arn, secrets_manager_expiration=1
        ).close()
    )
    refresher.start()
    assert entered.wait(30)
    # while the refresh is blocked, another connect is served the expired secret at once
    _connect(driver.connect, moto_endpoint, arn, secrets_manager_expiration=1).close()
    assert awsdb_iam.cache_stats()["secrets"].stale_served == 1
    release.set()
    refresher.join(30)
    assert awsdb_iam.cache_stats()["secrets"].created == 2


@pytest.mark.pg
def test_real_postgresql_login_and_rotation(pg_node: Any, moto_endpoint: str) -> None:
    pg_node.set_password("sm_app", "first-Secret-pw")
    arn = _secret(moto_endpoint, {"username": "sm_app", "password": "first-Secret-pw"})
    kw = {"port": pg_node.port, "dbname": "app", "host": pg_node.name}
    with pg_node.cluster.names_installed():
        with _connect(psycopg.Connection.connect, moto_endpoint, arn, **kw) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("sm_app",)
        # rotation: the database gets the new password first, the secret follows later
        pg_node.set_password("sm_app", "second-Secret-pw")

        def finish_rotation() -> None:
            time.sleep(0.5)
            _sm(moto_endpoint).put_secret_value(
                SecretId=arn,
                SecretString=json.dumps({"username": "sm_app", "password": "second-Secret-pw"}),
            )

        rotator = threading.Thread(target=finish_rotation)
        rotator.start()
        try:
            with _connect(
                psycopg.Connection.connect,
                moto_endpoint,
                arn,
                secrets_manager_retry_timeout_sec=20,
                **kw,
            ) as conn:
                assert conn.execute("SELECT current_user").fetchone() == ("sm_app",)
        finally:
            rotator.join(30)
        # the cache now holds the rotated secret: no login failure, no retry
        driver_calls = awsdb_iam.cache_stats()["secrets"]
        hits = driver_calls.hits
        with _connect(
            psycopg.Connection.connect,
            moto_endpoint,
            arn,
            secrets_manager_retry_timeout_sec=0,
            **kw,
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert awsdb_iam.cache_stats()["secrets"].hits == hits + 1
