"""IAM authentication cost: token cache, cold and warm IAM connects vs a password connect.

Measures, in one process, interleaved (rounds alternate between the variants; each figure
is the median over rounds):

- token generations for 1,000 connects to a real PostgreSQL inside one token window;
- the ``iam`` plugin's own cost per connect on a cache hit, over awsdb-testing's fake
  driver (no I/O): ``plugins="iam"`` minus ``plugins=""``;
- connect + close latency to a local PostgreSQL (SCRAM authentication for every role):
  raw psycopg with a short password and with the token as password (libpq's SCRAM client
  pays for the long password), awsdb with a password, awsdb ``iam`` warm (cached token),
  ``iam`` token miss (sessions and clients reused, the token presigned again) and ``iam``
  cold (fresh process state: new boto3 session, client and token);
- ``import boto3`` + first client in a fresh interpreter (paid once by the first IAM
  connect of a process; awsdb_iam never imports boto3 at import);
- when the published AWS Advanced Python Wrapper is importable (a test-only peer:
  ``bash benchmarks/run_iam_vs_aws_wrapper.sh``), its ``iam`` plugin on the same server in
  the same rounds, and both wrappers' token generations and boto3 sessions for 1,000
  connects.

Static fake credentials and a frozen signing clock make the token deterministic, so the
role's password can be set to it; signing costs the same as with real credentials.
Usage: ``uv run python benchmarks/iam_connect.py [--rounds N]``; results go to
``benchmarks/results/iam_connect.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packages" / "plugin-iam" / "tests"))

os.environ.update(
    AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    AWS_EC2_METADATA_DISABLED="true",
    AWS_CONFIG_FILE="/dev/null",
    AWS_SHARED_CREDENTIALS_FILE="/dev/null",
)

import boto3.session  # noqa: E402
import botocore.auth  # noqa: E402
import botocore.signers  # noqa: E402
import psycopg  # noqa: E402

import awsdb  # noqa: E402
import awsdb_iam  # noqa: E402
from awsdb._service import get_services  # noqa: E402
from awsdb_iam._state import auth_state  # noqa: E402
from awsdb_testing.fake_driver import FakeDriver  # noqa: E402

FROZEN = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.UTC)
HOST = "db.cluster-c9abc.us-east-1.rds.amazonaws.com"


class _Counts:
    """Counts presigned tokens and boto3 sessions, whoever makes them."""

    tokens = 0
    sessions = 0

    @classmethod
    def install(cls) -> None:
        sign = botocore.signers.generate_db_auth_token
        init = boto3.session.Session.__init__

        def counted_sign(*a: Any, **k: Any) -> Any:
            cls.tokens += 1
            return sign(*a, **k)

        def counted_init(self: Any, *a: Any, **k: Any) -> None:
            cls.sessions += 1
            init(self, *a, **k)

        botocore.signers.generate_db_auth_token = counted_sign  # bound at client creation
        boto3.session.Session.__init__ = counted_init  # type: ignore[method-assign]

    @classmethod
    def take(cls) -> dict[str, int]:
        counts = {"tokens": cls.tokens, "boto3_sessions": cls.sessions}
        cls.tokens = cls.sessions = 0
        return counts


def _aws_wrapper() -> Any:
    try:
        import aws_advanced_python_wrapper
    except ImportError:
        return None
    return aws_advanced_python_wrapper


def _median_interleaved(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {k: [] for k in variants}
    names = list(variants)
    for _ in range(rounds):
        random.shuffle(names)
        for name in names:
            samples[name].append(variants[name]())
    return {k: statistics.median(v) for k, v in samples.items()}


def _per_call_us(fn: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def bench_cache_hit(rounds: int, n: int = 20000) -> dict[str, float]:
    """The iam plugin's own cost per physical connect on a cache hit (fake driver, no I/O).

    Two wrapper connections, one with ``plugins=""`` and one with ``plugins="iam"``; each
    sample opens (and closes) ``n`` physical connections through the connection's connect
    pipeline, which is what failover, read/write splitting and the initial connect use.
    ``awsdb.connect`` as a whole is timed too.
    """
    from awsdb.hosts import HostInfo

    driver = FakeDriver()
    base = {"host": HOST, "port": 5432, "user": "u", "password": "pw"}
    host = HostInfo(HOST, 5432)
    services = {
        name: awsdb.connect(driver.connect, plugins=plugins, **base).plugin_service
        for name, plugins in (("plain", ""), ("iam", "iam"))
    }

    def pipeline(name: str) -> Callable[[], None]:
        service = services[name]
        return lambda: service.connect(host).close()

    def full(plugins: str) -> Callable[[], None]:
        return lambda: awsdb.connect(driver.connect, plugins=plugins, **base).close()

    times = _median_interleaved(
        {
            "pipeline_plain": lambda: _per_call_us(pipeline("plain"), n),
            "pipeline_iam": lambda: _per_call_us(pipeline("iam"), n),
            "connect_plain": lambda: _per_call_us(full(""), n // 10),
            "connect_iam": lambda: _per_call_us(full("iam"), n // 10),
        },
        rounds,
    )
    driver.calls.clear()
    return {
        "pipeline_plain_us": times["pipeline_plain"],
        "pipeline_iam_us": times["pipeline_iam"],
        "iam_cache_hit_cost_us": times["pipeline_iam"] - times["pipeline_plain"],
        "awsdb_connect_plain_us": times["connect_plain"],
        "awsdb_connect_iam_us": times["connect_iam"],
        "token_generations": awsdb_iam.cache_stats()["iam_tokens"].created,
    }


def bench_postgres(rounds: int, n: int = 20) -> dict[str, Any]:
    """Connect + close latency to a real PostgreSQL, and the 1,000-connect token count."""
    from _iamtest_servers import PgAuthNode
    from _iamtest_support import expected_token

    node = PgAuthNode.start()
    try:
        token = expected_token(node.name, node.port, "iam_bench", "us-east-1")
        node.set_password("iam_bench", token)
        node.set_password("pw_bench", "plain-bench-password")
        address = node.cluster.node(1).host
        with node.cluster.names_installed():
            raw_kw = {"host": address, "port": node.port, "dbname": "app"}
            kw = {"host": node.name, "port": node.port, "dbname": "app"}

            def raw() -> None:
                psycopg.connect(user="pw_bench", password="plain-bench-password", **raw_kw).close()

            def raw_token() -> None:
                psycopg.connect(user="iam_bench", password=token, **raw_kw).close()

            def wrapped_password() -> None:
                awsdb.connect(
                    psycopg.Connection.connect,
                    user="pw_bench",
                    password="plain-bench-password",
                    plugins="",
                    **kw,
                ).close()

            def iam() -> None:
                awsdb.connect(
                    psycopg.Connection.connect, user="iam_bench", plugins="iam", **kw
                ).close()

            def iam_token_miss() -> None:
                auth_state(get_services()).iam_tokens.clear()
                iam()

            def iam_cold() -> None:
                awsdb.release_resources()
                node.cluster.install_names()
                iam()

            awsdb.release_resources()  # a fresh process state: nothing cached
            node.cluster.install_names()
            _Counts.take()
            for _ in range(1000):
                iam()
            generations = awsdb_iam.cache_stats()["iam_tokens"].created
            counts = {"awsdb": _Counts.take()}
            variants = {
                "raw_psycopg_password": raw,
                "raw_psycopg_token_as_password": raw_token,
                "awsdb_password": wrapped_password,
                "awsdb_iam_warm": iam,
                "awsdb_iam_token_miss": iam_token_miss,
                "awsdb_iam_cold_state": iam_cold,
            }
            peer = _aws_wrapper()
            if peer is not None:
                peer_dsn = f"host={address} port={node.port} user=iam_bench dbname=app"

                def aws_wrapper_iam() -> None:
                    peer.AwsWrapperConnection.connect(
                        psycopg.Connection.connect,
                        peer_dsn,
                        plugins="iam",
                        iam_host=node.name,
                        iam_region="us-east-1",
                    ).close()

                aws_wrapper_iam()
                _Counts.take()
                for _ in range(999):
                    aws_wrapper_iam()
                counts["aws_wrapper_after_its_first_connect"] = _Counts.take()
                variants["aws_wrapper_iam_warm"] = aws_wrapper_iam
            times = _median_interleaved(
                {k: (lambda f=f: _per_call_us(f, n) / 1000.0) for k, f in variants.items()},
                rounds,
            )
    finally:
        peer = _aws_wrapper()
        if peer is not None:
            peer.release_resources()
        node.close()
    return {
        "token_generations_for_1000_connects": generations,
        "counts_for_1000_connects": counts,
        "connect_close_ms": times,
    }


def bench_first_client() -> float:
    """Seconds for ``import boto3`` and the first rds client in a fresh interpreter."""
    code = (
        "import time; t=time.perf_counter(); import boto3; "
        "boto3.session.Session().client('rds', region_name='us-east-1'); "
        "print(time.perf_counter()-t)"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                check=True,
                capture_output=True,
                text=True,
                env=os.environ,
            ).stdout
        )
        for _ in range(5)
    ]
    return statistics.median(runs)


def main() -> None:
    """Run every measurement, print a table, write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    botocore.auth.get_current_datetime = lambda: FROZEN  # type: ignore[assignment]
    _Counts.install()
    results: dict[str, Any] = {"cache_hit": bench_cache_hit(args.rounds)}
    awsdb.release_resources()
    results["postgres"] = bench_postgres(args.rounds)
    results["boto3_import_and_first_client_s"] = bench_first_client()
    awsdb.release_resources()
    hit = results["cache_hit"]
    print(
        f"iam cache-hit cost per physical connect: {hit['iam_cache_hit_cost_us']:.1f} us "
        f"(pipeline over the fake driver: {hit['pipeline_plain_us']:.1f} -> "
        f"{hit['pipeline_iam_us']:.1f} us; token generations: {hit['token_generations']})"
    )
    print(
        f"awsdb.connect over the fake driver: plugins='' {hit['awsdb_connect_plain_us']:.1f} us, "
        f"plugins='iam' {hit['awsdb_connect_iam_us']:.1f} us"
    )
    pg = results["postgres"]
    print(f"token generations for 1,000 connects: {pg['token_generations_for_1000_connects']}")
    for who, counts in pg["counts_for_1000_connects"].items():
        print(f"  {who}: {counts}")
    base = pg["connect_close_ms"]["raw_psycopg_password"]
    for name, ms in pg["connect_close_ms"].items():
        print(f"  {name:30s} {ms:7.3f} ms  x{ms / base:.2f}")
    print(
        f"import boto3 + first client (fresh process): "
        f"{results['boto3_import_and_first_client_s'] * 1000:.0f} ms"
    )
    out = ROOT / "benchmarks" / "results" / "iam_connect.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
