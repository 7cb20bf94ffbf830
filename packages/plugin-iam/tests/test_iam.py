"""The ``iam`` plugin: token cache, retry, region and port rules (fake driver), and a real
PostgreSQL login with the exact token."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from _iamtest_support import HOST, expected_token

import awsdb
import awsdb_iam
from awsdb.errors import ProgrammingError
from awsdb_testing.fake_driver import FakeDriver


def _connect(driver: FakeDriver, **kw: Any) -> Any:
    props: dict[str, Any] = {"host": HOST, "port": 5432, "user": "app_iam", "plugins": "iam"}
    props.update(kw)
    return awsdb.connect(driver.connect, **props)


def test_token_is_the_password_signed_for_host_port_user(frozen_clock: Any) -> None:
    driver = FakeDriver()
    _connect(driver).close()
    sent = driver.calls.last("connect").kwargs
    assert sent["password"] == expected_token(HOST, 5432, "app_iam", "us-east-1")
    assert sent["user"] == "app_iam"
    assert "iam_region" not in sent and "plugins" not in sent


def test_thousand_connects_in_a_token_window_generate_one_token() -> None:
    driver = FakeDriver()
    for _ in range(1000):
        _connect(driver).close()
    stats = awsdb_iam.cache_stats()["iam_tokens"]
    assert stats.created == 1
    assert stats.hits == 999
    assert len({c.kwargs["password"] for c in driver.calls.of("connect")}) == 1


def test_concurrent_first_connects_generate_one_token() -> None:
    driver = FakeDriver()
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        _connect(driver).close()

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert driver.calls.count("connect") == 16
    assert awsdb_iam.cache_stats()["iam_tokens"].created == 1


def test_boto3_session_and_client_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3.session

    made: list[str] = []
    original = boto3.session.Session.client

    def counting(self: Any, *a: Any, **k: Any) -> Any:
        made.append(a[0] if a else k["service_name"])
        return original(self, *a, **k)

    monkeypatch.setattr(boto3.session.Session, "client", counting)
    driver = FakeDriver()
    for user in ("u1", "u2", "u3"):  # three cache keys: three tokens, one client
        _connect(driver, user=user).close()
    assert awsdb_iam.cache_stats()["iam_tokens"].created == 3
    assert made == ["rds"]


def test_key_is_region_host_port_user() -> None:
    driver = FakeDriver()
    _connect(driver).close()
    _connect(driver, port=5433).close()
    _connect(driver, user="other").close()
    _connect(driver, iam_region="eu-west-1").close()
    _connect(driver).close()
    assert awsdb_iam.cache_stats()["iam_tokens"].created == 4


def test_login_failure_with_cached_token_retries_once_with_a_fresh_token(
    frozen_clock: Any,
) -> None:
    driver = FakeDriver()
    _connect(driver).close()
    driver.script.login_failure()
    _connect(driver).close()
    calls = driver.calls.of("connect")
    assert len(calls) == 3  # first connect, failed cached-token connect, retry
    assert awsdb_iam.cache_stats()["iam_tokens"].created == 2
    assert awsdb_iam.cache_stats()["iam_tokens"].invalidated == 1


def test_login_failure_with_fresh_token_is_not_retried() -> None:
    driver = FakeDriver()
    driver.script.login_failure()
    with pytest.raises(Exception) as info:
        _connect(driver)
    assert type(info.value).__module__.startswith("awsdb_testing")  # the driver's error
    assert driver.calls.count("connect") == 1


def test_second_login_failure_reaches_the_caller_unchanged() -> None:
    driver = FakeDriver()
    _connect(driver).close()
    driver.script.login_failure(times=2)
    with pytest.raises(Exception) as info:
        _connect(driver)
    assert "password authentication failed" in str(info.value)
    assert driver.calls.count("connect") == 3


def test_network_error_passes_through_unchanged_without_retry() -> None:
    driver = FakeDriver()
    _connect(driver).close()
    driver.script.network_error("connect")
    with pytest.raises(Exception) as info:
        _connect(driver)
    assert type(info.value).__name__ == "OperationalError"
    assert driver.calls.count("connect") == 2
    assert awsdb_iam.cache_stats()["iam_tokens"].created == 1


def test_iam_host_and_default_port_are_what_the_token_is_signed_for(frozen_clock: Any) -> None:
    driver = FakeDriver()
    signed = "inst-1.c9abc.eu-central-1.rds.amazonaws.com"
    _connect(driver, host="db.example.com", iam_host=signed, iam_default_port=6000).close()
    sent = driver.calls.last("connect").kwargs
    assert sent["host"] == "db.example.com"  # the connection still goes to the CNAME
    assert sent["password"] == expected_token(signed, 6000, "app_iam", "eu-central-1")


def test_region_follows_the_host_of_each_connect(frozen_clock: Any) -> None:
    """A cross-region failover reconnects through the pipeline: the new host's region."""
    driver = FakeDriver()
    conn = _connect(driver)
    west = "db-2.c9xyz.us-west-2.rds.amazonaws.com"
    from awsdb.hosts import HostInfo

    service = conn._service if hasattr(conn, "_service") else conn.service
    service.connect(HostInfo(west, 5432))
    sent = driver.calls.last("connect").kwargs
    assert sent["password"] == expected_token(west, 5432, "app_iam", "us-west-2")
    assert "X-Amz-Credential=" in sent["password"] and "us-west-2%2Frds-db" in sent["password"]
    conn.close()


def test_port_defaults_to_the_dialect_port() -> None:
    driver = FakeDriver()
    with pytest.raises(ProgrammingError, match="no port"):
        awsdb.connect(driver.connect, host=HOST, user="u", plugins="iam")


@pytest.mark.parametrize(
    ("props", "match"),
    [
        ({"user": None}, "user property is required"),
        ({"host": "10.0.0.5"}, "not an RDS host name"),
        ({"host": "db.example.com"}, "set iam_host"),
        ({"host": "db.cluster-abc.rds.amazonaws.com.cn.example"}, "not an RDS"),
        ({"iam_expiration": 901}, "iam_expiration"),
    ],
)
def test_bad_input_is_a_clear_error(props: dict[str, Any], match: str) -> None:
    driver = FakeDriver()
    with pytest.raises(ProgrammingError, match=match):
        _connect(driver, **props)
    assert driver.calls.count("connect") == 0


def test_missing_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(awsdb_iam.AwsAuthError, match=r"cannot sign an IAM token.*NoCredentials"):
        _connect(FakeDriver())


def test_repr_shows_no_token() -> None:
    driver = FakeDriver()
    conn = _connect(driver)
    token = driver.calls.last("connect").kwargs["password"]
    from awsdb._service import get_services
    from awsdb_iam._state import auth_state

    state = auth_state(get_services())
    for text in (repr(state), repr(state.iam_tokens), repr(state.clients), repr(conn)):
        assert token not in text
        assert "X-Amz-Signature" not in text
    conn.close()


@pytest.mark.pg
def test_real_postgresql_login_with_the_exact_token(
    pg_node: Any, frozen_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = expected_token(pg_node.name, pg_node.port, "iam_app", "us-east-1")
    assert len(token) > 300
    pg_node.set_password("iam_app", token)
    with pg_node.cluster.names_installed():
        # the role needs its password: a wrong one is refused (SCRAM, not trust)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            awsdb.connect(
                psycopg.Connection.connect,
                host=pg_node.name,
                port=pg_node.port,
                user="iam_app",
                password="wrong",
                dbname="app",
                plugins="",
            )
        with awsdb.connect(
            psycopg.Connection.connect,
            host=pg_node.name,
            port=pg_node.port,
            user="iam_app",
            dbname="app",
            plugins="iam",
        ) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("iam_app",)
        # a rotated token (the clock moved on) while the cached one is refused: retry once
        import datetime

        import botocore.auth

        later = frozen_clock + datetime.timedelta(minutes=1)
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: later)
        fresh = expected_token(pg_node.name, pg_node.port, "iam_app", "us-east-1")
        assert fresh != token
        pg_node.set_password("iam_app", fresh)
        with awsdb.connect(
            psycopg.Connection.connect,
            host=pg_node.name,
            port=pg_node.port,
            user="iam_app",
            dbname="app",
            plugins="iam",
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        stats = awsdb_iam.cache_stats()["iam_tokens"]
        assert (stats.created, stats.invalidated) == (2, 1)


def test_global_writer_region_from_describe_global_clusters(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, frozen_clock: Any
) -> None:
    import boto3

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", moto_endpoint)
    east = boto3.client("rds", region_name="us-east-1", endpoint_url=moto_endpoint)
    west = boto3.client("rds", region_name="eu-west-2", endpoint_url=moto_endpoint)
    east.create_global_cluster(GlobalClusterIdentifier="gapp", Engine="aurora-postgresql")
    west.create_db_cluster(
        DBClusterIdentifier="gapp-eu",
        Engine="aurora-postgresql",
        GlobalClusterIdentifier="gapp",
        MasterUsername="admin",
        MasterUserPassword="admin-pass-1",
    )
    host = "gapp.global-c9abc.global.rds.amazonaws.com"
    driver = FakeDriver()
    for _ in range(3):
        _connect(driver, host=host).close()
    sent = driver.calls.last("connect").kwargs
    assert sent["password"] == expected_token(host, 5432, "app_iam", "eu-west-2")
    assert awsdb_iam.cache_stats()["iam_tokens"].created == 1


def test_global_writer_without_region_is_a_clear_error(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_RDS", moto_endpoint)
    with pytest.raises(awsdb_iam.AwsAuthError, match="set iam_region"):
        _connect(FakeDriver(), host="nope.global-c9abc.global.rds.amazonaws.com")


def test_import_imports_neither_boto3_nor_requests_and_starts_no_thread() -> None:
    import subprocess
    import sys

    code = (
        "import sys, threading, awsdb_iam; "
        "print(sorted(m for m in ('boto3', 'botocore', 'requests') if m in sys.modules), "
        "threading.active_count())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "1"]


def test_aws_profile_signs_with_the_profile_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, frozen_clock: Any
) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(
        "[dbteam]\naws_access_key_id = AKIAPROFILEEXAMPLE01\n"
        "aws_secret_access_key = profileSecretKeyEXAMPLE0123456789abcdefg\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    driver = FakeDriver()
    _connect(driver, aws_profile="dbteam").close()
    _connect(driver).close()  # the default chain: another cache key, another token
    profile_token, default_token = (c.kwargs["password"] for c in driver.calls.of("connect"))
    assert profile_token == expected_token(
        HOST,
        5432,
        "app_iam",
        "us-east-1",
        access_key="AKIAPROFILEEXAMPLE01",
        secret_key="profileSecretKeyEXAMPLE0123456789abcdefg",
    )
    assert default_token == expected_token(HOST, 5432, "app_iam", "us-east-1")
    with pytest.raises(awsdb_iam.AwsAuthError, match="ProfileNotFound"):
        _connect(FakeDriver(), aws_profile="missing")
