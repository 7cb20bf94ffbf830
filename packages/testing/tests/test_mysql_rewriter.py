"""Unit tests of the MySQL-protocol query rewriter (framing and rewrite rules; no server)."""

from __future__ import annotations

import pytest

from awsdb_testing.mysql.rewriter import QueryRewriter, rewrite_sql, rewriter_factory


def _packet(payload: bytes, seq: int = 0) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def _parse(stream: bytes) -> list[tuple[int, bytes]]:
    out = []
    while stream:
        length = int.from_bytes(stream[:3], "little")
        out.append((stream[3], stream[4 : 4 + length]))
        stream = stream[4 + length :]
    return out


def test_rewrites_the_aurora_names() -> None:
    sql = (
        b"SELECT SERVER_ID FROM information_schema.replica_host_status "
        b"WHERE SESSION_ID = 'MASTER_SESSION_ID' AND SERVER_ID = @@aurora_server_id"
    )
    assert rewrite_sql(sql) == (
        b"SELECT SERVER_ID FROM aurora_emu.replica_host_status "
        b"WHERE SESSION_ID = 'MASTER_SESSION_ID' AND SERVER_ID = @@report_host"
    )
    assert rewrite_sql(b"select @@INNODB_READ_ONLY") == b"select @@read_only"
    assert rewrite_sql(b"x INFORMATION_SCHEMA . Replica_Host_Status y") == (
        b"x aurora_emu.replica_host_status y"
    )
    assert rewrite_sql(b"SHOW VARIABLES LIKE 'aurora_version'", "3.07.1") == (
        b"SELECT 'aurora_version' AS Variable_name, '3.07.1' AS Value"
    )


def test_leaves_other_statements_alone() -> None:
    for sql in (b"SELECT 1", b"SHOW VARIABLES LIKE 'version_comment'", b"SELECT @@read_only"):
        assert rewrite_sql(sql) == sql


def test_command_packet_is_rewritten_and_length_recomputed() -> None:
    rw = QueryRewriter()
    out = rw.feed(_packet(b"\x03SELECT @@aurora_server_id"))
    assert _parse(out) == [(0, b"\x03SELECT @@report_host")]
    assert rw.rewritten == 1


def test_prepare_is_rewritten_but_other_commands_are_not() -> None:
    rw = QueryRewriter()
    prep = _packet(b"\x16SELECT @@innodb_read_only")
    ping = _packet(b"\x0e")
    init_db = _packet(b"\x02@@innodb_read_only")  # COM_INIT_DB: not a statement
    out = rw.feed(prep + ping + init_db)
    assert _parse(out) == [
        (0, b"\x16SELECT @@read_only"),
        (0, b"\x0e"),
        (0, b"\x02@@innodb_read_only"),
    ]


def test_non_command_packets_pass_untouched() -> None:
    rw = QueryRewriter()
    auth = _packet(b"\x03SELECT @@aurora_server_id", seq=1)  # looks like a query, seq 1
    assert rw.feed(auth) == auth


def test_byte_by_byte_feed_gives_the_same_stream() -> None:
    stream = (
        _packet(b"\x03SELECT 1")
        + _packet(b"\x03SHOW VARIABLES LIKE 'aurora_version'")
        + _packet(b"abc", seq=3)
    )
    whole = QueryRewriter().feed(stream)
    rw = QueryRewriter()
    pieces = b"".join(rw.feed(stream[i : i + 1]) for i in range(len(stream)))
    assert pieces == whole
    assert _parse(whole)[1] == (
        0,
        b"\x03SELECT 'aurora_version' AS Variable_name, '3.08.0' AS Value",
    )


def test_large_query_in_chunks() -> None:
    big = b"\x03SELECT @@aurora_server_id, '" + b"x" * 300_000 + b"'"
    stream = _packet(big)
    rw = QueryRewriter()
    out = b"".join(rw.feed(stream[i : i + 8192]) for i in range(0, len(stream), 8192))
    [(seq, payload)] = _parse(out)
    assert seq == 0
    assert payload.startswith(b"\x03SELECT @@report_host, 'xxx")
    assert len(payload) == len(big) - len(b"@@aurora_server_id") + len(b"@@report_host")


def test_max_length_split_packets_stream_through() -> None:
    first = b"\x03" + b"@@aurora_server_id" + b"y" * (0xFFFFFF - 19)
    assert len(first) == 0xFFFFFF
    rest = b"tail @@aurora_server_id"
    stream = _packet(first) + _packet(rest, seq=1)
    rw = QueryRewriter()
    out = b"".join(rw.feed(stream[i : i + 65536]) for i in range(0, len(stream), 65536))
    assert out == stream
    assert rw.rewritten == 0


def test_invalid_version_rejected() -> None:
    with pytest.raises(ValueError):
        rewriter_factory("3.0'; DROP")
