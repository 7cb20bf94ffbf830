"""Host selectors (aurora-facts §11.9) without the anchor's defects."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest

from awsdb.errors import OperationalError, ProgrammingError
from awsdb.hosts import HostAvailability, HostInfo, HostRole
from awsdb.selectors import (
    HighestWeightSelector,
    HostSelector,
    RandomSelector,
    RoundRobinSelector,
    WeightedRandomSelector,
    default_selectors,
    eligible_hosts,
    parse_weight_pairs,
)

W, R = HostRole.WRITER, HostRole.READER
DOWN = HostAvailability.UNAVAILABLE


def cluster(*names: str, port: int = 5432) -> list[HostInfo]:
    """First name is the writer, the others readers."""
    return [HostInfo(n, port, role=W if i == 0 else R) for i, n in enumerate(names)]


def test_eligibility() -> None:
    hosts = [*cluster("w", "r1", "r2"), HostInfo("r3", 5432, role=R, availability=DOWN)]
    assert [h.host for h in eligible_hosts(hosts, R)] == ["r1", "r2"]
    assert [h.host for h in eligible_hosts(hosts, W)] == ["w"]
    assert [h.host for h in eligible_hosts(hosts, HostRole.UNKNOWN)] == ["w", "r1", "r2"]


@pytest.mark.parametrize("name", ["random", "round_robin", "weighted_random", "highest_weight"])
def test_no_eligible_host_raises(name: str) -> None:
    selector = default_selectors().get(name)
    hosts = [HostInfo("w", 1, role=W), HostInfo("r", 1, role=R, availability=DOWN)]
    with pytest.raises(OperationalError, match="no available reader host"):
        selector.select(hosts, R, {})
    with pytest.raises(OperationalError, match="no available writer host"):
        selector.select([], W, {})


def test_random_is_uniform_over_eligible() -> None:
    hosts = [*cluster("w", "r1", "r2", "r3"), HostInfo("r4", 5432, role=R, availability=DOWN)]
    sel = RandomSelector(random.Random(7))
    counts = Counter(sel.select(hosts, R, {}).host for _ in range(6000))
    assert set(counts) == {"r1", "r2", "r3"}
    for n in counts.values():
        assert 1700 < n < 2300


def test_round_robin_sequence_default_weight() -> None:
    sel = RoundRobinSelector()
    hosts = cluster("w", "r-c", "r-a", "r-b")
    seq = [sel.select(hosts, R, {}).host for _ in range(7)]
    assert seq == ["r-a", "r-b", "r-c", "r-a", "r-b", "r-c", "r-a"]


def test_round_robin_with_weights() -> None:
    sel = RoundRobinSelector()
    hosts = cluster("w", "r1", "r2", "r3")
    props = {"round_robin_host_weight_pairs": "r1:3, r3:2", "round_robin_default_weight": 1}
    seq = [sel.select(hosts, R, props).host for _ in range(12)]
    assert seq == ["r1", "r1", "r1", "r2", "r3", "r3"] * 2


def test_round_robin_default_weight_and_port_keys() -> None:
    sel = RoundRobinSelector()
    hosts = cluster("w", "r1", "r2")
    props = {"round_robin_host_weight_pairs": "r2:5432:1", "round_robin_default_weight": "2"}
    seq = [sel.select(hosts, R, props).host for _ in range(6)]
    assert seq == ["r1", "r1", "r2", "r1", "r1", "r2"]


def test_round_robin_state_per_cluster_and_instance() -> None:
    sel = RoundRobinSelector()
    a = cluster("wa", "a1", "a2")
    b = cluster("wb", "b1", "b2")
    assert sel.select(a, R, {}).host == "a1"
    assert sel.select(b, R, {}).host == "b1"  # not advanced by cluster a
    assert sel.select(a, R, {}).host == "a2"
    assert sel.select(b, R, {}).host == "b2"
    other = RoundRobinSelector()  # a second instance has its own cycle
    assert other.select(a, R, {}).host == "a1"
    # a host going down changes the eligible set: a new cycle
    a_down = [a[0], a[1].replace(availability=DOWN), a[2]]
    assert sel.select(a_down, R, {}).host == "a2"
    assert sel.select(a, R, {}).host == "a1"


def test_round_robin_expiry_and_bound() -> None:
    now = [0.0]
    sel = RoundRobinSelector(ttl_seconds=600, max_clusters=2, clock=lambda: now[0])
    a = cluster("w", "a1", "a2")
    assert sel.select(a, R, {}).host == "a1"
    now[0] = 601.0
    assert sel.select(a, R, {}).host == "a1"  # expired: starts over
    sel.select(cluster("w", "b1"), R, {})
    sel.select(cluster("w", "c1"), R, {})
    assert len(sel._state) == 2


def test_round_robin_threads_share_one_cycle() -> None:
    sel = RoundRobinSelector()
    hosts = cluster("w", "r1", "r2", "r3")
    picks: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        local = [sel.select(hosts, R, {}).host for _ in range(300)]
        with lock:
            picks.extend(local)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(picks) == {"r1": 400, "r2": 400, "r3": 400}


def test_weighted_random_distribution() -> None:
    sel = WeightedRandomSelector(random.Random(1234))
    hosts = cluster("w", "r1", "r2", "r3")
    props = {"weighted_random_host_weight_pairs": "r1:1,r2:3,r3:6"}
    n = 20000
    counts = Counter(sel.select(hosts, R, props).host for _ in range(n))
    for name, share in (("r1", 0.1), ("r2", 0.3), ("r3", 0.6)):
        assert abs(counts[name] / n - share) < 0.02, counts


def test_weighted_random_default_weight() -> None:
    sel = WeightedRandomSelector(random.Random(5))
    hosts = cluster("w", "r1", "r2")
    props = {"weighted_random_host_weight_pairs": "r1:1", "weighted_random_default_weight": 3}
    counts = Counter(sel.select(hosts, R, props).host for _ in range(8000))
    assert abs(counts["r2"] / 8000 - 0.75) < 0.03


def test_weighted_random_huge_weights_do_not_build_lists() -> None:
    sel = WeightedRandomSelector(random.Random(3))
    hosts = cluster("w", "r1", "r2")
    props = {"weighted_random_host_weight_pairs": f"r1:{10**12},r2:1"}
    assert sel.select(hosts, R, props).host == "r1"


def test_highest_weight() -> None:
    hosts = [
        HostInfo("w", 1, role=W, weight=1),
        HostInfo("r1", 1, role=R, weight=4),
        HostInfo("r2", 1, role=R, weight=9),
        HostInfo("r3", 1, role=R, weight=10, availability=DOWN),
    ]
    assert HighestWeightSelector().select(hosts, R, {}).host == "r2"
    assert HighestWeightSelector().select(hosts, HostRole.UNKNOWN, {}).host == "r2"


def test_parse_weight_pairs() -> None:
    assert dict(parse_weight_pairs("")) == {}
    assert dict(parse_weight_pairs(" a:1 , B:22,c:5432:3")) == {"a": 1, "b": 22, "c:5432": 3}
    assert parse_weight_pairs("a:1,b:2") is parse_weight_pairs("a:1,b:2")  # cached
    with pytest.raises(TypeError):
        parse_weight_pairs("a:1")["a"] = 5  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a:0", "not an integer >= 1"),
        ("a:-1", "not an integer >= 1"),
        ("a:1.5", "not an integer >= 1"),
        ("a:x", "not an integer >= 1"),
        ("a", "is not 'host:weight'"),
        (":3", "is not 'host:weight'"),
        ("a:1,,b:2", "empty entry"),
        ("a:1,", "empty entry"),
    ],
)
def test_invalid_pairs(text: str, fragment: str) -> None:
    with pytest.raises(ProgrammingError, match=fragment) as info:
        RoundRobinSelector().select(cluster("w", "a"), R, {"round_robin_host_weight_pairs": text})
    assert "round_robin_host_weight_pairs" in str(info.value)


@pytest.mark.parametrize("value", [0, -2, "x", True, 1.5])
def test_invalid_default_weight(value: object) -> None:
    with pytest.raises(ProgrammingError, match="weighted_random_default_weight"):
        WeightedRandomSelector().select(
            cluster("w", "a"), R, {"weighted_random_default_weight": value}
        )


def test_registry() -> None:
    reg = default_selectors()
    assert reg.names() == ["highest_weight", "random", "round_robin", "weighted_random"]
    assert reg.get("round-robin") is reg.get(" ROUND_ROBIN ")
    assert isinstance(reg.get("random"), HostSelector)
    with pytest.raises(ProgrammingError, match=r"unknown host selector strategy 'fastest'.*random"):
        reg.get("fastest")

    class First:
        def select(self, hosts: object, role: HostRole, props: object) -> HostInfo:
            return cluster("w")[0]

    reg.register("first", First)
    assert "first" in reg and isinstance(reg.get("first"), First)
    with pytest.raises(ProgrammingError, match="already registered"):
        reg.register("first", First)
    reg.register("first", First, replace=True)
    assert default_selectors().names() == [
        "highest_weight",
        "random",
        "round_robin",
        "weighted_random",
    ]


def test_with_real_properties() -> None:
    from awsdb.properties import Properties, default_registry

    props = Properties.parse(
        None,
        {"round_robin_host_weight_pairs": "r2:2", "round_robin_default_weight": "1"},
        default_registry(),
    )
    sel = RoundRobinSelector()
    hosts = cluster("w", "r1", "r2")
    assert [sel.select(hosts, R, props).host for _ in range(4)] == ["r1", "r2", "r2", "r1"]
