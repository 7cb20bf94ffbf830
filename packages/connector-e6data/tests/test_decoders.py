"""Result decoders: exact values, strict validation, and fuzzing (DataError, never a crash)."""

from __future__ import annotations

import contextlib
import datetime as dt
import struct
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from awsdb_e6data import DataError
from awsdb_e6data._chunk import VectorType, decode_chunk
from awsdb_e6data._metadata import decode_metadata, decode_text
from awsdb_e6data.engine._chunk_writer import encode_chunk, encode_metadata, encode_vector

# Annotated example of the protocol reference: one LONG column, one row, value 42.
EXAMPLE_CHUNK = bytes.fromhex(
    "08000100000001"
    "0f00020c00000001"
    "08000100000001"
    "08000200000006"
    "0f0003020000000100"
    "0c0004"
    "0c0003"
    "0f00010a00000001000000000000002a"
    "0000"
    "02000500"
    "0000"
)
EXAMPLE_META = bytes.fromhex("00000000000000010000000100016e00044c4f4e4700000000")


def _dec(unscaled: int) -> bytes:
    return unscaled.to_bytes(16, "big", signed=True)


def test_reference_examples() -> None:
    assert len(EXAMPLE_CHUNK) == 68
    assert decode_chunk(EXAMPLE_CHUNK, 1) == [(42,)]
    assert encode_chunk(1, [encode_vector(VectorType.LONG, [42])]) == EXAMPLE_CHUNK
    meta = decode_metadata(EXAMPLE_META)
    assert meta.row_count == 1 and [(c.name, c.type_name) for c in meta.columns] == [("n", "LONG")]
    assert encode_metadata(1, [("n", "LONG", "", "")]) == EXAMPLE_META
    assert decode_metadata(struct.pack(">qi", 7, 0)).columns == ()


def test_every_type_with_nulls() -> None:
    vectors = [
        encode_vector(VectorType.LONG, [2**63 - 1, None, -(2**63)]),
        encode_vector(VectorType.INTEGER, [1, None, -1]),
        encode_vector(VectorType.DOUBLE, [1.5, None, -0.0]),
        encode_vector(VectorType.FLOAT, [0.1, None, 2.0]),
        encode_vector(VectorType.BOOLEAN, [True, None, False]),
        encode_vector(VectorType.STRING, ["a", None, "😀"]),
        encode_vector(VectorType.BINARY, [b"\xff\xfe", None, b""]),
        encode_vector(VectorType.DATE, [0, None, -86_400_000_000]),
        encode_vector(VectorType.DATETIME, [1_700_000_000_123_456, None, -1]),
        encode_vector(VectorType.TIMESTAMP_TZ, [1_700_000_000_123_456, None, 0], zone="+05:30"),
        encode_vector(VectorType.DECIMAL128, [_dec(150), None, _dec(-(10**37))], scale=2),
        encode_vector(VectorType.INTERVAL_DAY_SECOND, [1, None, -86_400_000_000]),
        encode_vector(VectorType.NULL, [None, None, None]),
        encode_vector(VectorType.ARRAY, ["[1]", None, "[]"]),
    ]
    rows = decode_chunk(encode_chunk(3, vectors), len(vectors))
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert rows[0] == (
        2**63 - 1,
        1,
        1.5,
        0.1,
        True,
        "a",
        b"\xff\xfe",
        dt.date(1970, 1, 1),
        dt.datetime(2023, 11, 14, 22, 13, 20, 123456),
        dt.datetime(2023, 11, 15, 3, 43, 20, 123456, tzinfo=ist),
        Decimal("1.50"),
        dt.timedelta(microseconds=1),
        None,
        "[1]",
    )
    assert rows[1] == (None,) * len(vectors)
    assert rows[2][7] == dt.date(1969, 12, 31)
    assert rows[2][8] == dt.datetime(1969, 12, 31, 23, 59, 59, 999999)
    assert rows[2][10] == Decimal("-1" + "0" * 35)
    assert str(rows[0][10]) == "1.50"


def test_decimal_precision_and_text_form() -> None:
    big = 12345678901234567890123456789012345678
    vec = encode_vector(VectorType.DECIMAL128, [_dec(big), b"12.34"], scale=10)
    assert decode_chunk(encode_chunk(2, [vec]), 1) == [
        (Decimal("1234567890123456789012345678.9012345678"),),
        (Decimal("12.34"),),
    ]


def test_zones() -> None:
    vec = encode_vector(VectorType.TIMESTAMP_TZ, [0], zone="Europe/Paris")
    (row,) = decode_chunk(encode_chunk(1, [vec]), 1)
    assert row[0].utcoffset() == dt.timedelta(hours=1)
    bad = encode_vector(VectorType.TIMESTAMP_TZ, [0], zone="Nowhere/Else")
    with pytest.raises(DataError):
        decode_chunk(encode_chunk(1, [bad]), 1)


@pytest.mark.parametrize("vtype", [VectorType.TIMESTAMP, VectorType.INT96, 99])
def test_unsupported_vector_types(vtype: int) -> None:
    chunk = bytearray(encode_chunk(1, [encode_vector(VectorType.LONG, [1])]))
    chunk[chunk.index(bytes.fromhex("08000200000006")) + 6] = vtype
    with pytest.raises(DataError):
        decode_chunk(bytes(chunk), 1)


def test_shape_mismatches() -> None:
    one = encode_vector(VectorType.LONG, [1, 2])
    with pytest.raises(DataError):
        decode_chunk(encode_chunk(2, [one]), 2)  # vector count != columns
    with pytest.raises(DataError):
        decode_chunk(encode_chunk(3, [one]), 1)  # vector size != chunk size
    assert decode_chunk(b"", 3) == []
    assert decode_chunk(encode_chunk(0, []), 3) == []


def _valid_chunk() -> bytes:
    return encode_chunk(
        2,
        [
            encode_vector(VectorType.LONG, [1, None]),
            encode_vector(VectorType.STRING, ["x", "yy"]),
            encode_vector(VectorType.DECIMAL128, [_dec(5), None], scale=1),
            encode_vector(VectorType.DATETIME, [5, 6]),
        ],
    )


FUZZ = settings(max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_batches(data: bytes) -> None:
    with contextlib.suppress(DataError):
        decode_chunk(data, 4)


@FUZZ
@given(st.integers(min_value=0, max_value=400), st.data())
def test_fuzz_truncated_and_corrupt_batches(cut: int, data: st.DataObject) -> None:
    chunk = bytearray(_valid_chunk())
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(chunk) - 1), st.integers(0, 255)), max_size=4)
    )
    for pos, value in flips:
        chunk[pos] = value
    truncated = bytes(chunk[: min(cut, len(chunk))])
    try:
        rows = decode_chunk(truncated, 4)
    except DataError:
        return
    assert all(len(r) == 4 for r in rows)


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_metadata(data: bytes) -> None:
    with contextlib.suppress(DataError):
        decode_metadata(data)


@FUZZ
@given(st.integers(min_value=0, max_value=60), st.data())
def test_fuzz_truncated_metadata(cut: int, data: st.DataObject) -> None:
    blob = bytearray(encode_metadata(3, [("a", "LONG", "", ""), ("ü", "STRING", "UTC", "f")]))
    for pos, value in data.draw(
        st.lists(st.tuples(st.integers(0, len(blob) - 1), st.integers(0, 255)), max_size=3)
    ):
        blob[pos] = value
    with contextlib.suppress(DataError):
        decode_metadata(bytes(blob[:cut]))


def test_modified_utf8_fallback() -> None:
    assert decode_text(b"a\xc0\x80b") == "a\x00b"  # Java's NUL
    surrogates = "\ud83d\ude00".encode("utf-8", "surrogatepass")  # a non-BMP char, Java style
    assert decode_text(surrogates) == "😀"
    assert decode_text("😀".encode()) == "😀"
    with pytest.raises(DataError):
        decode_text(b"\xff")


def test_decimals_ignore_the_callers_context() -> None:
    import decimal

    small = encode_vector(VectorType.DECIMAL128, [_dec(123456789012345678), _dec(-5)], scale=4)
    wide = encode_vector(VectorType.DECIMAL128, [_dec(10**30 + 1), _dec(-1)], scale=4)
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        rows = decode_chunk(encode_chunk(2, [small, wide]), 2)
    assert rows == [
        (Decimal("12345678901234.5678"), Decimal("100000000000000000000000000.0001")),
        (Decimal("-0.0005"), Decimal("-0.0001")),
    ]
    assert [str(r[0]) for r in rows] == ["12345678901234.5678", "-0.0005"]
