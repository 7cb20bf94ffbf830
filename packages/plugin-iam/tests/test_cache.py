"""The expiring single-flight cache behind the token and secret caches (logic only)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from awsdb_iam._cache import ExpiringCache


class Clock:
    """A manual clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_fresh_value_is_served_until_it_expires() -> None:
    clock = Clock()
    cache: ExpiringCache[str] = ExpiringCache(clock)
    made = iter(["v1", "v2"])
    assert cache.get_or_create("k", 10, lambda: next(made)) == ("v1", False)
    clock.now += 9.9
    assert cache.get_or_create("k", 10, lambda: next(made)) == ("v1", True)
    clock.now += 0.1
    assert cache.get("k") is None
    assert cache.get_or_create("k", 10, lambda: next(made)) == ("v2", False)
    assert (cache.stats.created, cache.stats.hits) == (2, 1)


def test_invalidate_only_drops_the_given_value() -> None:
    cache: ExpiringCache[str] = ExpiringCache(Clock())
    cache.put("k", "new", 10)
    assert not cache.invalidate("k", "old")  # another thread already refreshed it
    assert cache.get("k") == "new"
    assert cache.invalidate("k", "new")
    assert cache.get("k") is None


def test_concurrent_misses_make_one_value() -> None:
    cache: ExpiringCache[int] = ExpiringCache()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        started.set()
        release.wait(10)
        return 42

    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_create("k", 60, slow)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    assert started.wait(10)
    release.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1
    assert sorted(r[1] for r in results) == [False] + [True] * 7
    assert {r[0] for r in results} == {42}


def test_a_failing_creator_raises_and_the_next_caller_retries() -> None:
    cache: ExpiringCache[str] = ExpiringCache()

    def fail() -> str:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        cache.get_or_create("k", 10, fail)
    assert cache.get_or_create("k", 10, lambda: "ok") == ("ok", False)


def test_stale_is_served_only_while_another_caller_refreshes() -> None:
    clock = Clock()
    cache: ExpiringCache[str] = ExpiringCache(clock)
    cache.put("k", "stale", 1)
    clock.now += 2
    entered, release = threading.Event(), threading.Event()

    def refresh() -> str:
        entered.set()
        release.wait(10)
        return "fresh"

    t = threading.Thread(target=lambda: cache.get_or_create("k", 10, refresh, serve_stale=True))
    t.start()
    assert entered.wait(10)
    assert cache.get_or_create("k", 10, lambda: "x", serve_stale=True) == ("stale", True)
    release.set()
    t.join(10)
    assert cache.get("k") == "fresh"
    assert cache.stats.stale_served == 1


def test_size_is_bounded() -> None:
    clock = Clock()
    cache: ExpiringCache[int] = ExpiringCache(clock)
    for i in range(5000):
        cache.put(i, i, 10)
    assert len(cache) == 4096
    assert cache.get(4999) == 4999 and cache.get(0) is None
