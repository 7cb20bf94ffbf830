"""The test engine answers bad requests with a proper gRPC status and keeps serving."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from typing import Any

import grpc
import pytest

from awsdb_e6data._generated import e6data_engine_pb2 as pb
from awsdb_e6data.engine import Engine


def _raw(engine: Engine, path: str, payload: bytes, metadata: Any = ()) -> tuple[Any, str]:
    with grpc.insecure_channel(f"127.0.0.1:{engine.port}") as channel:
        call = channel.unary_unary(path)
        try:
            call(payload, timeout=5, metadata=metadata)
        except grpc.RpcError as exc:
            return exc.code(), exc.details()
    return grpc.StatusCode.OK, ""


def _serves(engine: Engine, connect: Any) -> bool:
    cur = connect(engine).cursor()
    cur.execute("SELECT 41 + 1")
    return bool(cur.fetchall() == [(42,)])


def test_malformed_and_unknown_requests(engine: Engine, connect: Any) -> None:
    code, _ = _raw(engine, "/QueryEngineService/authenticate", b"\xff\xff\xff")
    assert code == grpc.StatusCode.INTERNAL
    code, _ = _raw(engine, "/QueryEngineService/getNextResultBatch", b"\x0a\x05ab")
    assert code == grpc.StatusCode.INTERNAL
    code, _ = _raw(engine, "/QueryEngineService/identifyPlanner", b"")
    assert code == grpc.StatusCode.UNIMPLEMENTED
    code, _ = _raw(engine, "/NoSuchService/x", b"")
    assert code == grpc.StatusCode.UNIMPLEMENTED
    assert _serves(engine, connect)


def test_unauthenticated_and_out_of_order(engine: Engine, connect: Any) -> None:
    req = pb.GetNextResultBatchRequest(sessionId="forged", queryId="q").SerializeToString()
    code, details = _raw(engine, "/QueryEngineService/getNextResultBatch", req)
    assert code == grpc.StatusCode.INTERNAL and details.startswith("Access denied")
    conn = connect(engine)
    sid = conn.get_session_id
    req = pb.GetNextResultBatchRequest(sessionId=sid, queryId="unknown").SerializeToString()
    code, details = _raw(engine, "/QueryEngineService/getNextResultBatch", req)
    assert code == grpc.StatusCode.INTERNAL and details.startswith("Query not found")
    prep = pb.PrepareStatementV2Request(sessionId=sid, catalog="e6data", queryString="SELECT 1")
    with grpc.insecure_channel(f"127.0.0.1:{engine.port}") as channel:
        prepare = channel.unary_unary(
            "/QueryEngineService/prepareStatementV2",
            request_serializer=pb.PrepareStatementV2Request.SerializeToString,
            response_deserializer=pb.PrepareStatementResponse.FromString,
        )
        qid = prepare(prep, timeout=5).queryId
    req = pb.GetResultMetadataRequest(sessionId=sid, queryId=qid).SerializeToString()
    code, _ = _raw(engine, "/QueryEngineService/getResultMetadata", req)  # before execute
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    code, details = _raw(
        engine,
        "/QueryEngineService/authenticate",
        pb.AuthenticateRequest(user="user", password="secret").SerializeToString(),
        metadata=(("strategy", "green"),),
    )
    assert code == grpc.StatusCode.UNKNOWN and details == "status: 456"
    engine.control.suspend()
    code, details = _raw(engine, "/QueryEngineService/getCataloges", b"")
    assert code == grpc.StatusCode.UNAVAILABLE and details == "status: 503, cluster is suspended"
    engine.control.set(cluster_status="active")
    assert _serves(engine, connect)


def test_cluster_name_is_case_insensitive(engine: Engine, connect: Any) -> None:
    engine.control.set(cluster_name="Prod-1")
    assert _serves(engine, lambda e: connect(e, cluster_name="PROD-1"))
    assert engine.control.calls_of("authenticate")[0].headers["cluster-name"] == "prod-1"
    with pytest.raises(Exception) as err:
        _serves(engine, lambda e: connect(e, cluster_name="other"))
    assert "unknown cluster" in str(err.value)


def test_command_line_engine_starts_and_stops() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "awsdb_e6data.engine",
            "--port",
            "0",
            "--setup-sql",
            "CREATE TABLE t AS SELECT 7 AS x",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"port=(\d+)", line)
        assert match, line
        import awsdb_e6data

        with awsdb_e6data.connect(
            "127.0.0.1", int(match.group(1)), "user", "secret", catalog="e6data"
        ) as conn:
            cur = conn.cursor()
            cur.execute("SELECT x FROM t")
            assert cur.fetchall() == [(7,)]
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
