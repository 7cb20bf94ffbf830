"""Shared helpers of the EFM tests: connecting through a proxy and running a call that a
fault interrupts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import awsdb
from awsdb_testing.proxy import FaultProxy

PG_APP = {"user": "app", "dbname": "app"}
MDB_APP = {"user": "app", "password": "app", "database": "appdb", "use_pure": True}


def settings(grace: int, interval: int, count: int) -> dict[str, int]:
    """The three EFM detection properties."""
    return {
        "failure_detection_time_ms": grace,
        "failure_detection_interval_ms": interval,
        "failure_detection_count": count,
    }


def connect_pg(proxy: FaultProxy, **props: Any) -> awsdb.AwsWrapperConnection:
    """A psycopg connection with ``efm`` through ``proxy``."""
    import psycopg

    props.setdefault("plugins", "efm")
    props.update(PG_APP)
    return awsdb.connect(psycopg.Connection.connect, host=proxy.host, port=proxy.port, **props)


def connect_mdb(proxy: FaultProxy, **props: Any) -> awsdb.AwsWrapperConnection:
    """A pure-Python mysql-connector connection with ``efm`` through ``proxy``."""
    import mysql.connector

    props.setdefault("plugins", "efm")
    props.update(MDB_APP)
    return awsdb.connect(mysql.connector.connect, host=proxy.host, port=proxy.port, **props)


@dataclass
class Outcome:
    """What a call did: its result, or the exception it raised."""

    result: Any = None
    error: BaseException | None = None


def run_with_fault(
    call: Callable[[], Any], fault: Callable[[], None], *, after_s: float
) -> Outcome:
    """Run ``call`` on this thread and ``fault()`` ``after_s`` seconds after it starts.

    The fault fires from a timer thread, which is joined before returning.
    """
    timer = threading.Timer(after_s, fault)
    outcome = Outcome()
    timer.start()
    try:
        outcome.result = call()
    except Exception as exc:
        outcome.error = exc
    finally:
        timer.cancel()
        timer.join()
    return outcome


def host_monitor(conn: awsdb.AwsWrapperConnection) -> Any:
    """The EFM monitor of ``conn``'s current host (a :class:`awsdb_efm.HostMonitor`)."""
    from awsdb_efm import HostMonitor

    service = conn.plugin_service
    host = service.current_host
    assert host is not None
    monitors = service.services.monitors
    running = monitors.keys()
    keys = [k for k in running if isinstance(k, tuple) and k[1] == host.url]
    assert len(keys) == 1, keys
    monitor = monitors.get(keys[0])
    assert isinstance(monitor, HostMonitor)
    return monitor


def efm_keys(conn: awsdb.AwsWrapperConnection) -> list[tuple[Any, ...]]:
    """The keys of the running EFM monitors."""
    keys = conn.plugin_service.services.monitors.keys()
    return [k for k in keys if isinstance(k, tuple) and k[0] == "efm"]


def thread_names() -> set[str]:
    """The names of the live threads that belong to awsdb (monitors, watchdogs)."""
    return {
        t.name
        for t in threading.enumerate()
        if t.name.startswith("awsdb-") and not t.name.startswith("awsdb-efm-test")
    }


def eventually(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout_s`` passes (the proxy and the servers
    notice closed sockets asynchronously); returns its last value."""
    import time

    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        time.sleep(0.02)
    return True
