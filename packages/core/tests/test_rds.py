"""The RDS host-name taxonomy (aurora-facts §2), table-driven."""

from __future__ import annotations

import pytest

from awsdb import rds
from awsdb.errors import ProgrammingError
from awsdb.rds import RdsUrlType as T

# host, type, region, instance host pattern, cluster identifier
CASES: list[tuple[str, T, str | None, str | None, str | None]] = [
    # commercial
    (
        "db.cluster-c9abcdefghij.us-east-2.rds.amazonaws.com",
        T.RDS_WRITER_CLUSTER,
        "us-east-2",
        "?.c9abcdefghij.us-east-2.rds.amazonaws.com",
        "db",
    ),
    (
        "db.cluster-ro-c9abcdefghij.us-east-2.rds.amazonaws.com",
        T.RDS_READER_CLUSTER,
        "us-east-2",
        "?.c9abcdefghij.us-east-2.rds.amazonaws.com",
        "db",
    ),
    (
        "my-ep.cluster-custom-c9abcdefghij.eu-west-1.rds.amazonaws.com",
        T.RDS_CUSTOM_CLUSTER,
        "eu-west-1",
        "?.c9abcdefghij.eu-west-1.rds.amazonaws.com",
        "my-ep",
    ),
    (
        "my-proxy.proxy-c9abcdefghij.us-west-2.rds.amazonaws.com",
        T.RDS_PROXY,
        "us-west-2",
        "?.c9abcdefghij.us-west-2.rds.amazonaws.com",
        "my-proxy",
    ),
    (
        "lim.shardgrp-c9abcdefghij.us-east-1.rds.amazonaws.com",
        T.RDS_AURORA_LIMITLESS_DB_SHARD_GROUP,
        "us-east-1",
        "?.c9abcdefghij.us-east-1.rds.amazonaws.com",
        "lim",
    ),
    (
        "db-instance-1.c9abcdefghij.us-east-1.rds.amazonaws.com",
        T.RDS_INSTANCE,
        "us-east-1",
        "?.c9abcdefghij.us-east-1.rds.amazonaws.com",
        None,
    ),
    (
        "gdb.global-abcdef123456.global.rds.amazonaws.com",
        T.RDS_GLOBAL_WRITER_CLUSTER,
        None,
        None,
        "gdb",
    ),
    # GovCloud uses the commercial form
    (
        "db.cluster-c9abcdefghij.us-gov-west-1.rds.amazonaws.com",
        T.RDS_WRITER_CLUSTER,
        "us-gov-west-1",
        "?.c9abcdefghij.us-gov-west-1.rds.amazonaws.com",
        "db",
    ),
    # Gov / ISO "rds-first" ordering
    (
        "db.cluster-c9abcdefghij.rds.us-gov-east-1.amazonaws.com",
        T.RDS_WRITER_CLUSTER,
        "us-gov-east-1",
        "?.c9abcdefghij.rds.us-gov-east-1.amazonaws.com",
        "db",
    ),
    (
        "db.cluster-ro-c9abcdefghij.rds.us-iso-east-1.c2s.ic.gov",
        T.RDS_READER_CLUSTER,
        "us-iso-east-1",
        "?.c9abcdefghij.rds.us-iso-east-1.c2s.ic.gov",
        "db",
    ),
    (
        "inst-2.c9abcdefghij.rds.us-isob-east-1.sc2s.sgov.gov",
        T.RDS_INSTANCE,
        "us-isob-east-1",
        "?.c9abcdefghij.rds.us-isob-east-1.sc2s.sgov.gov",
        None,
    ),
    # China, current and old
    (
        "db.cluster-c9abcdefghij.rds.cn-north-1.amazonaws.com.cn",
        T.RDS_WRITER_CLUSTER,
        "cn-north-1",
        "?.c9abcdefghij.rds.cn-north-1.amazonaws.com.cn",
        "db",
    ),
    (
        "px.proxy-c9abcdefghij.rds.cn-northwest-1.amazonaws.com.cn",
        T.RDS_PROXY,
        "cn-northwest-1",
        "?.c9abcdefghij.rds.cn-northwest-1.amazonaws.com.cn",
        "px",
    ),
    (
        "db.cluster-ro-c9abcdefghij.cn-north-1.rds.amazonaws.com.cn",
        T.RDS_READER_CLUSTER,
        "cn-north-1",
        "?.c9abcdefghij.cn-north-1.rds.amazonaws.com.cn",
        "db",
    ),
    (
        "inst.c9abcdefghij.cn-north-1.rds.amazonaws.com.cn",
        T.RDS_INSTANCE,
        "cn-north-1",
        "?.c9abcdefghij.cn-north-1.rds.amazonaws.com.cn",
        None,
    ),
    # shard groups also in other partitions, with a trailing dot
    (
        "lim.shardgrp-c9abcdefghij.us-iso-east-1.rds.c2s.ic.gov.",
        T.RDS_AURORA_LIMITLESS_DB_SHARD_GROUP,
        "us-iso-east-1",
        "?.c9abcdefghij.us-iso-east-1.rds.c2s.ic.gov",
        "lim",
    ),
    # case-insensitive
    (
        "DB.CLUSTER-RO-C9ABCDEFGHIJ.US-EAST-2.RDS.AMAZONAWS.COM",
        T.RDS_READER_CLUSTER,
        "us-east-2",
        "?.c9abcdefghij.us-east-2.rds.amazonaws.com",
        "db",
    ),
    # blue/green names keep their kind
    (
        "db-old1.cluster-c9abcdefghij.us-east-1.rds.amazonaws.com",
        T.RDS_WRITER_CLUSTER,
        "us-east-1",
        "?.c9abcdefghij.us-east-1.rds.amazonaws.com",
        "db-old1",
    ),
    (
        "db-green-abc123.cluster-c9abcdefghij.us-east-1.rds.amazonaws.com",
        T.RDS_WRITER_CLUSTER,
        "us-east-1",
        "?.c9abcdefghij.us-east-1.rds.amazonaws.com",
        "db-green-abc123",
    ),
    # IP addresses
    ("10.1.2.3", T.IP_ADDRESS, None, None, None),
    ("255.255.255.255", T.IP_ADDRESS, None, None, None),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", T.IP_ADDRESS, None, None, None),
    ("2001:db8::1", T.IP_ADDRESS, None, None, None),
    ("::1", T.IP_ADDRESS, None, None, None),
    ("[fe80::1]", T.IP_ADDRESS, None, None, None),
    # other
    ("localhost", T.OTHER, None, None, None),
    ("db.example.com", T.OTHER, None, None, None),
    ("999.1.1.1", T.OTHER, None, None, None),
    ("db.cluster-c9abcdefghij.us-east-1.rds.amazonaws.com.evil.com", T.OTHER, None, None, None),
    ("rds.amazonaws.com", T.OTHER, None, None, None),
    # ELB: other, but carries a region
    ("my-lb-123.elb.us-west-1.amazonaws.com", T.OTHER, "us-west-1", None, None),
]


@pytest.mark.parametrize(("host", "kind", "region", "pattern", "ident"), CASES)
def test_taxonomy(
    host: str, kind: T, region: str | None, pattern: str | None, ident: str | None
) -> None:
    assert rds.classify(host) is kind
    assert rds.region_of(host) == region
    assert rds.instance_host_pattern(host) == pattern
    assert rds.cluster_identifier(host) == ident


FLAGS = {
    T.IP_ADDRESS: (False, False, False),
    T.RDS_GLOBAL_WRITER_CLUSTER: (True, True, False),
    T.RDS_WRITER_CLUSTER: (True, True, True),
    T.RDS_READER_CLUSTER: (True, True, True),
    T.RDS_AURORA_LIMITLESS_DB_SHARD_GROUP: (True, False, True),
    T.RDS_CUSTOM_CLUSTER: (True, True, True),
    T.RDS_PROXY: (True, False, True),
    T.RDS_INSTANCE: (True, False, True),
    T.OTHER: (False, False, False),
}


@pytest.mark.parametrize("kind", list(T))
def test_flags(kind: T) -> None:
    assert (kind.is_rds, kind.is_cluster, kind.has_region) == FLAGS[kind]


def test_region_never_global() -> None:
    host = "gdb.global-abcdef123456.global.rds.amazonaws.com"
    assert rds.region_of(host) is None
    assert rds.classify(host).has_region is False


def test_writer_cluster_of_reader() -> None:
    assert (
        rds.writer_cluster_of_reader("app.cluster-ro-xyz.us-east-1.rds.amazonaws.com")
        == "app.cluster-xyz.us-east-1.rds.amazonaws.com"
    )
    assert (
        rds.writer_cluster_of_reader("app.cluster-ro-xyz.rds.cn-north-1.amazonaws.com.cn")
        == "app.cluster-xyz.rds.cn-north-1.amazonaws.com.cn"
    )
    assert rds.writer_cluster_of_reader("app.cluster-xyz.us-east-1.rds.amazonaws.com") is None
    assert rds.writer_cluster_of_reader("localhost") is None


def test_instance_name_of() -> None:
    assert rds.instance_name_of("db-1.xyz.us-east-1.rds.amazonaws.com") == "db-1"
    assert rds.instance_name_of("db.cluster-xyz.us-east-1.rds.amazonaws.com") is None


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (
            "db.cluster-xyz.us-east-1.rds.amazonaws.com",
            5432,
            "db.cluster-xyz.us-east-1.rds.amazonaws.com",
        ),
        # reader endpoints share the writer endpoint's id
        (
            "db.cluster-ro-xyz.us-east-1.rds.amazonaws.com",
            5432,
            "db.cluster-xyz.us-east-1.rds.amazonaws.com",
        ),
        (
            "DB.Cluster-RO-xyz.us-east-1.rds.amazonaws.com.",
            3306,
            "db.cluster-xyz.us-east-1.rds.amazonaws.com",
        ),
        (
            "e.cluster-custom-xyz.us-east-1.rds.amazonaws.com",
            5432,
            "e.cluster-custom-xyz.us-east-1.rds.amazonaws.com",
        ),
        ("g.global-xyz.global.rds.amazonaws.com", 5432, "g.global-xyz.global.rds.amazonaws.com"),
        ("db-1.xyz.us-east-1.rds.amazonaws.com", 5432, "db-1.xyz.us-east-1.rds.amazonaws.com:5432"),
        ("127.0.0.1", 5433, "127.0.0.1:5433"),
        ("::1", 5433, "[::1]:5433"),
        ("LocalHost", None, "localhost"),
    ],
)
def test_cluster_id_for(host: str, port: int | None, expected: str) -> None:
    assert rds.cluster_id_for(host, port) == expected


def test_cluster_ids_differ_per_cluster_and_port() -> None:
    a = rds.cluster_id_for("a.cluster-xyz.us-east-1.rds.amazonaws.com", 5432)
    b = rds.cluster_id_for("b.cluster-xyz.us-east-1.rds.amazonaws.com", 5432)
    assert a != b
    assert rds.cluster_id_for("localhost", 5432) != rds.cluster_id_for("localhost", 5433)


@pytest.mark.parametrize(
    ("host", "old", "green", "base"),
    [
        (
            "db-old1.cluster-xyz.us-east-1.rds.amazonaws.com",
            True,
            False,
            "db.cluster-xyz.us-east-1.rds.amazonaws.com",
        ),
        (
            "db-green-abc123.cluster-ro-xyz.us-east-1.rds.amazonaws.com",
            False,
            True,
            "db.cluster-ro-xyz.us-east-1.rds.amazonaws.com",
        ),
        (
            "inst-1-green-0a9z8y.xyz.us-east-1.rds.amazonaws.com",
            False,
            True,
            "inst-1.xyz.us-east-1.rds.amazonaws.com",
        ),
        # six characters from [0-9a-z] exactly: "-green-abc12" has five
        (
            "db-green-abc12.cluster-xyz.us-east-1.rds.amazonaws.com",
            False,
            False,
            "db-green-abc12.cluster-xyz.us-east-1.rds.amazonaws.com",
        ),
        (
            "db.cluster-xyz.us-east-1.rds.amazonaws.com",
            False,
            False,
            "db.cluster-xyz.us-east-1.rds.amazonaws.com",
        ),
        ("db-old1", False, False, "db-old1"),  # needs the dot after the infix
    ],
)
def test_blue_green_names(host: str, old: bool, green: bool, base: str) -> None:
    assert rds.is_old_blue_host(host) is old
    assert rds.is_green_host(host) is green
    assert rds.blue_green_base_name(host) == base


@pytest.mark.parametrize(
    ("pattern", "host", "port"),
    [
        ("?.xyz.us-east-1.rds.amazonaws.com", "?.xyz.us-east-1.rds.amazonaws.com", None),
        ("?.xyz.us-east-1.rds.amazonaws.com:5433", "?.xyz.us-east-1.rds.amazonaws.com", 5433),
        ("?.db.internal", "?.db.internal", None),
        ("node-?.local:15432", "node-?.local", 15432),
    ],
)
def test_host_pattern_valid(pattern: str, host: str, port: int | None) -> None:
    rds.validate_host_pattern(pattern)
    parsed = rds.parse_host_pattern(pattern)
    assert (parsed.host, parsed.port) == (host, port)
    assert parsed.host_for("db-1") == host.replace("?", "db-1")


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("db.xyz.us-east-1.rds.amazonaws.com", "exactly one '?'"),
        ("?.?.example.com", "exactly one '?'"),
        ("", "empty"),
        ("?.proxy-xyz.us-east-1.rds.amazonaws.com", "RDS Proxy"),
        ("?.cluster-custom-xyz.us-east-1.rds.amazonaws.com", "custom"),
        ("?.xyz.example.com:0", "port"),
        ("?.xyz.example.com:99999", "port"),
        ("?.xyz.example.com:abc", "port"),
        ("?.xyz.example.com:1:2", "host-pattern[:port]"),
    ],
)
def test_host_pattern_invalid(pattern: str, message: str) -> None:
    with pytest.raises(ProgrammingError, match=message.replace("[", r"\[").replace("?", r"\?")):
        rds.validate_host_pattern(pattern)


def test_caches_are_bounded() -> None:
    info = rds._parse.cache_info()
    assert info.maxsize is not None and info.maxsize > 0
    assert rds.parse_host_pattern.cache_info().maxsize is not None
