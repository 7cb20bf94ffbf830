"""The static host-list provider."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from awsdb.dialects import MysqlDialect, PgDialect
from awsdb.errors import ProgrammingError
from awsdb.host_provider import HostListProvider, StaticHostListProvider, parse_host_list
from awsdb.hosts import HostAvailability, HostAvailabilityRegistry, HostInfo, HostRole
from awsdb.properties import Properties, default_registry

W, R = HostRole.WRITER, HostRole.READER


def props(conninfo: str, **kw: object) -> Properties:
    return Properties.parse(conninfo, kw, default_registry())


def test_single_host_is_writer() -> None:
    p = StaticHostListProvider(props("host=db.example dbname=x"), default_port=5432)
    assert isinstance(p, HostListProvider)
    assert [(h.host, h.port, h.role) for h in p.current()] == [("db.example", 5432, W)]
    assert p.refresh(force=True) == p.current()
    assert p.cluster_id() == "db.example:5432"


def test_several_hosts_first_writer_others_readers() -> None:
    p = StaticHostListProvider(props("host=a,b,c port=5432,5433,5434"))
    assert [(h.url, h.role) for h in p.current()] == [
        ("a:5432", W),
        ("b:5433", R),
        ("c:5434", R),
    ]


def test_cluster_id_from_endpoint_and_override() -> None:
    cluster = "db.cluster-ro-xyz.us-east-1.rds.amazonaws.com"
    p = StaticHostListProvider(props(f"host={cluster} port=5432"))
    assert p.cluster_id() == "db.cluster-xyz.us-east-1.rds.amazonaws.com"
    q = StaticHostListProvider(props(f"host={cluster}", cluster_id="prod-a"))
    assert q.cluster_id() == "prod-a"


def test_dialect_default_port_and_host_objects() -> None:
    p = StaticHostListProvider([HostInfo("a"), HostInfo("b", 3307)], dialect=MysqlDialect())
    assert [h.url for h in p.current()] == ["a:3306", "b:3307"]
    with pytest.raises(ProgrammingError, match="at least one host"):
        StaticHostListProvider([])
    with pytest.raises(ProgrammingError, match="at least one host"):
        StaticHostListProvider(props("dbname=x"))


def test_availability_is_applied() -> None:
    reg = HostAvailabilityRegistry()
    p = StaticHostListProvider.from_connection_string("a,b", "5432", availability=reg)
    reg.mark_unavailable("b:5432")
    assert [h.availability for h in p.current()] == [
        HostAvailability.AVAILABLE,
        HostAvailability.UNAVAILABLE,
    ]


@pytest.mark.parametrize(
    ("hosts", "ports", "expected"),
    [
        ("a", None, [("a", 5432)]),
        ("a,b", "6000", [("a", 6000), ("b", 6000)]),
        ("a, b", "6000,", [("a", 6000), ("b", 5432)]),
        ("a,b", [1, "2"], [("a", 1), ("b", 2)]),
        ("a", 7000, [("a", 7000)]),
    ],
)
def test_parse_host_list(
    hosts: str, ports: str | int | Sequence[int | str] | None, expected: list[tuple[str, int]]
) -> None:
    assert parse_host_list(hosts, ports, 5432) == expected


@pytest.mark.parametrize(
    ("hosts", "ports", "fragment"),
    [
        ("a,,b", None, r"'host'.*empty entry"),
        ("a,b,c", "1,2", "one per host"),
        ("a", "x", "from 1 to 65535"),
        ("a", "70000", "from 1 to 65535"),
        ("", None, r"'host'.*empty entry"),
    ],
)
def test_parse_host_list_errors(hosts: str, ports: str, fragment: str) -> None:
    with pytest.raises(ProgrammingError, match=fragment):
        parse_host_list(hosts, ports, 5432)


class AliasQuery:
    def __init__(self, alias: str | None) -> None:
        self.alias = alias

    def __call__(self, sql: str, params: Sequence[object] | None) -> list[tuple[object, ...]]:
        assert sql == PgDialect.HOST_ALIAS_SQL
        return [(self.alias,)]


def test_identify() -> None:
    two = StaticHostListProvider(
        [HostInfo("10.0.0.1", 5432), HostInfo("10.0.0.2", 5432)], dialect=PgDialect()
    )
    found = two.identify(AliasQuery("10.0.0.2:5432"))
    assert found is not None and found.host == "10.0.0.2" and found.role is R
    assert two.identify(AliasQuery("10.9.9.9:5432")) is None
    one = StaticHostListProvider([HostInfo("db.example", 5432)], dialect=PgDialect())
    only = one.identify(AliasQuery("10.0.0.7:5432"))
    assert only is not None and only.host == "db.example"
    assert "10.0.0.7:5432" in only.aliases
    no_dialect = StaticHostListProvider([HostInfo("db.example", 5432)])
    assert no_dialect.identify(AliasQuery(None)) == no_dialect.current()[0]
