"""The host model and the host availability registry."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

import pytest

from awsdb.hosts import HostAvailability, HostAvailabilityRegistry, HostInfo, HostRole


def test_defaults_and_url() -> None:
    h = HostInfo("db-1.example")
    assert h.port is None and h.url == "db-1.example"
    assert h.role is HostRole.UNKNOWN and h.availability is HostAvailability.AVAILABLE
    assert h.weight == 100 and h.host_id is None and h.aliases == frozenset()
    assert HostInfo("db-1.example", 5432).url == "db-1.example:5432"


def test_frozen_slots_and_replace() -> None:
    h = HostInfo("a", 1, role=HostRole.READER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.port = 2  # type: ignore[misc]
    assert not hasattr(h, "__dict__")
    w = h.replace(role=HostRole.WRITER, last_update=datetime(2024, 1, 1, tzinfo=UTC))
    assert (w.role, h.role) == (HostRole.WRITER, HostRole.READER)
    assert w.last_update is not None and w.host == "a"
    assert h == HostInfo("a", 1, role=HostRole.READER)
    assert hash(h) == hash(HostInfo("a", 1, role=HostRole.READER))


def test_aliases_and_matches() -> None:
    h = HostInfo("DB-1.example", 5432, host_id="db-1").with_alias("10.0.0.5:5432", "")
    assert h.aliases == frozenset({"10.0.0.5:5432"})
    assert h.with_alias("10.0.0.5:5432") is h
    assert h.matches("db-1.example") and h.matches("db-1.example:5432")
    assert h.matches("db-1") and h.matches("10.0.0.5:5432")
    assert not h.matches("db-2.example")


def test_registry_mark_get_apply() -> None:
    now = [100.0]
    reg = HostAvailabilityRegistry(clock=lambda: now[0])
    a, b = HostInfo("a", 1), HostInfo("b", 1)
    assert reg.get("a:1") is None
    assert reg.apply([a, b]) == [a, b]
    reg.mark_unavailable("A:1")
    entry = reg.entry("a:1")
    assert entry is not None and entry.marked_at == 100.0
    assert reg.get("a:1") is HostAvailability.UNAVAILABLE
    out = reg.apply([a, b])
    assert out[0].availability is HostAvailability.UNAVAILABLE and not out[0].is_available
    assert out[1] is b
    now[0] = 101.0
    reg.mark_available("a:1")
    assert reg.apply([a])[0] is a
    assert reg.entry("a:1") == (HostAvailability.AVAILABLE, 101.0)
    # a host the caller already knows to be down keeps its state unless marked otherwise
    down = HostInfo("c", 1, availability=HostAvailability.UNAVAILABLE)
    assert reg.apply([down])[0] is down
    reg.forget("a:1")
    assert reg.get("a:1") is None
    reg.mark_unavailable("b:1")
    reg.clear()
    assert reg.snapshot() == {}


def test_registry_bounded() -> None:
    reg = HostAvailabilityRegistry(max_entries=2)
    for name in ("a", "b", "c"):
        reg.mark_unavailable(name)
    assert set(reg.snapshot()) == {"b", "c"}
    with pytest.raises(ValueError):
        HostAvailabilityRegistry(max_entries=0)


def test_registry_threads() -> None:
    reg = HostAvailabilityRegistry()
    hosts = [HostInfo(f"h{i}", 1) for i in range(50)]

    def work(k: int) -> None:
        for i in range(200):
            reg.mark(
                hosts[(i + k) % 50].url, HostAvailability((("available", "unavailable"))[i % 2])
            )
            reg.apply(hosts)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reg.snapshot()) == 50
