"""Keeps tokens, secrets, SAML assertions and IdP bodies out of boto3 / HTTP / driver
debug logs.

At DEBUG, botocore logs request parameters (the SAML assertion of AssumeRoleWithSAML),
response bodies (``SecretString``), the canonical request and signature of a presigned
token, urllib3 logs request lines with their query string (Okta's one-time token) and
mysql-connector logs its ``mysql_clear_password`` response (the token).
:class:`ThirdPartyLogGuard` is a logging filter attached to those libraries' loggers while
the plugins are in use: it removes payloads by shape and known secret values by value
(through the core's secrets filter). ``release()`` detaches it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable

__all__ = ["ThirdPartyLogGuard"]

_PREFIXES = ("botocore", "boto3", "urllib3", "requests", "s3transfer", "mysql")
_URL_LOGGERS = ("urllib3", "requests")  # request lines: their query strings are removed
# loggers whose records carry payloads: keep only the first line up to the payload
_PAYLOAD_LOGGERS = frozenset(
    {"botocore.endpoint", "botocore.parsers", "botocore.auth", "botocore.awsrequest"}
)
_PAYLOAD_MARK = re.compile(
    r"(with params:|body|headers|CanonicalRequest|StringToSign|Signature|request:|response:)",
    re.IGNORECASE,
)
_LOGGING_MODULES = (
    "botocore.auth",
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.awsrequest",
    "botocore.httpsession",
    "botocore.hooks",
    "botocore.credentials",
    "botocore.retryhandler",
    "urllib3.connectionpool",
    "mysql.connector",
)
_QUERY = re.compile(r"\?[^\s\"']*")
_REDACTED = "[payload redacted by awsdb]"


class ThirdPartyLogGuard(logging.Filter):
    """Redacts the debug records of boto3, botocore, urllib3 and requests."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact
        self._lock = threading.Lock()
        self._attached: list[logging.Logger] = []

    def attach(self) -> None:
        """Attach to every logger of those libraries (idempotent; called before each AWS or
        IdP call that handles a secret, so loggers created since are covered too)."""
        import importlib

        for module in _LOGGING_MODULES:  # their loggers must exist to carry the filter
            with contextlib.suppress(ImportError):
                importlib.import_module(module)
        names = [n for n in list(logging.Logger.manager.loggerDict) if n.split(".")[0] in _PREFIXES]
        with self._lock:
            for name in [*_PREFIXES, *names]:
                logger = logging.getLogger(name)
                if self not in logger.filters:
                    logger.addFilter(self)
                    self._attached.append(logger)

    def release(self) -> None:
        """Detach from every logger."""
        with self._lock:
            attached, self._attached = self._attached, []
        for logger in attached:
            logger.removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; always lets it through."""
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        if record.name in _PAYLOAD_LOGGERS or record.name.startswith("botocore.parsers"):
            m = _PAYLOAD_MARK.search(message)
            if m is not None:
                message = message[: m.end()] + " " + _REDACTED
        url_logger = record.name.startswith(_URL_LOGGERS)
        if url_logger:
            message = _QUERY.sub("?" + _REDACTED, message)
        record.msg = self._redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            text = _QUERY.sub("?" + _REDACTED, record.exc_text) if url_logger else record.exc_text
            record.exc_text = self._redact(text)
        return True
