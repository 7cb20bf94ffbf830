"""The process state of the authentication plugins lives in the core's stash."""

from __future__ import annotations

import threading

import awsdb
from awsdb._service import get_services
from awsdb_iam._state import _KEY, AuthState, auth_state


def test_state_is_made_once_per_services_even_under_contention() -> None:
    services = get_services()
    found: list[AuthState] = []
    threads = [
        threading.Thread(target=lambda: found.append(auth_state(services))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in found}) == 1
    assert services.stash[_KEY] is found[0]


def test_state_is_shared_and_released_with_the_services() -> None:
    services = get_services()
    state = auth_state(services)
    assert auth_state(services) is state
    state.iam_tokens.put("k", "token-value", 60)
    awsdb.release_resources()
    assert len(state.iam_tokens) == 0  # released
    assert auth_state(get_services()) is not state
