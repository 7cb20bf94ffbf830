"""Connection-string parsing: libpq ``key=value`` strings and database URLs.

Accepted forms:

- libpq ``key=value`` pairs separated by whitespace; spaces around ``=`` are allowed; a value
  may be single-quoted, where ``\\'`` and ``\\\\`` escape a quote and a backslash (outside
  quotes a backslash escapes the next character too); ``key=''`` is the empty value; a later
  duplicate key wins.
- ``postgresql://`` and ``postgres://`` URLs by libpq's rules:
  ``postgresql://[user[:password]@][host][:port][,...][/dbname][?param=value&...]`` with
  percent-decoding, IPv6 hosts in brackets and several hosts (``host="h1,h2"``,
  ``port="5432,5433"`` exactly like libpq); ``ssl=true`` becomes ``sslmode=require``.
- ``mysql://`` (and ``mariadb://``) URLs of the same shape, giving the keys ``user``,
  ``password``, ``host``, ``port`` and ``database``, plus the query parameters. Several hosts
  give the same comma lists as for PostgreSQL; the host-list provider picks from them
  (mysql-connector itself takes one host).
- A ``+driver`` suffix on the scheme (SQLAlchemy spelling, ``postgresql+psycopg://``) is
  accepted and ignored; schemes are matched case-insensitively (awsdb extensions).

Differences from libpq, by design: unknown keys are kept (they are checked later by the
driver), and the user information of a URL ends at the first ``/`` or ``?`` rather than the
first ``/``. Errors are :class:`~awsdb.errors.ProgrammingError` naming the 0-based position
and what was expected; they never quote the input, which may hold a password.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import ProgrammingError

__all__ = ["make_conninfo", "parse_conninfo"]

_WS = frozenset(" \t\n\r\f\v")  # C isspace() in the "C" locale, as libpq uses
_SCHEME = re.compile(
    r"(?P<scheme>postgresql|postgres|mysql|mariadb)(?:\+[A-Za-z0-9_]+)?://", re.IGNORECASE
)
_HEX = frozenset("0123456789abcdefABCDEF")
_PLAIN_VALUE = re.compile(r"[^\s'\\]+", re.ASCII)


def _error(pos: int, what: str) -> ProgrammingError:
    return ProgrammingError(f"invalid connection string at position {pos}: {what}")


def parse_conninfo(s: str) -> dict[str, str]:
    """Parse a libpq ``key=value`` string or a postgresql/mysql URL into a dict of strings.

    An empty (or all-whitespace) string gives ``{}``. Malformed input raises
    :class:`~awsdb.errors.ProgrammingError` with the position and what was expected.
    """
    if not isinstance(s, str):
        raise ProgrammingError(
            f"invalid connection string of type {type(s).__name__} (allowed: a str)"
        )
    nul = s.find("\x00")
    if nul >= 0:
        raise _error(nul, "NUL character (not allowed in a connection string)")
    match = _SCHEME.match(s)
    if match is not None:
        mysql = match.group("scheme").lower() in ("mysql", "mariadb")
        return _parse_url(s, match.end(), mysql)
    return _parse_keywords(s)


def _parse_keywords(s: str) -> dict[str, str]:
    result: dict[str, str] = {}
    i, n = 0, len(s)
    while True:
        while i < n and s[i] in _WS:
            i += 1
        if i >= n:
            return result
        key_start = i
        while i < n and s[i] not in _WS and s[i] != "=":
            i += 1
        key = s[key_start:i]
        while i < n and s[i] in _WS:
            i += 1
        if i >= n or s[i] != "=":
            raise _error(
                key_start,
                "expected '=' after the key that starts here (form: key=value; "
                "quote values that contain spaces: key='a b')",
            )
        if not key:
            raise _error(key_start, "empty key before '=' (expected key=value)")
        i += 1
        while i < n and s[i] in _WS:
            i += 1
        buf: list[str] = []
        if i < n and s[i] == "'":
            quote_start = i
            i += 1
            while True:
                if i >= n:
                    raise _error(
                        quote_start,
                        "unterminated quoted value that starts here (expected a closing ')",
                    )
                c = s[i]
                if c == "\\":
                    i += 1
                    if i < n:
                        buf.append(s[i])
                        i += 1
                elif c == "'":
                    i += 1
                    break
                else:
                    buf.append(c)
                    i += 1
        else:
            while i < n and s[i] not in _WS:
                c = s[i]
                if c == "\\":
                    i += 1
                    if i < n:
                        buf.append(s[i])
                        i += 1
                else:
                    buf.append(c)
                    i += 1
        result[key] = "".join(buf)


def _decode(s: str, start: int, end: int) -> str:
    """Percent-decode ``s[start:end]`` (UTF-8); ``start`` gives positions for errors."""
    chunk = s[start:end]
    if "%" not in chunk:
        return chunk
    out = bytearray()
    i = start
    while i < end:
        c = s[i]
        if c == "%":
            if i + 3 > end or s[i + 1] not in _HEX or s[i + 2] not in _HEX:
                raise _error(i, "invalid percent-encoding (expected '%' and two hex digits)")
            byte = int(s[i + 1 : i + 3], 16)
            if byte == 0:
                raise _error(i, "forbidden value %00 in percent-encoded text")
            out.append(byte)
            i += 3
        else:
            out += c.encode("utf-8", "surrogatepass")
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise _error(start, "percent-encoded bytes are not valid UTF-8") from None


def _parse_url(s: str, pos: int, mysql: bool) -> dict[str, str]:
    result: dict[str, str] = {}
    n = len(s)
    # user information: up to an '@' met before the first '/' or '?'
    j = pos
    while j < n and s[j] not in "@/?":
        j += 1
    if j < n and s[j] == "@":
        colon = s.find(":", pos, j)
        user_end = colon if colon >= 0 else j
        user = _decode(s, pos, user_end)
        if user:
            result["user"] = user
        if colon >= 0:
            password = _decode(s, colon + 1, j)
            if password:
                result["password"] = password
        pos = j + 1
    # hosts: [host][:port] or [ipv6][:port], comma-separated
    hosts: list[str] = []
    ports: list[str] = []
    i = pos
    terminator = ""
    while True:
        if i < n and s[i] == "[":
            bracket = i
            close = s.find("]", i + 1)
            if close < 0:
                raise _error(bracket, "unterminated IPv6 address (expected ']')")
            if close == i + 1:
                raise _error(bracket, "empty IPv6 address between '[' and ']'")
            host = _decode(s, i + 1, close)
            i = close + 1
            if i < n and s[i] not in ":/?,":
                raise _error(
                    i, "unexpected character after an IPv6 address (expected ':', '/', '?' or ',')"
                )
        else:
            start = i
            while i < n and s[i] not in ":/?,":
                i += 1
            host = _decode(s, start, i)
        hosts.append(host)
        terminator = s[i] if i < n else ""
        port = ""
        if terminator == ":":
            start = i + 1
            i = start
            while i < n and s[i] not in "/?,":
                i += 1
            port = _decode(s, start, i)
            terminator = s[i] if i < n else ""
        ports.append(port)
        if terminator != ",":
            break
        i += 1
    host_value = ",".join(hosts)
    port_value = ",".join(ports)
    if host_value:
        result["host"] = host_value
    if port_value:
        result["port"] = port_value
    if terminator == "/":
        start = i + 1
        i = start
        while i < n and s[i] != "?":
            i += 1
        dbname = _decode(s, start, i)
        if dbname:
            result["database" if mysql else "dbname"] = dbname
        terminator = s[i] if i < n else ""
    if terminator == "?":
        _parse_query(s, i + 1, mysql, result)
    return result


def _parse_query(s: str, pos: int, mysql: bool, result: dict[str, str]) -> None:
    n = len(s)
    i = pos
    while i < n:
        start = i
        eq = -1
        while i < n and s[i] != "&":
            if s[i] == "=":
                if eq >= 0:
                    raise _error(
                        i,
                        "extra '=' in a URL query parameter "
                        "(expected key=value; percent-encode '=' as %3D)",
                    )
                eq = i
            i += 1
        if eq < 0:
            raise _error(start, "URL query parameter without '=' (expected key=value)")
        key = _decode(s, start, eq)
        value = _decode(s, eq + 1, i)
        if not key:
            raise _error(start, "empty key in a URL query parameter (expected key=value)")
        if not mysql and key == "ssl" and value == "true":
            key, value = "sslmode", "require"
        result[key] = value
        i += 1  # past '&' (or past the end)


def make_conninfo(params: Mapping[str, object]) -> str:
    """Render ``params`` as a libpq ``key=value`` string that :func:`parse_conninfo` (and
    libpq) read back to the same strings. Values are converted with ``str``; ``None`` values
    are skipped."""
    parts: list[str] = []
    for key, value in params.items():
        if value is None:
            continue
        if not key or any(c in _WS or c in "='\\\x00" for c in key):
            raise ProgrammingError(
                f"invalid connection string key {key!r} "
                "(allowed: non-empty, without spaces, '=', quotes or backslashes)"
            )
        text = str(value)
        if "\x00" in text:
            raise ProgrammingError(
                f"invalid value for key {key!r}: contains a NUL character (not allowed)"
            )
        if _PLAIN_VALUE.fullmatch(text):
            parts.append(f"{key}={text}")
        else:
            escaped = text.replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"{key}='{escaped}'")
    return " ".join(parts)
