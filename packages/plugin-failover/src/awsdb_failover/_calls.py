"""The DB-API calls that talk to the server when they are made.

The failover plugin turns a host failure in one of them into a failover; the connection
tracker aborts a connection to a demoted writer at the next one.
"""

from __future__ import annotations

__all__ = ["SERVER_CALLS"]

# Calls that talk to the server when they are made. Buffered fetches do not (psycopg
# client-side cursors); a network error surfacing in a fetch passes through unchanged.
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
