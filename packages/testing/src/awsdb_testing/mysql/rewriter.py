"""MySQL-protocol query rewriting, so that the exact Aurora MySQL SQL runs on MariaDB.

:class:`QueryRewriter` is a per-connection :class:`~awsdb_testing.proxy.StreamFilter` for the
client → server direction of a :class:`~awsdb_testing.proxy.FaultProxy`. MySQL packets are a
3-byte little-endian payload length, a 1-byte sequence id, then the payload. Only *command*
packets (sequence id 0) whose first payload byte is ``COM_QUERY`` (0x03) or
``COM_STMT_PREPARE`` (0x16) are rewritten; handshake and authentication packets never have
sequence id 0, so they pass untouched. Maximum-length (0xFFFFFF) packets of a split command
are streamed through unchanged, as is everything else. Partial packets are buffered, so a
300 KB query that arrives in many reads is rewritten as a whole.

Rewrites (case-insensitive, every occurrence):

- ``information_schema.replica_host_status`` → ``aurora_emu.replica_host_status``
- ``@@aurora_server_id`` → ``@@report_host``
- ``@@innodb_read_only`` → ``@@read_only``
- ``SHOW VARIABLES LIKE 'aurora_version'`` → a ``SELECT`` returning the emulated version.

Limits: plaintext protocol only (no TLS, no protocol compression).
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["DEFAULT_AURORA_VERSION", "QueryRewriter", "rewrite_sql", "rewriter_factory"]

DEFAULT_AURORA_VERSION = "3.08.0"

_COM_QUERY = 0x03
_COM_STMT_PREPARE = 0x16
_MAX_PAYLOAD = 0xFFFFFF
_HEADER = 4

_RULES: tuple[tuple[re.Pattern[bytes], bytes], ...] = (
    (
        re.compile(rb"information_schema\s*\.\s*replica_host_status", re.IGNORECASE),
        b"aurora_emu.replica_host_status",
    ),
    (re.compile(rb"@@aurora_server_id\b", re.IGNORECASE), b"@@report_host"),
    (re.compile(rb"@@innodb_read_only\b", re.IGNORECASE), b"@@read_only"),
)
_VERSION_PROBE = re.compile(rb"SHOW\s+VARIABLES\s+LIKE\s+'aurora_version'", re.IGNORECASE)
# cheap pre-filter: a statement without any of these bytes cannot match a rule
_TRIGGER = re.compile(
    rb"replica_host_status|@@aurora_server_id|@@innodb_read_only|aurora_version", re.IGNORECASE
)


def rewrite_sql(sql: bytes, aurora_version: str = DEFAULT_AURORA_VERSION) -> bytes:
    """Return ``sql`` with the Aurora-only names replaced by their MariaDB stand-ins."""
    if not _TRIGGER.search(sql):
        return sql
    for pattern, replacement in _RULES:
        sql = pattern.sub(replacement, sql)
    version_select = (
        b"SELECT 'aurora_version' AS Variable_name, '"
        + aurora_version.encode("ascii")
        + b"' AS Value"
    )
    return _VERSION_PROBE.sub(lambda _m: version_select, sql)


class QueryRewriter:
    """Per-connection filter that rewrites command packets; see the module docstring."""

    def __init__(self, aurora_version: str = DEFAULT_AURORA_VERSION) -> None:
        if not re.fullmatch(r"[0-9A-Za-z._-]+", aurora_version):
            raise ValueError(f"invalid aurora_version {aurora_version!r}")
        self._version = aurora_version
        self._buf = bytearray()
        self._passthrough = 0  # payload bytes of the current packet to forward unchanged
        self.rewritten = 0  # statements changed (for tests and diagnostics)

    def feed(self, data: bytes) -> bytes:
        """Consume client bytes and return the bytes to forward to the server now."""
        out = bytearray()
        view = memoryview(data)
        while view:
            if self._passthrough:
                n = min(self._passthrough, len(view))
                out += view[:n]
                view = view[n:]
                self._passthrough -= n
                continue
            need = _HEADER - len(self._buf) if len(self._buf) < _HEADER else 0
            if need:
                self._buf += view[:need]
                view = view[need:]
                if len(self._buf) < _HEADER:
                    break
            length = int.from_bytes(self._buf[:3], "little")
            seq = self._buf[3]
            if seq != 0 or length == _MAX_PAYLOAD:
                # not a complete command packet: stream it through
                out += self._buf
                self._buf.clear()
                self._passthrough = length
                continue
            missing = _HEADER + length - len(self._buf)
            take = min(missing, len(view))
            self._buf += view[:take]
            view = view[take:]
            if take < missing:
                break
            out += self._rewrite_packet(bytes(self._buf))
            self._buf.clear()
        return bytes(out)

    def _rewrite_packet(self, packet: bytes) -> bytes:
        payload = packet[_HEADER:]
        if not payload or payload[0] not in (_COM_QUERY, _COM_STMT_PREPARE):
            return packet
        sql = payload[1:]
        new_sql = rewrite_sql(sql, self._version)
        if new_sql == sql:
            return packet
        new_payload = payload[:1] + new_sql
        if len(new_payload) >= _MAX_PAYLOAD:
            return packet  # would need splitting; leave the statement as the client sent it
        self.rewritten += 1
        return len(new_payload).to_bytes(3, "little") + b"\x00" + new_payload


def rewriter_factory(aurora_version: str = DEFAULT_AURORA_VERSION) -> Callable[[], QueryRewriter]:
    """A ``filter_factory`` for :class:`~awsdb_testing.proxy.FaultProxy`."""
    if not re.fullmatch(r"[0-9A-Za-z._-]+", aurora_version):
        raise ValueError(f"invalid aurora_version {aurora_version!r}")
    return lambda: QueryRewriter(aurora_version)
