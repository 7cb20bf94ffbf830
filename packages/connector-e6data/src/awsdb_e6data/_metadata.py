"""Decoder of ``GetResultMetadataResponse.resultMetaData`` (big-endian, not Thrift).

Layout: i64 row count, i32 column count N, then per column four strings (name, type, zone,
format), each a u16 byte length followed by UTF-8 bytes. Strict UTF-8 is tried first, then
Java's modified UTF-8 (NUL as ``C0 80``, non-BMP characters as surrogate pairs).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import DataError

__all__ = ["ColumnInfo", "ResultMetadata", "decode_metadata", "decode_text"]

_HEAD = struct.Struct(">qi")
_U16 = struct.Struct(">H")


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One result column as announced by the engine."""

    name: str
    type_name: str
    zone: str
    format: str


@dataclass(frozen=True, slots=True)
class ResultMetadata:
    """Row count and columns of a query result."""

    row_count: int
    columns: tuple[ColumnInfo, ...]


def decode_text(raw: bytes) -> str:
    """Decode strict UTF-8, falling back to Java's modified UTF-8; raise DataError."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeError as exc:
        raise DataError(f"result metadata holds text that is not UTF-8: {exc}") from exc


def decode_metadata(buf: bytes) -> ResultMetadata:
    """Decode a result-metadata blob; any malformed input raises :class:`DataError`."""
    size = len(buf)
    if size < _HEAD.size:
        raise DataError(f"result metadata too short ({size} bytes)")
    row_count, ncols = _HEAD.unpack_from(buf, 0)
    # Each column needs at least four u16 lengths (8 bytes): bound N before allocating.
    if ncols < 0 or ncols * 8 > size - _HEAD.size:
        raise DataError(f"result metadata announces {ncols} columns in {size} bytes")
    pos = _HEAD.size
    columns = []
    for _ in range(ncols):
        parts = []
        for _ in range(4):
            if pos + 2 > size:
                raise DataError("result metadata truncated")
            (length,) = _U16.unpack_from(buf, pos)
            pos += 2
            end = pos + length
            if end > size:
                raise DataError("result metadata truncated")
            parts.append(decode_text(buf[pos:end]))
            pos = end
        columns.append(ColumnInfo(parts[0], parts[1], parts[2], parts[3]))
    return ResultMetadata(row_count, tuple(columns))
