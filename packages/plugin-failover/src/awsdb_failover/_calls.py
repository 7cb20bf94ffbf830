"""The DB-API calls that talk to the server when they are made.

The failover plugin turns a host failure in one of them (or in a fetch from a cursor that
streams its rows) into a failover; the connection tracker aborts a connection to a demoted
writer at the next one. Both declare ``server_calls_only``: the core leaves them out of
the calls the driver makes locally (psycopg's ``cursor()``) and out of fetches from cursors
that hold their rows (psycopg's client-side cursors, mysql-connector's buffered ones), so
those stay direct driver calls.
"""

from __future__ import annotations

__all__ = ["SERVER_CALLS", "SERVER_FETCHES"]

# Calls that talk to the server when they are made, on some driver at least.
SERVER_CALLS = frozenset(
    {
        "Connection.cursor",  # mysql-connector checks the connection there
        "Connection.execute",
        "Connection.commit",
        "Connection.rollback",
        "Connection.autocommit.set",
        "Connection.read_only.set",
        "Connection.tpc_begin",
        "Connection.tpc_prepare",
        "Connection.tpc_commit",
        "Connection.tpc_rollback",
        "Cursor.execute",
        "Cursor.executemany",
        "Cursor.callproc",
    }
)

# Fetches, which read from the server only on cursors that stream their rows (psycopg's
# named cursors, mysql-connector's unbuffered ones): a lost connection there is failed over
# too, instead of leaving a broken driver connection behind.
SERVER_FETCHES = frozenset(
    {"Cursor.fetchone", "Cursor.fetchmany", "Cursor.fetchall", "Cursor.__next__"}
)
