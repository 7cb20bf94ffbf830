"""Redaction of secrets from mappings, text and log records.

Three layers, used together by :class:`SecretsFilter`:

- by key: values of secret keys (``password``, ``idp_password``, any registered property with
  ``secret=True``, and unregistered keys that look like a password, secret or token) become
  ``'***'`` (:func:`redact_mapping`);
- by shape: ``key=value`` / ``key: value`` pairs whose key looks secret and the password of
  a URL's user information (:func:`redact_patterns`);
- by value: known secret values (and their ``repr``-escaped and percent-encoded forms)
  wherever they occur (:func:`redact_text`). Values shorter than :data:`MIN_SECRET_LENGTH`
  are not replaced as substrings (they would mangle every message); the key and shape
  layers still cover them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence

from .properties import DRIVER_SECRET_KEYS, REDACTED, PropertyRegistry

__all__ = [
    "MIN_SECRET_LENGTH",
    "SecretsFilter",
    "redact_mapping",
    "redact_patterns",
    "redact_text",
]

MIN_SECRET_LENGTH = 4
"""Shortest secret value replaced wherever it occurs in text."""

_HINT = r"[A-Za-z0-9_-]{0,40}(?:pass(?:word|wd)|pwd|secret|token|credential)[A-Za-z0-9_-]{0,40}"
_KEY_VALUE = re.compile(
    r"(?P<key>\b" + _HINT + r")(?P<sep>['\"]?\s*=\s*|['\"]\s*:\s*|:\s+)"
    r"(?P<value>'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?|[^\s,;&'\"})\]]+)",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)[^@\s]*(?=@)")
_HINT_KEY = re.compile(_HINT, re.IGNORECASE)
_MAX_TRACKED = 1024
_LOG_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def _looks_secret(key: str, registry: PropertyRegistry | None) -> bool:
    if registry is not None:
        return registry.is_secret_key(key)
    return key.lower() in DRIVER_SECRET_KEYS or bool(_HINT_KEY.search(key))


def redact_mapping(
    m: Mapping[str, object], registry: PropertyRegistry | None = None
) -> dict[str, object]:
    """A copy of ``m`` with the value of every secret key replaced by ``'***'``.

    With a registry, registered properties decide by their ``secret`` flag (so
    ``secrets_manager_secret_id`` is shown); other keys are secret when they are driver
    secret keys or look like a password, secret or token. String values of other keys are
    passed through :func:`redact_patterns` (a DSN held in a value loses its password).
    """
    out: dict[str, object] = {}
    for key, value in m.items():
        if _looks_secret(str(key), registry):
            out[key] = REDACTED
        elif isinstance(value, str):
            out[key] = redact_patterns(value)
        else:
            out[key] = value
    return out


def _variants(secret: str) -> set[str]:
    """The forms a secret takes in text: as is, ``repr``-escaped, percent-encoded."""
    forms = {secret, repr(secret)[1:-1]}
    encoded = "".join(
        c
        if c.isascii() and (c.isalnum() or c in "-._~")
        else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        for c in secret
    )
    forms.add(encoded)
    forms.add(encoded.lower())
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def _replace_all(text: str, ordered: Sequence[str]) -> str:
    """Replace every form (longest first: ``ordered`` is sorted by decreasing length)."""
    changed = True
    while changed:  # a replacement can join text into a new occurrence; every pass shrinks
        changed = False
        for form in ordered:
            if form in text:
                text = text.replace(form, REDACTED)
                changed = True
    return text


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each known secret value replaced by ``'***'``.

    Longer secrets are replaced first; ``repr``-escaped and percent-encoded forms are
    replaced too. Secrets shorter than :data:`MIN_SECRET_LENGTH` are ignored.
    """
    forms: set[str] = set()
    for secret in secrets:
        if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH:
            forms |= _variants(secret)
    return _replace_all(text, sorted(forms, key=len, reverse=True)) if forms else text


def redact_patterns(text: str) -> str:
    """``text`` with the values of secret-looking ``key=value`` / ``key: value`` pairs and
    URL passwords replaced by ``'***'``."""
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)
    return _KEY_VALUE.sub(_redact_pair, text)


_ALREADY_REDACTED = frozenset({REDACTED, f"'{REDACTED}'", f'"{REDACTED}"', "<redacted>"})


def _redact_pair(match: re.Match[str]) -> str:
    if match.group("value") in _ALREADY_REDACTED:
        return match.group(0)
    return match.group("key") + match.group("sep") + REDACTED


class SecretsFilter(logging.Filter):
    """A logging filter that removes secrets from every record it sees.

    It renders the message with its arguments, redacts it (by shape and by the known secret
    values) and stores the result as the message with no arguments, so no handler sees a
    secret in ``msg`` or ``args``; exception and stack texts and secret-looking ``extra``
    attributes are redacted too. It always lets the record through.

    Known values are registered with :meth:`add` or :meth:`track`; the most recent
    1024 are kept (token rotation must not grow memory without bound). The filter is an
    explicit service: thread-safe, nothing global.

    A filter on a logger does not apply to records of its child loggers; attach it to
    every awsdb logger or to the handlers (:meth:`attach`).
    """

    def __init__(self, registry: PropertyRegistry | None = None) -> None:
        """Create a filter; ``registry`` decides which keys are secret in mapping args."""
        super().__init__()
        self._registry = registry
        self._lock = threading.Lock()
        self._secrets: dict[str, frozenset[str]] = {}  # secret -> its forms, oldest first
        self._forms: tuple[str, ...] | None = ()  # None: to be rebuilt on next use

    def add(self, secret: object) -> None:
        """Remember ``secret`` (a non-string or a too-short value is ignored)."""
        if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
            return
        forms = frozenset(_variants(secret))
        with self._lock:
            self._secrets.pop(secret, None)
            self._secrets[secret] = forms
            while len(self._secrets) > _MAX_TRACKED:
                del self._secrets[next(iter(self._secrets))]
            self._forms = None

    def discard(self, secret: str) -> None:
        """Forget ``secret``."""
        with self._lock:
            if self._secrets.pop(secret, None) is not None:
                self._forms = None

    def track(self, props: Mapping[str, object]) -> None:
        """Remember the values of every secret key of ``props`` (e.g. a Properties)."""
        for key, value in props.items():
            if isinstance(key, str) and _looks_secret(key, self._registry):
                self.add(value)

    def secrets(self) -> int:
        """How many secret values are known."""
        return len(self._secrets)

    def _current_forms(self) -> tuple[str, ...]:
        forms = self._forms
        if forms is None:
            with self._lock:
                merged: set[str] = set()
                for variants in self._secrets.values():
                    merged |= variants
                forms = self._forms = tuple(sorted(merged, key=len, reverse=True))
        return forms

    def redact(self, text: str) -> str:
        """``text`` with known secret values and secret-looking pairs replaced."""
        forms = self._current_forms()
        if forms:
            text = _replace_all(text, forms)
        return redact_patterns(text)

    def attach(self, target: logging.Logger | logging.Handler) -> None:
        """Add this filter to a logger or handler once."""
        if self not in target.filters:
            target.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; always returns True."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let logging report it, but redact
            message = f"{record.msg!s} (arguments dropped)"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key in _LOG_RECORD_ATTRS:
                continue
            if _looks_secret(key, self._registry):
                setattr(record, key, REDACTED)
            elif isinstance(value, str):
                setattr(record, key, self.redact(value))
            elif isinstance(value, Mapping):
                setattr(record, key, redact_mapping(value, self._registry))
        return True
