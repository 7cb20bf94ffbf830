"""The process state lives in the core's stash when the core has one (logic only: a stand-in
stash with the contract's ``setdefault(key, factory)``), else on the services object."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import pytest

from awsdb._service import get_services
from awsdb_iam._state import AuthState, _stash_key, auth_state


class _Key:
    def __init__(self, name: str) -> None:
        self.name = name  # compares by identity, the strictest reading of the contract


class _Stash:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[Any, Any] = {}
        self.factory_calls = 0

    def setdefault(self, key: Any, factory: Callable[[], Any]) -> Any:
        with self.lock:
            if key not in self.values:
                self.factory_calls += 1
                self.values[key] = factory()
            return self.values[key]


def test_state_is_made_once_per_stash(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("awsdb.stash")
    module.StashKey = _Key  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "awsdb.stash", module)
    _stash_key.cache_clear()
    try:
        services = types.SimpleNamespace(stash=_Stash(), secrets=get_services().secrets)
        first = auth_state(services)  # type: ignore[arg-type]
        assert isinstance(first, AuthState)
        assert auth_state(services) is first  # type: ignore[arg-type]
        assert services.stash.factory_calls == 1
        (key,) = services.stash.values
        assert key.name == "awsdb_iam.state"
    finally:
        _stash_key.cache_clear()


def test_state_is_shared_and_released_with_the_services() -> None:
    import awsdb

    services = get_services()
    state = auth_state(services)
    assert auth_state(services) is state
    state.iam_tokens.put("k", "token-value", 60)
    awsdb.release_resources()
    assert len(state.iam_tokens) == 0  # released
    assert auth_state(get_services()) is not state
