"""Client-side parameter substitution (``paramstyle = 'pyformat'``) with safe quoting."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from .errors import ProgrammingError

__all__ = ["ESCAPE_STYLES", "quote", "substitute"]

ESCAPE_STYLES = ("standard", "hive")
_HIVE = str.maketrans({"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _string(text: str, style: str) -> str:
    if "\x00" in text:
        raise ProgrammingError("string parameters cannot contain NUL characters")
    if style == "hive":
        return "'" + text.translate(_HIVE) + "'"
    return "'" + text.replace("'", "''") + "'"


def quote(value: Any, style: str = "standard") -> str:
    """Render one Python value as an SQL literal."""
    if value is None:
        return "NULL"
    if value is True:
        return "TRUE"
    if value is False:
        return "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"CAST('{value}' AS DOUBLE)"
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ProgrammingError(f"cannot send the non-finite decimal {value}")
        return format(value, "f")
    if isinstance(value, str):
        return _string(value, style)
    if isinstance(value, bytes | bytearray | memoryview):
        return "from_hex('" + bytes(value).hex() + "')"
    if isinstance(value, datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo is not None else "TIMESTAMP"
        return f"{kind} '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, time):
        return f"TIME '{value.isoformat()}'"
    if isinstance(value, timedelta):
        micros = value // timedelta(microseconds=1)
        return f"INTERVAL '{micros} microseconds'"
    if isinstance(value, list | tuple | set | frozenset):
        if not value:
            raise ProgrammingError("cannot send an empty sequence as a parameter")
        return "(" + ", ".join(quote(v, style) for v in value) + ")"
    raise ProgrammingError(f"cannot send a parameter of type {type(value).__name__}")


def substitute(operation: str, parameters: Any, style: str = "standard") -> str:
    """Apply ``pyformat`` (``%(name)s``) or ``format`` (``%s``) parameters to ``operation``.

    Without parameters the operation is returned unchanged (``%`` is not special).
    """
    if parameters is None:
        return operation
    try:
        if isinstance(parameters, Mapping):
            return operation % {k: quote(v, style) for k, v in parameters.items()}
        if isinstance(parameters, Sequence) and not isinstance(parameters, str | bytes):
            return operation % tuple(quote(v, style) for v in parameters)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProgrammingError(f"parameters do not match the operation: {exc}") from exc
    raise ProgrammingError("parameters must be a mapping or a sequence")
