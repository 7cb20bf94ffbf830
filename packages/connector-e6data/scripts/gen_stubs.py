"""Regenerate the protobuf modules of awsdb_e6data from its .proto sources.

Usage (from the repository root)::

    uv run python packages/connector-e6data/scripts/gen_stubs.py [OUTPUT_DIR]

The default output is ``src/awsdb_e6data/_generated``. The generator is the protoc bundled
with ``grpcio-tools``, pinned exactly in the package's ``test`` extra, so the output is
reproducible; ``tests/test_generated_stubs.py`` regenerates into a temporary directory and
compares byte for byte. Only message modules (``*_pb2.py``) and their typing stubs
(``*_pb2.pyi``) are generated: the RPC paths are bound by hand (see ``awsdb_e6data._rpc``),
because the engine's services have no package while our messages do.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "src" / "awsdb_e6data"
PROTO_DIR = PACKAGE_DIR / "proto"
PROTO_FILES = ("e6data_engine.proto", "e6data_cluster.proto")


def generate(output_dir: Path) -> list[Path]:
    """Run protoc on every .proto file and return the paths written."""
    from grpc_tools import protoc  # type: ignore[import-untyped]

    output_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"--proto_path={PROTO_DIR}",
        f"--python_out={output_dir}",
        f"--pyi_out={output_dir}",
        *[str(PROTO_DIR / name) for name in PROTO_FILES],
    ]
    code = protoc.main(args)
    if code != 0:
        raise SystemExit(f"protoc failed with exit code {code}")
    written = []
    for name in PROTO_FILES:
        stem = name.removesuffix(".proto")
        written += [output_dir / f"{stem}_pb2.py", output_dir / f"{stem}_pb2.pyi"]
    return written


def main() -> None:
    """Command-line entry point."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else PACKAGE_DIR / "_generated"
    for path in generate(out):
        print(path)


if __name__ == "__main__":
    main()
