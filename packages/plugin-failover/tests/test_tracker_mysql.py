"""aurora_connection_tracker and the default chain on the emulated Aurora MySQL cluster
(MariaDB GTID replication behind rewriting proxies, mysql-connector pure Python).

Server-side checks use the connections' own server thread ids (``CONNECTION_ID()``) in
``information_schema.processlist`` of the node they were opened on.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import mysql.connector
import pytest

import awsdb
from awsdb_failover import tracked_connections
from awsdb_testing.model import TopologyRow

pytestmark = pytest.mark.mysql

FAST = {"topology_refresh_ms": 300, "failover_timeout_sec": 30}
_WAIT_S = 30.0


@pytest.fixture
def cluster(fresh_mdb_cluster: Any) -> Iterator[Any]:
    """A fresh emulated Aurora MySQL cluster with its host names installed.

    The monitors stop before the names go and the servers are restored: a probe left
    running would otherwise ask the system resolver for names it cannot answer."""
    with fresh_mdb_cluster.install_names():
        yield fresh_mdb_cluster
        awsdb.release_resources()


def _connect(cluster: Any, **kw: Any) -> Any:
    password = cluster.app_conninfo_kwargs(1)["password"]
    return awsdb.connect(
        mysql.connector.connect,
        f"mysql://app:{password}@{cluster.writer_endpoint}:{cluster.port}/appdb",
        autocommit=True,
        **{**FAST, **kw},
    )


def _url(cluster: Any, instance_id: str) -> str:
    return f"{cluster.instance_name(instance_id)}:{cluster.port}"


def _query(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    try:
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


def _thread_id(conn: Any) -> int:
    ((ident,),) = _query(conn, "SELECT CONNECTION_ID()")
    return int(ident)


def _server_id(conn: Any) -> str:
    ((ident,),) = _query(conn, "SELECT @@aurora_server_id")
    return str(ident)


def _processlist(cluster: Any, instance_id: str) -> dict[int, str | None]:
    """The ``app`` user's server threads on ``instance_id``: id -> statement running."""
    admin = cluster.superuser_connect(instance_id)
    try:
        rows = _query(
            admin, "SELECT ID, INFO FROM information_schema.processlist WHERE USER = 'app'"
        )
    finally:
        admin.close()
    return {int(r[0]): (str(r[1]) if r[1] is not None else None) for r in rows}


def _alive(cluster: Any, instance_id: str, ids: set[int]) -> set[int]:
    """Which of the server thread ``ids`` are still connections on ``instance_id``."""
    return set(_processlist(cluster, instance_id)) & ids


def _wait_until(check: Callable[[], bool], what: str) -> float:
    """Seconds until ``check()`` held (polled); fails after a generous bound."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > _WAIT_S:
            pytest.fail(f"not within {_WAIT_S:g} s: {what}")
        time.sleep(0.01)
    return time.monotonic() - started


def _services(conn: Any) -> Any:
    return conn.plugin_service.services


def test_idle_connections_to_a_demoted_writer_are_aborted_busy_ones_at_their_next_call(
    cluster: Any,
) -> None:
    """The topology names a new writer while every server still runs: the tracker alone
    (no failover in the chain) shuts the idle connections to the old writer down at once,
    and a connection busy in a call when the change arrives at its next call."""
    conns = [_connect(cluster, plugins="aurora_connection_tracker") for _ in range(5)]
    try:
        services = _services(conns[0])
        assert tracked_connections(services) == {_url(cluster, "instance-1"): 5}
        ids = [_thread_id(c) for c in conns]
        assert _alive(cluster, "instance-1", set(ids)) == set(ids)
        idle, (busy, busy_id) = set(ids[1:]), (conns[0], ids[0])
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(_query, busy, "SELECT SLEEP(60)")
            _wait_until(
                lambda: (_processlist(cluster, "instance-1").get(busy_id) or "").startswith(
                    "SELECT SLEEP"
                ),
                "the busy connection's call runs on the server",
            )
            cluster.set_topology_static(
                [
                    TopologyRow("instance-1", False),
                    TopologyRow("instance-2", True),
                    TopologyRow("instance-3", False),
                ]
            )
            _wait_until(
                lambda: not _alive(cluster, "instance-1", idle),
                "the idle connections to the old writer are gone on the server",
            )
            assert tracked_connections(services) == {}
            # the busy connection's call is left alone: end it from the server side
            assert _alive(cluster, "instance-1", {busy_id}) == {busy_id}
            admin = cluster.superuser_connect("instance-1")
            try:
                _query(admin, f"KILL QUERY {busy_id}")
            finally:
                admin.close()
            with pytest.raises(mysql.connector.DatabaseError) as info:
                running.result(timeout=_WAIT_S)
            assert info.value.errno == 1317  # query execution was interrupted: a server error
        assert _alive(cluster, "instance-1", {busy_id}) == {busy_id}
        with pytest.raises(mysql.connector.Error):
            _query(busy, "SELECT 1")  # aborted by its own thread at this call
        _wait_until(
            lambda: not _alive(cluster, "instance-1", {busy_id}),
            "the busy connection is gone on the server after its next call",
        )
        for conn in conns[1:]:
            with pytest.raises(mysql.connector.Error):
                _query(conn, "SELECT 1")
    finally:
        for conn in conns:
            conn.close()


def test_default_chain_sigkill_failover_retires_the_old_writer_connections(
    cluster: Any,
) -> None:
    awsdb.release_resources()
    gc.collect()
    threads = set(threading.enumerate())
    conns = [_connect(cluster) for _ in range(5)]  # no plugins=: the default chain
    try:
        chain = [type(p).__name__ for p in conns[0].plugin_service.plugins]
        assert chain[:3] == [
            "InitialConnectionPlugin",
            "AuroraConnectionTrackerPlugin",
            "FailoverPlugin",
        ]
        services = _services(conns[0])
        assert tracked_connections(services) == {_url(cluster, "instance-1"): 5}
        assert {_server_id(c) for c in conns} == {"instance-1"}
        cluster.failover(target=2)
        _wait_until(
            lambda: _url(cluster, "instance-1") not in tracked_connections(services),
            "the tracker retired the old writer's connections",
        )
        new_ids: set[int] = set()
        for conn in conns:
            with pytest.raises(awsdb.FailoverSuccessError):
                _server_id(conn)
            assert _server_id(conn) == "instance-2"
            new_ids.add(_thread_id(conn))
        assert tracked_connections(services) == {_url(cluster, "instance-2"): 5}
        assert _alive(cluster, "instance-2", new_ids) == new_ids
    finally:
        for conn in conns:
            conn.close()
    _wait_until(
        lambda: not _alive(cluster, "instance-2", new_ids),
        "the closed connections are gone on the server",
    )
    assert tracked_connections(services) == {}
    awsdb.release_resources()
    gc.collect()
    # no thread of this test is left (one that ended meanwhile is no concern here)
    assert set(threading.enumerate()) - threads == set()
