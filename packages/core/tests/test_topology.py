"""Topology logic without servers: instance patterns and host-change diffs."""

from __future__ import annotations

import pytest

import awsdb
from awsdb._service import get_services
from awsdb.hosts import HostInfo, HostRole
from awsdb.plugin import HostChange
from awsdb.properties import Properties
from awsdb.topology import host_changes, instance_pattern


def _props(**kw: object) -> Properties:
    return Properties.parse("", kw, get_services().properties)


def test_pattern_is_derived_from_an_rds_name_or_required() -> None:
    name = "db.cluster-abc123.us-east-1.rds.amazonaws.com"
    assert instance_pattern(_props(), name) == "?.abc123.us-east-1.rds.amazonaws.com"
    for host in ("10.0.0.5", "db.example.com"):
        with pytest.raises(awsdb.ProgrammingError, match="cluster_instance_host_pattern"):
            instance_pattern(_props(), host)
    assert instance_pattern(_props(cluster_instance_host_pattern="?.example.com"), "10.0.0.5") == (
        "?.example.com"
    )
    with pytest.raises(awsdb.ProgrammingError):
        instance_pattern(_props(cluster_instance_host_pattern="no-placeholder.example.com"), "x")


def test_host_changes_name_promotions_additions_and_deletions() -> None:
    w, r = HostRole.WRITER, HostRole.READER
    old = [HostInfo("a", 1, r), HostInfo("b", 1, r), HostInfo("c", 1, w)]
    new = [HostInfo("a", 1, w), HostInfo("c", 1, r), HostInfo("d", 1, r)]
    assert host_changes(old, new) == {
        "a:1": frozenset({HostChange.PROMOTED_TO_WRITER}),
        "c:1": frozenset({HostChange.PROMOTED_TO_READER}),
        "d:1": frozenset({HostChange.ADDED}),
        "b:1": frozenset({HostChange.DELETED}),
    }
    assert host_changes(new, new) == {}
