"""Fixtures: the test engine started in-process on a free loopback port, and TLS material."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# gRPC's fork handlers restart its poller thread in a forked child; when the same pytest
# process later forks database servers (the cluster harness), that thread can kill the child
# between fork and exec. Tests that run gRPC in-process therefore turn fork support off
# before grpc is imported.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import pytest

pytest.importorskip("duckdb")

from awsdb_e6data import _strategy
from awsdb_e6data.engine import Engine, EngineCertificates, make_test_certificates

USER, PASSWORD = "user", "secret"

SAMPLE = (
    "CREATE TABLE sample AS SELECT * FROM (VALUES "
    "(1, 'one', 1.50::DECIMAL(10,2), TIMESTAMP '2023-11-14 22:13:20.123456', DATE '2024-02-29',"
    " 'a'::BLOB, true),"
    "(2, NULL, NULL, NULL, NULL, NULL, NULL),"
    "(3, 'thr''ee', -0.05::DECIMAL(10,2), TIMESTAMP '1969-12-31 23:59:59.999999', "
    "DATE '1900-01-01', '\\xff\\x00'::BLOB, false),"
    "(4, 'four', 0::DECIMAL(10,2), TIMESTAMP '2000-01-01', DATE '2000-01-01', ''::BLOB, true),"
    "(5, 'five', 99999999.99::DECIMAL(10,2), TIMESTAMP '2262-01-01 00:00:00.000001', "
    "DATE '9999-12-31', 'zz'::BLOB, false)"
    ") t(id, name, amount, ts, day, raw, flag)"
)


def _start(**settings: Any) -> Engine:
    engine = Engine(port=0, users={USER: PASSWORD}, schemas=("sales",), **settings)
    engine.sql(SAMPLE)
    engine.sql("CREATE TABLE sales.orders (id INTEGER, total DECIMAL(7,2), note VARCHAR)")
    engine.sql("INSERT INTO sales.orders VALUES (1, 10.25, 'x'), (2, 3.50, NULL)")
    return engine.start()


@pytest.fixture
def engine() -> Iterator[Engine]:
    """A fresh engine per test (behaviour switches never leak between tests)."""
    eng = _start(batch_size=2)
    try:
        yield eng
    finally:
        eng.stop(grace=0)
        _strategy.registry.reset()


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[EngineCertificates, Path]:
    """A test CA and server certificate, written at test time (never committed)."""
    material = make_test_certificates()
    directory = tmp_path_factory.mktemp("tls")
    material.write(directory)
    return material, directory / "ca.pem"


@pytest.fixture
def tls_engine(certs: tuple[EngineCertificates, Path]) -> Iterator[Engine]:
    """An engine with a plaintext and a TLS listener."""
    material, _ = certs
    eng = _start(batch_size=2, tls_port=0, tls_cert=material.cert_pem, tls_key=material.key_pem)
    try:
        yield eng
    finally:
        eng.stop(grace=0)
        _strategy.registry.reset()


@pytest.fixture
def connect() -> Iterator[Any]:
    """``connect(engine, **kw)``: our connector on the engine's plaintext port, with catalog
    and database preset; every connection is closed at teardown."""
    import awsdb_e6data

    opened: list[awsdb_e6data.Connection] = []

    def factory(engine: Engine, **kwargs: Any) -> awsdb_e6data.Connection:
        params: dict[str, Any] = {"catalog": "e6data", "database": "main"}
        params.update(kwargs)
        conn = awsdb_e6data.connect("127.0.0.1", engine.port, USER, PASSWORD, **params)
        opened.append(conn)
        return conn

    yield factory
    for conn in opened:
        conn.close()
