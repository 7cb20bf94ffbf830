"""The committed protobuf modules match a fresh generation (drift check)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from awsdb_e6data._rpc import CLUSTER_SERVICE, ENGINE_SERVICE, rpc_table

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "src" / "awsdb_e6data" / "_generated"


def test_regenerated_stubs_match(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    spec = importlib.util.spec_from_file_location("gen_stubs", ROOT / "scripts" / "gen_stubs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.generate(tmp_path)
    assert written
    for path in written:
        assert path.read_bytes() == (COMMITTED / path.name).read_bytes(), path.name


def test_rpc_table_paths() -> None:
    engine = rpc_table(ENGINE_SERVICE)
    assert len(engine) == 42 and len(rpc_table(CLUSTER_SERVICE)) == 3
    assert engine["authenticate"].path == "/QueryEngineService/authenticate"
    assert engine["getCataloges"].path == "/QueryEngineService/getCataloges"
    assert engine["getNextResultBatchV2"].request.DESCRIPTOR.name == "GetNextResultBatchRequest"
    assert engine["dryRunV2"].request.DESCRIPTOR.name == "DryRunRequestV2"
    # zig-zag types where the reference says so
    status = engine["status"].response.DESCRIPTOR.fields_by_name["rowCount"]
    assert status.type == status.TYPE_SINT64
