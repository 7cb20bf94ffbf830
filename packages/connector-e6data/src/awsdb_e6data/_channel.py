"""gRPC channel construction: channel options and TLS credentials."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc

from .errors import InterfaceError

__all__ = ["CONNECTOR_KEYS", "build_channel", "channel_options", "load_pem"]

_DEFAULTS: dict[str, Any] = {
    "keepalive_time_ms": 30000,
    "keepalive_timeout_ms": 900000,
    "keepalive_permit_without_calls": 1,
    "http2.max_pings_without_data": 0,
    "http2.min_time_between_pings_ms": 15000,
    "http2.min_ping_interval_without_data_ms": 15000,
    "max_receive_message_length": -1,
    "max_send_message_length": -1,
}
# Connector settings that are accepted in grpc_options but never become channel arguments.
CONNECTOR_KEYS = frozenset({"grpc_prepare_timeout", "grpc_auto_resume_timeout_seconds"})


def channel_options(user: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """Split ``grpc_options`` into connector settings and ``grpc.``-prefixed channel args.

    A leading ``grpc.`` is optional on user keys; two spellings of one key with different
    values are rejected.
    """
    merged: dict[str, Any] = dict(_DEFAULTS)
    settings: dict[str, Any] = {}
    seen: dict[str, Any] = {}
    for key, value in (user or {}).items():
        if not isinstance(key, str):
            raise InterfaceError(f"grpc_options keys must be strings, got {key!r}")
        bare = key.removeprefix("grpc.")
        if bare in seen and seen[bare] != value:
            raise InterfaceError(f"grpc_options sets {bare!r} twice with different values")
        seen[bare] = value
        if bare in CONNECTOR_KEYS:
            settings[bare] = value
        else:
            merged[bare] = value
    return settings, [(f"grpc.{k}", v) for k, v in merged.items()]


def load_pem(value: str | bytes | Path | None, what: str) -> bytes | None:
    """Read a PEM from a path (str/Path) or take it as bytes; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str | Path):
        try:
            return Path(value).read_bytes()
        except OSError as exc:
            raise InterfaceError(f"cannot read {what} file {str(value)!r}: {exc}") from exc
    raise InterfaceError(f"{what} must be a path or PEM bytes, not {type(value).__name__}")


def build_channel(
    address: str,
    options: list[tuple[str, Any]],
    *,
    secure: bool,
    root_ca: bytes | None = None,
    client_cert: bytes | None = None,
    client_key: bytes | None = None,
) -> grpc.Channel:
    """A plaintext or TLS channel; TLS trusts ``root_ca`` or the system store when None."""
    if not secure:
        return grpc.insecure_channel(address, options=options)
    creds = grpc.ssl_channel_credentials(
        root_certificates=root_ca, private_key=client_key, certificate_chain=client_cert
    )
    return grpc.secure_channel(address, creds, options=options)
