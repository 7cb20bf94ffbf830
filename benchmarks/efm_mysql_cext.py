"""mysql-connector's C extension (``use_pure=False``): can a blocked call be aborted?

The C extension (``CMySQLConnection``) keeps its socket inside libmysqlclient and exposes
neither the socket nor its descriptor, so awsdb's driver dialect cannot shut it down the way
it does for the pure-Python connection. This script answers, against a real MariaDB server
behind a userspace fault proxy that black-holes the connection while ``SELECT SLEEP(20)``
runs:

1. ``efm``: what awsdb's EFM does with a C-extension connection (the monitor's verdict
   cannot abort it: ``UnsupportedOperationError`` is logged and the call stays blocked);
2. ``fd-shutdown``: whether ``shutdown(SHUT_RDWR)`` of the connection's descriptor, found
   from outside (the process's descriptors before and after connecting; the socket's
   inode identifies it), makes the blocked call return, and with which error;
3. ``kill-query``: ``KILL QUERY <id>`` from a side connection, for comparison (it needs the
   server to be reachable, which a partition does not allow: here the side connection goes
   directly to the server, not through the black-holed proxy).

The C extension loads only when its bundled OpenSSL is loaded before the system's, so this
module imports ``_mysql_connector`` before anything that imports ``ssl``; run it as a script:
``uv run python benchmarks/efm_mysql_cext.py`` (results in
``benchmarks/results/efm-mysql-cext.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _mysql_connector  # noqa: F401  (first: the extension's own OpenSSL must load first)

RESULTS = Path(__file__).resolve().parent / "results" / "efm-mysql-cext.json"
SLEEP_S = 20
FAULT_AFTER_S = 1.5


def _socket_inodes() -> dict[int, int]:
    """This process's socket descriptors: fd → inode."""
    out = {}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        with contextlib.suppress(OSError):
            st = os.fstat(fd)
            if stat.S_ISSOCK(st.st_mode):
                out[fd] = st.st_ino
    return out


def _peer(fd: int) -> Any:
    sock = socket.socket(fileno=fd)
    try:
        return sock.getpeername()
    except OSError:
        return None
    finally:
        sock.detach()


def _shutdown_fd(fd: int, inode: int) -> bool:
    """Shut the socket ``fd`` down if it is still the socket with ``inode``."""
    if os.fstat(fd).st_ino != inode:
        return False
    sock = socket.socket(fileno=fd)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    finally:
        sock.detach()
    return True


def _timed(call: Callable[[], Any]) -> dict[str, Any]:
    t0 = time.monotonic()
    try:
        call()
        return {"returned_after_s": round(time.monotonic() - t0, 2), "error": None}
    except Exception as exc:
        return {
            "returned_after_s": round(time.monotonic() - t0, 2),
            "error": f"{type(exc).__name__}: {exc}"[:200],
            "errno": getattr(exc, "errno", None),
        }


def main() -> None:
    """Run the three cases and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    import mysql.connector
    from mysql.connector.connection_cext import CMySQLConnection

    import awsdb
    from awsdb_testing.mysql.cluster import MariaDBCluster
    from awsdb_testing.proxy import FaultProxy

    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    results: dict[str, Any] = {"mysql_connector": mysql.connector.__version__}
    with MariaDBCluster(1) as mdb:
        server = mdb.server_address(1)
        app = {"user": "app", "password": "app", "database": "appdb"}

        def proxied(**extra: Any) -> tuple[FaultProxy, Any, dict[int, int]]:
            proxy = FaultProxy(server, name="cext").start()
            before = _socket_inodes()
            conn = mysql.connector.connect(
                host=proxy.host, port=proxy.port, use_pure=False, **app, **extra
            )
            # the proxy's own sockets live in this process too: keep the one to the proxy
            new = {
                fd: ino
                for fd, ino in _socket_inodes().items()
                if before.get(fd) != ino and _peer(fd) == (proxy.host, proxy.port)
            }
            return proxy, conn, new

        # 1. awsdb efm with the C extension
        proxy = FaultProxy(server, name="cext").start()
        try:
            conn = awsdb.connect(
                mysql.connector.connect,
                host=proxy.host,
                port=proxy.port,
                use_pure=False,
                plugins="efm",
                failure_detection_time_ms=1000,
                failure_detection_interval_ms=500,
                failure_detection_count=1,
                **app,
            )
            raw = conn.target_connection
            warnings: list[str] = []

            class _Keep(logging.Handler):
                def emit(self, record: logging.LogRecord) -> None:
                    warnings.append(record.getMessage())

            handler = _Keep(logging.WARNING)
            logging.getLogger("awsdb.efm").addHandler(handler)
            threading.Timer(FAULT_AFTER_S, proxy.blackhole).start()
            heal = threading.Timer(FAULT_AFTER_S + 8, proxy.heal)
            heal.start()
            cur = conn.cursor()
            outcome = _timed(lambda: (cur.execute(f"SELECT SLEEP({SLEEP_S})"), cur.fetchall()))
            heal.join()
            logging.getLogger("awsdb.efm").removeHandler(handler)
            results["efm"] = {
                "connection_class": type(raw).__name__,
                "is_c_extension": isinstance(raw, CMySQLConnection),
                **outcome,
                "note": "the proxy healed 8 s after the black-hole started",
                "efm_warnings": warnings,
            }
            with contextlib.suppress(Exception):
                conn.close()
        finally:
            awsdb.release_resources()
            proxy.stop()

        # 2. shutdown of the descriptor found around connect
        proxy, raw, new = proxied()
        try:
            results["fd_shutdown_candidates"] = len(new)
            ((fd, inode),) = new.items()
            cur = raw.cursor()
            threading.Timer(FAULT_AFTER_S, proxy.blackhole).start()
            threading.Timer(FAULT_AFTER_S + 1.0, _shutdown_fd, (fd, inode)).start()
            outcome = _timed(lambda: (cur.execute(f"SELECT SLEEP({SLEEP_S})"), cur.fetchall()))
            results["fd_shutdown"] = {**outcome, "shutdown_at_s": FAULT_AFTER_S + 1.0}
            results["fd_shutdown"]["is_connected_after"] = bool(raw.is_connected())
            with contextlib.suppress(Exception):
                raw.close()
            results["fd_shutdown"]["closed_by_owner"] = True
        finally:
            proxy.stop()

        # 3. KILL QUERY from a side connection straight to the server
        proxy, raw, _ = proxied()
        try:
            conn_id = raw.connection_id
            cur = raw.cursor()
            side = mysql.connector.connect(host=server[0], port=server[1], use_pure=True, **app)

            def kill() -> None:
                side.cursor().execute(f"KILL QUERY {conn_id}")

            killer = threading.Timer(FAULT_AFTER_S, kill)
            killer.start()
            results["kill_query_reachable"] = _timed(
                lambda: (cur.execute(f"SELECT SLEEP({SLEEP_S})"), cur.fetchall())
            )
            killer.join()  # the interrupted call may return before KILL's own reply
            side.close()
            with contextlib.suppress(Exception):
                raw.close()
        finally:
            proxy.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
