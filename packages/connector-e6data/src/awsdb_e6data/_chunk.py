"""Fast decoder of the Thrift TBinaryProtocol ``Chunk`` struct (see ``proto/vectors.thrift``).

The reader is hand-written: lists of fixed-width values are unpacked with one
``struct.unpack_from`` call, and only the members the connector needs are materialised.
Unknown fields are skipped by type. Every malformed input (truncation, wrong types, sizes that
disagree, values out of range) raises :class:`~awsdb_e6data.errors.DataError`; the decoder
never recurses without bound and never allocates more than the input can describe.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation, localcontext
from itertools import repeat
from typing import Any

from .errors import DataError

__all__ = ["VectorType", "decode_chunk"]

# Thrift type ids
_T_STOP, _T_BOOL, _T_BYTE, _T_DOUBLE, _T_I16, _T_I32, _T_I64 = 0, 2, 3, 4, 6, 8, 10
_T_STRING, _T_STRUCT, _T_MAP, _T_SET, _T_LIST = 11, 12, 13, 14, 15
_FIXED = {_T_BOOL: 1, _T_BYTE: 1, _T_DOUBLE: 8, _T_I16: 2, _T_I32: 4, _T_I64: 8}
_LIST_FMT = {_T_I32: "i", _T_I64: "q", _T_DOUBLE: "d", _T_I16: "h", _T_BYTE: "b"}
_MAX_DEPTH = 32

_I32 = struct.Struct(">i")
_I16 = struct.Struct(">h")
_I64 = struct.Struct(">q")
_DBL = struct.Struct(">d")
_U32 = struct.Struct(">I")
_FIELD = struct.Struct(">bh")
_LIST = struct.Struct(">bi")


class VectorType:
    """The ``VectorType`` enum of the Thrift IDL."""

    BINARY = 0
    BOOLEAN = 1
    DOUBLE = 2
    FLOAT = 3
    INT96 = 4
    INTEGER = 5
    LONG = 6
    STRING = 7
    DATE = 8
    DATETIME = 9
    TIMESTAMP = 10
    STRUCT = 11
    MAP = 12
    ARRAY = 13
    NULL = 14
    TIMESTAMP_TZ = 15
    DECIMAL128 = 16
    INTERVAL_DAY_SECOND = 17


class _Truncated(Exception):
    pass


def _need(buf: bytes, pos: int, n: int) -> None:
    if n < 0 or pos + n > len(buf):
        raise DataError("result batch truncated")


def _field(buf: bytes, pos: int) -> tuple[int, int, int]:
    """Read a field header; return (type, id, new pos). STOP gives type 0."""
    _need(buf, pos, 1)
    ftype = buf[pos]
    if ftype == _T_STOP:
        return 0, 0, pos + 1
    _need(buf, pos, 3)
    return ftype, _I16.unpack_from(buf, pos + 1)[0], pos + 3


def _skip(buf: bytes, pos: int, ftype: int, depth: int = 0) -> int:
    if depth > _MAX_DEPTH:
        raise DataError("result batch nested too deeply")
    width = _FIXED.get(ftype)
    if width is not None:
        _need(buf, pos, width)
        return pos + width
    if ftype == _T_STRING:
        _need(buf, pos, 4)
        n: int = _I32.unpack_from(buf, pos)[0]
        _need(buf, pos + 4, n)
        return pos + 4 + n
    if ftype == _T_STRUCT:
        while True:
            t, _, pos = _field(buf, pos)
            if t == 0:
                return pos
            pos = _skip(buf, pos, t, depth + 1)
    if ftype in (_T_LIST, _T_SET):
        _need(buf, pos, 5)
        etype, n = _LIST.unpack_from(buf, pos)
        pos += 5
        if n < 0 or n > len(buf) - pos + 1:
            raise DataError("result batch list size out of range")
        for _ in range(n):
            pos = _skip(buf, pos, etype, depth + 1)
        return pos
    if ftype == _T_MAP:
        _need(buf, pos, 6)
        ktype, vtype = buf[pos], buf[pos + 1]
        (n,) = _I32.unpack_from(buf, pos + 2)
        pos += 6
        if n < 0 or n > len(buf) - pos + 1:
            raise DataError("result batch map size out of range")
        for _ in range(n):
            pos = _skip(buf, pos, ktype, depth + 1)
            pos = _skip(buf, pos, vtype, depth + 1)
        return pos
    raise DataError(f"result batch holds unknown Thrift type {ftype}")


def _list_head(buf: bytes, pos: int, etype: int) -> tuple[int, int]:
    _need(buf, pos, 5)
    got, n = _LIST.unpack_from(buf, pos)
    if got != etype:
        raise DataError(f"result batch list of type {got}, expected {etype}")
    if n < 0:
        raise DataError("result batch list size out of range")
    return n, pos + 5


def _read_fixed_list(buf: bytes, pos: int, etype: int) -> tuple[Sequence[Any], int]:
    n, pos = _list_head(buf, pos, etype)
    width = _FIXED[etype]
    _need(buf, pos, n * width)
    if etype == _T_BOOL:
        return buf[pos : pos + n], pos + n  # raw bytes: one 0/1 byte per element
    return struct.unpack_from(f">{n}{_LIST_FMT[etype]}", buf, pos), pos + n * width


def _read_bytes_list(buf: bytes, pos: int) -> tuple[Sequence[bytes], int]:
    n, pos = _list_head(buf, pos, _T_STRING)
    size = len(buf)
    if n * 4 > size - pos:
        raise DataError("result batch list size out of range")
    if n and pos + n * 20 <= size:
        # Fast path for 16-byte values (DECIMAL128): two C-level unpacks, no Python loop.
        fmt = _fixed16_formats(n)
        if fmt[0].unpack_from(buf, pos) == fmt[2]:
            return fmt[1].unpack_from(buf, pos), pos + n * 20
    out: list[bytes] = []
    append = out.append
    unpack = _U32.unpack_from
    # Lengths are read unsigned and the list size is bounded above, so the loop always ends;
    # an overrun is detected once, at the end.
    for _ in range(n):
        (ln,) = unpack(buf, pos)
        pos += 4
        append(buf[pos : pos + ln])
        pos += ln
        if pos > size:
            raise DataError("result batch truncated")
    return out, pos


_FIXED16: dict[int, tuple[struct.Struct, struct.Struct, tuple[int, ...]]] = {}


def _fixed16_formats(n: int) -> tuple[struct.Struct, struct.Struct, tuple[int, ...]]:
    fmt = _FIXED16.get(n)
    if fmt is None:
        fmt = (struct.Struct(">" + "I16x" * n), struct.Struct(">" + "4x16s" * n), (16,) * n)
        if len(_FIXED16) < 64:
            _FIXED16[n] = fmt
    return fmt


_TRIPLES: dict[int, struct.Struct] = {}


def _read_decimal_list(buf: bytes, pos: int) -> tuple[Sequence[Any], bool, int]:
    """DECIMAL128 values: ints when every value is 16 bytes and fits 64 bits, else bytes."""
    n, start = _list_head(buf, pos, _T_STRING)
    if n and start + n * 20 <= len(buf):
        fmt = _TRIPLES.get(n)
        if fmt is None:
            fmt = struct.Struct(">" + "iqq" * n)
            if len(_TRIPLES) < 64:
                _TRIPLES[n] = fmt
        triples = fmt.unpack_from(buf, start)
        lows = triples[2::3]
        if triples[0::3] == (16,) * n and list(triples[1::3]) == [v >> 63 for v in lows]:
            return lows, True, start + n * 20
    values, end = _read_bytes_list(buf, pos)
    return values, False, end


def _read_str_list(buf: bytes, pos: int) -> tuple[list[str], int]:
    raw, pos = _read_bytes_list(buf, pos)
    try:
        return [b.decode("utf-8") for b in raw], pos
    except UnicodeDecodeError as exc:
        raise DataError(f"result batch holds text that is not UTF-8: {exc}") from exc


def _read_scalar(buf: bytes, pos: int, ftype: int) -> tuple[Any, int]:
    if ftype in (_T_BOOL, _T_BYTE):
        _need(buf, pos, 1)
        return buf[pos], pos + 1
    if ftype == _T_I32:
        _need(buf, pos, 4)
        return _I32.unpack_from(buf, pos)[0], pos + 4
    if ftype == _T_I64:
        _need(buf, pos, 8)
        return _I64.unpack_from(buf, pos)[0], pos + 8
    if ftype == _T_DOUBLE:
        _need(buf, pos, 8)
        return _DBL.unpack_from(buf, pos)[0], pos + 8
    if ftype == _T_STRING:
        _need(buf, pos, 4)
        (n,) = _I32.unpack_from(buf, pos)
        _need(buf, pos + 4, n)
        return buf[pos + 4 : pos + 4 + n], pos + 4 + n
    raise DataError(f"result batch scalar of unexpected Thrift type {ftype}")


# Data union members: id -> (kind, element thrift type)
_LIST_MEMBERS = {
    1: _T_BOOL,  # boolData
    2: _T_I32,  # int32Data
    3: _T_I64,  # int64Data
    4: _T_I64,  # dateData
    5: _T_DOUBLE,  # float32Data
    6: _T_DOUBLE,  # float64Data
    7: _T_STRING,  # varcharData
    16: _T_I64,  # timeData (+ zoneData)
    17: _T_STRING,  # decimal128Data (+ scale)
}
_CONST_MEMBERS = {8, 9, 10, 11, 12, 13, 14, 15, 18}


class _Data:
    __slots__ = ("extra", "member", "scale", "small", "values")

    def __init__(self) -> None:
        self.small = False  # decimal values already unpacked to ints that fit 64 bits
        self.member = 0
        self.values: Sequence[Any] = ()
        self.extra: Sequence[Any] | None = None  # zoneData (list or single)
        self.scale = 0


def _read_member(buf: bytes, pos: int, member: int, data: _Data) -> int:
    """Read the struct of one union member into ``data``."""
    data.member = member
    while True:
        ftype, fid, pos = _field(buf, pos)
        if ftype == 0:
            return pos
        if member in _LIST_MEMBERS:
            etype = _LIST_MEMBERS[member]
            if fid == 1 and ftype == _T_LIST:
                if member == 17:
                    data.values, data.small, pos = _read_decimal_list(buf, pos)
                elif etype == _T_STRING:
                    data.values, pos = _read_bytes_list(buf, pos)
                else:
                    data.values, pos = _read_fixed_list(buf, pos, etype)
                continue
            if member == 16 and fid == 2 and ftype == _T_LIST:
                data.extra, pos = _read_str_list(buf, pos)
                continue
            if member == 17 and fid == 2 and ftype == _T_I32:
                data.scale, pos = _read_scalar(buf, pos, ftype)
                continue
        elif member in _CONST_MEMBERS:
            if fid == 1:
                value, pos = _read_scalar(buf, pos, ftype)
                data.values = (value,)
                continue
            if fid == 2 and member == 14 and ftype == _T_STRING:
                zone, pos = _read_scalar(buf, pos, ftype)
                data.extra = (_text(zone),)
                continue
            if fid == 2 and member == 18 and ftype == _T_I32:
                data.scale, pos = _read_scalar(buf, pos, ftype)
                continue
        pos = _skip(buf, pos, ftype)


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"result batch holds text that is not UTF-8: {exc}") from exc


def _read_data(buf: bytes, pos: int) -> tuple[_Data, int]:
    data = _Data()
    while True:
        ftype, fid, pos = _field(buf, pos)
        if ftype == 0:
            return data, pos
        if ftype == _T_STRUCT and (fid in _LIST_MEMBERS or fid in _CONST_MEMBERS):
            pos = _read_member(buf, pos, fid, data)
        else:
            pos = _skip(buf, pos, ftype)


class _Vector:
    __slots__ = ("constant", "data", "nulls", "size", "vtype")

    def __init__(self) -> None:
        self.size = -1
        self.vtype = -1
        self.nulls: Sequence[bool] = ()
        self.data: _Data | None = None
        self.constant = False


def _read_vector(buf: bytes, pos: int) -> tuple[_Vector, int]:
    vec = _Vector()
    while True:
        ftype, fid, pos = _field(buf, pos)
        if ftype == 0:
            return vec, pos
        if fid == 1 and ftype == _T_I32:
            vec.size, pos = _read_scalar(buf, pos, ftype)
        elif fid == 2 and ftype == _T_I32:
            vec.vtype, pos = _read_scalar(buf, pos, ftype)
        elif fid == 3 and ftype == _T_LIST:
            vec.nulls, pos = _read_fixed_list(buf, pos, _T_BOOL)
        elif fid == 4 and ftype == _T_STRUCT:
            vec.data, pos = _read_data(buf, pos)
        elif fid == 5 and ftype == _T_BOOL:
            flag, pos = _read_scalar(buf, pos, ftype)
            vec.constant = flag != 0
        else:
            pos = _skip(buf, pos, ftype)


# --- value conversion -------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_US_PER_DAY = 86_400_000_000
_DECIMAL_TEXT = frozenset(b"0123456789+-.eE")
# 16-byte two's complement values have at most 39 digits: with 60 digits of precision,
# scaleb() is exact (no rounding), unlike division under the default 28-digit context.
_EXACT = Context(prec=60, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _dates(values: Sequence[int]) -> list[date]:
    fromordinal = date.fromordinal
    base = _EPOCH_ORDINAL
    return [fromordinal(base + v // _US_PER_DAY) for v in values]


def _datetimes(values: Sequence[int]) -> list[datetime]:
    # map() keeps the per-value work in C: timedelta(0, 0, µs), then epoch + delta.
    return list(map(_EPOCH.__add__, map(timedelta, repeat(0), repeat(0), values)))


def _zone(name: str, cache: dict[str, tzinfo]) -> tzinfo:
    tz = cache.get(name)
    if tz is not None:
        return tz
    if name in ("", "Z", "UTC", "z"):
        tz = UTC
    elif name[0] in "+-" and len(name) in (3, 5, 6):
        try:
            sign = -1 if name[0] == "-" else 1
            hours = int(name[1:3])
            minutes = int(name[-2:]) if len(name) > 3 else 0
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        except ValueError as exc:
            raise DataError(f"unknown time zone {name!r} in result batch") from exc
    else:
        from zoneinfo import ZoneInfo

        try:
            tz = ZoneInfo(name)
        except (ValueError, KeyError, OSError) as exc:
            raise DataError(f"unknown time zone {name!r} in result batch") from exc
    cache[name] = tz
    return tz


def _aware(values: Sequence[int], zones: Sequence[Any] | None) -> list[datetime]:
    out = list(map(_EPOCH_UTC.__add__, map(timedelta, repeat(0), repeat(0), values)))
    if not zones:
        return out
    cache: dict[str, tzinfo] = {}
    result = []
    for i, dt in enumerate(out):
        name = zones[i] if i < len(zones) else ""
        tz = _zone(name, cache)
        result.append(dt if tz is UTC else dt.astimezone(tz))
    return result


def _decimal_text(raw: bytes) -> Decimal:
    try:
        return Decimal(raw.decode("ascii"))
    except (UnicodeDecodeError, InvalidOperation) as exc:
        raise DataError(f"undecodable DECIMAL128 value {raw!r}") from exc


def _decimal_any(raw: bytes, exp: int) -> Decimal:
    if len(raw) != 16 or _DECIMAL_TEXT.issuperset(raw):
        return _decimal_text(raw)
    return Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(exp, _EXACT)


def _small_decimals(values: Sequence[int], scale: int) -> list[Decimal]:
    """64-bit unscaled ints -> ``Decimal``; exact: at most 19 digits under a 60-digit context."""
    step = Decimal(1).scaleb(-scale, _EXACT)
    dec = Decimal
    with localcontext(_EXACT):
        return [dec(v) * step for v in values]


def _decimals(values: Sequence[bytes], scale: int) -> list[Decimal]:
    """Unscaled 16-byte values (or decimal text) -> exact ``Decimal`` with the scale kept."""
    from_bytes = int.from_bytes
    exp = -scale
    ctx = _EXACT
    dec = Decimal
    # A binary value below ~10**36 in magnitude starts with 0x00 or 0xff, which text never does.
    return [
        dec(from_bytes(r, "big", signed=True)).scaleb(exp, ctx)
        if len(r) == 16 and (r[0] == 0 or r[0] == 255)
        else _decimal_any(r, exp)
        for r in values
    ]


def _convert(vec: _Vector, rows: int) -> list[Any] | Sequence[Any]:
    vtype = vec.vtype
    if vtype == VectorType.NULL:
        return [None] * rows
    if vtype in (VectorType.TIMESTAMP, VectorType.INT96):
        raise DataError(f"unsupported vector type {vtype} (TIMESTAMP/INT96) in result batch")
    data = vec.data
    if data is None:
        if vec.nulls and all(vec.nulls[: rows or 1]):
            return [None] * rows
        raise DataError("result batch vector has no data")
    values = data.values
    if vec.constant:
        if not values:
            raise DataError("constant vector without a value")
        one = _convert_values(vtype, data, values[:1])
        value = None if (vec.nulls and vec.nulls[0]) else one[0]
        return [value] * rows
    if len(values) != rows:
        raise DataError(f"result batch vector holds {len(values)} values for {rows} rows")
    col = _convert_values(vtype, data, values)
    nulls = vec.nulls
    if nulls:
        if len(nulls) != rows:
            raise DataError("result batch null set does not match the row count")
        if any(nulls):
            return [None if n else v for v, n in zip(col, nulls, strict=True)]
    return col


def _convert_values(vtype: int, data: _Data, values: Sequence[Any]) -> Sequence[Any]:
    member = data.member
    try:
        if vtype in (VectorType.LONG, VectorType.INTEGER):
            if member not in (2, 3, 11):
                raise DataError(f"integer vector carries union member {member}")
            return values
        if vtype in (VectorType.DOUBLE, VectorType.FLOAT):
            if member == 11:
                return [float(v) for v in values]
            if member not in (5, 6, 12):
                raise DataError(f"float vector carries union member {member}")
            return values
        if vtype == VectorType.BOOLEAN:
            if member not in (1, 8):
                raise DataError(f"boolean vector carries union member {member}")
            return list(map(bool, values))
        if vtype in (VectorType.STRING, VectorType.ARRAY, VectorType.MAP, VectorType.STRUCT):
            if member not in (7, 15):
                raise DataError(f"text vector carries union member {member}")
            return list(map(bytes.decode, values))
        if vtype == VectorType.BINARY:
            if member not in (7, 15):
                raise DataError(f"binary vector carries union member {member}")
            return values
        if vtype == VectorType.DATE:
            if member not in (4, 9, 3, 11):
                raise DataError(f"date vector carries union member {member}")
            return _dates(values)
        if vtype == VectorType.DATETIME:
            if member not in (16, 14, 3):
                raise DataError(f"timestamp vector carries union member {member}")
            return _datetimes(values)
        if vtype == VectorType.TIMESTAMP_TZ:
            if member not in (16, 14, 3):
                raise DataError(f"timestamp vector carries union member {member}")
            return _aware(values, data.extra)
        if vtype == VectorType.DECIMAL128:
            if member not in (17, 18):
                raise DataError(f"decimal vector carries union member {member}")
            if data.small:
                return _small_decimals(values, data.scale)
            return _decimals(values, data.scale)
        if vtype == VectorType.INTERVAL_DAY_SECOND:
            if member not in (3, 11):
                raise DataError(f"interval vector carries union member {member}")
            return [timedelta(microseconds=v) for v in values]
    except DataError:
        raise
    except (TypeError, ValueError, ArithmeticError, UnicodeDecodeError, AttributeError) as exc:
        raise DataError(f"undecodable value in result batch: {exc}") from exc
    raise DataError(f"unknown vector type {vtype} in result batch")


def decode_chunk(buf: bytes, ncols: int) -> list[tuple[Any, ...]]:
    """Decode one ``Chunk`` into row tuples; an empty chunk gives ``[]``.

    ``ncols`` is the column count announced by the result metadata; a chunk that carries a
    different number of vectors, or vectors whose sizes disagree with the chunk, is rejected
    with :class:`DataError`.
    """
    if not buf:
        return []
    try:
        return _decode(bytes(buf), ncols)
    except DataError:
        raise
    except (struct.error, IndexError, ValueError, OverflowError, MemoryError) as exc:
        raise DataError(f"malformed result batch: {exc}") from exc


def _decode(buf: bytes, ncols: int) -> list[tuple[Any, ...]]:
    rows = -1
    vectors: list[_Vector] = []
    pos = 0
    while True:
        ftype, fid, pos = _field(buf, pos)
        if ftype == 0:
            break
        if fid == 1 and ftype == _T_I32:
            rows, pos = _read_scalar(buf, pos, ftype)
        elif fid == 2 and ftype == _T_LIST:
            n, pos = _list_head(buf, pos, _T_STRUCT)
            if n > len(buf) - pos:
                raise DataError("result batch list size out of range")
            for _ in range(n):
                vec, pos = _read_vector(buf, pos)
                vectors.append(vec)
        else:
            pos = _skip(buf, pos, ftype)
    if rows < 0:
        raise DataError("result batch has no row count")
    if rows == 0:
        return []
    if len(vectors) != ncols:
        raise DataError(f"result batch holds {len(vectors)} vectors for {ncols} columns")
    if ncols == 0:
        return [()] * rows
    columns = []
    for vec in vectors:
        if vec.size != rows:
            raise DataError(f"result batch vector of size {vec.size} in a chunk of {rows} rows")
        columns.append(_convert(vec, rows))
    return list(zip(*columns, strict=False))  # lengths were checked per vector
