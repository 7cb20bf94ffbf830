"""Thrift TBinaryProtocol writer of result batches (``Chunk``) and result metadata.

Used by the test engine; kept free of DuckDB so that tests can build batches directly.
Columns are encoded whole: fixed-width lists with one ``struct.pack`` call.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

__all__ = ["encode_chunk", "encode_metadata", "encode_vector", "encode_vector_raw", "end_of_data"]

_I32 = struct.Struct(">i")
_U16 = struct.Struct(">H")

# VectorType -> (Data union member id, list element thrift type, placeholder)
_MEMBERS: dict[int, tuple[int, int, Any]] = {
    0: (7, 11, b""),  # BINARY -> varcharData
    1: (1, 2, False),  # BOOLEAN -> boolData
    2: (6, 4, 0.0),  # DOUBLE -> float64Data
    3: (5, 4, 0.0),  # FLOAT -> float32Data (doubles)
    5: (2, 8, 0),  # INTEGER -> int32Data
    6: (3, 10, 0),  # LONG -> int64Data
    7: (7, 11, b""),  # STRING -> varcharData
    8: (4, 10, 0),  # DATE -> dateData
    9: (16, 10, 0),  # DATETIME -> timeData
    11: (7, 11, b""),  # STRUCT
    12: (7, 11, b""),  # MAP
    13: (7, 11, b""),  # ARRAY
    15: (16, 10, 0),  # TIMESTAMP_TZ -> timeData
    16: (17, 11, bytes(16)),  # DECIMAL128 -> decimal128Data
    17: (3, 10, 0),  # INTERVAL_DAY_SECOND -> int64Data
}
_FMT = {2: None, 4: "d", 8: "i", 10: "q"}


def _header(ttype: int, fid: int) -> bytes:
    return struct.pack(">bh", ttype, fid)


def _strings(values: Sequence[Any]) -> bytes:
    encoded = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]
    n = len(encoded)
    lengths = struct.pack(f">{n}I", *map(len, encoded))
    parts: list[bytes] = [b""] * (2 * n)
    parts[0::2] = [lengths[i : i + 4] for i in range(0, 4 * n, 4)]
    parts[1::2] = encoded
    return b"".join(parts)


def _list(etype: int, values: Sequence[Any]) -> bytes:
    n = len(values)
    head = struct.pack(">bi", etype, n)
    if etype == 11:
        return head + _strings(values)
    if etype == 2:
        return head + bytes(1 if v else 0 for v in values)
    return head + struct.pack(f">{n}{_FMT[etype]}", *values)


def encode_vector(
    vtype: int,
    values: Sequence[Any],
    *,
    scale: int = 0,
    zone: str | None = None,
) -> bytes:
    """Encode one non-constant ``Vector``; ``None`` values become NULLs with placeholders.

    Values must already be in wire form: ints for integer, date (epoch µs), timestamp (epoch
    µs) and interval (µs) vectors, floats, bools, ``str``/``bytes`` for text and binary, and
    16-byte (or text) ``bytes`` for DECIMAL128.
    """
    n = len(values)
    nulls = [v is None for v in values]
    has_null = True in nulls
    out = [
        _header(8, 1),
        _I32.pack(n),
        _header(8, 2),
        _I32.pack(vtype),
        _header(15, 3),
        struct.pack(">bi", 2, n),
        bytes(nulls),
    ]
    if vtype != 14:  # NULL vectors carry no data
        member, etype, placeholder = _MEMBERS[vtype]
        if has_null:
            values = [placeholder if v is None else v for v in values]
        body = [_header(15, 1), _list(etype, values)]
        if member == 16 and zone is not None:
            body += [_header(15, 2), _list(11, [zone] * n)]
        if member == 17:
            body += [_header(8, 2), _I32.pack(scale)]
        out += [_header(12, 4), _header(12, member), *body, b"\x00", b"\x00"]
    out += [_header(2, 5), b"\x00", b"\x00"]
    return b"".join(out)


def encode_chunk(rows: int, vectors: Sequence[bytes]) -> bytes:
    """Wrap encoded vectors into a ``Chunk`` of ``rows`` rows."""
    return b"".join(
        [
            _header(8, 1),
            _I32.pack(rows),
            _header(15, 2),
            struct.pack(">bi", 12, len(vectors)),
            *vectors,
            b"\x00",
        ]
    )


def end_of_data() -> bytes:
    """The end-of-data marker: an empty ``resultBatch``."""
    return b""


def encode_metadata(row_count: int, columns: Sequence[tuple[str, str, str, str]]) -> bytes:
    """Encode ``resultMetaData``: i64 rows, i32 N, N x (name, type, zone, format)."""
    parts = [struct.pack(">qi", row_count, len(columns))]
    for column in columns:
        for text in column:
            raw = text.encode("utf-8")
            parts.append(_U16.pack(len(raw)))
            parts.append(raw)
    return b"".join(parts)


def encode_vector_raw(
    vtype: int,
    rows: int,
    nulls: bytes,
    member: int,
    etype: int,
    payload: bytes,
    extra: bytes = b"",
) -> bytes:
    """Assemble a ``Vector`` from an already encoded list payload (fast paths).

    ``nulls`` holds one byte per row (1 = NULL), ``payload`` the list elements of union
    member ``member`` (element type ``etype``), ``extra`` any further encoded member fields.
    """
    return b"".join(
        [
            _header(8, 1),
            _I32.pack(rows),
            _header(8, 2),
            _I32.pack(vtype),
            _header(15, 3),
            struct.pack(">bi", 2, rows),
            nulls,
            _header(12, 4),
            _header(12, member),
            _header(15, 1),
            struct.pack(">bi", etype, rows),
            payload,
            extra,
            b"\x00\x00",
            _header(2, 5),
            b"\x00\x00",
        ]
    )
