"""SQL of the Aurora MySQL emulation on MariaDB (loaded once on the primary; replicated)."""

from __future__ import annotations

__all__ = ["APP_PASSWORD", "APP_USER", "EMULATION_DDL", "REPL_PASSWORD", "REPL_USER", "setup_sql"]

APP_USER = "app"
APP_PASSWORD = "app"
REPL_USER = "repl"
REPL_PASSWORD = "repl"

# writer rule: live mode and a writable node -> this node only; otherwise the is_writer rows
_WRITER = (
    "(CASE WHEN c.live AND aurora_emu.is_read_only() = 0 "
    "THEN t.server_id = aurora_emu.self_id() ELSE t.is_writer END)"
)

EMULATION_DDL: tuple[str, ...] = (
    "CREATE DATABASE aurora_emu",
    """CREATE TABLE aurora_emu.topology (
        server_id VARCHAR(64) NOT NULL PRIMARY KEY,
        host VARCHAR(64) NOT NULL,
        port INT NOT NULL,
        is_writer BOOLEAN NOT NULL DEFAULT FALSE,
        cpu DOUBLE NOT NULL DEFAULT 0,
        replica_lag_in_milliseconds DOUBLE NULL,
        last_update_timestamp DATETIME(6) NULL,
        hidden BOOLEAN NOT NULL DEFAULT FALSE
    ) ENGINE=InnoDB""",
    """CREATE TABLE aurora_emu.config (
        id INT NOT NULL PRIMARY KEY,
        live BOOLEAN NOT NULL DEFAULT TRUE
    ) ENGINE=InnoDB""",
    "INSERT INTO aurora_emu.config (id, live) VALUES (1, TRUE)",
    """CREATE FUNCTION aurora_emu.self_id() RETURNS VARCHAR(64)
        NOT DETERMINISTIC NO SQL RETURN @@report_host""",
    """CREATE FUNCTION aurora_emu.is_read_only() RETURNS INT
        NOT DETERMINISTIC NO SQL RETURN @@read_only""",
    f"""CREATE SQL SECURITY INVOKER VIEW aurora_emu.replica_host_status AS
        SELECT t.server_id AS SERVER_ID,
               CASE WHEN {_WRITER} THEN 'MASTER_SESSION_ID'
                    ELSE CONCAT('00000000-0000-0000-0000-', LEFT(MD5(t.server_id), 12))
               END AS SESSION_ID,
               t.cpu AS CPU,
               CASE WHEN {_WRITER} THEN 0
                    ELSE COALESCE(t.replica_lag_in_milliseconds, 0)
               END AS REPLICA_LAG_IN_MILLISECONDS,
               COALESCE(t.last_update_timestamp, NOW(6)) AS LAST_UPDATE_TIMESTAMP
        FROM aurora_emu.topology t JOIN aurora_emu.config c ON c.id = 1
        WHERE NOT t.hidden""",
    "CREATE DATABASE appdb",
    """CREATE TABLE appdb.marker (
        id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        v VARCHAR(64) NOT NULL,
        ts DATETIME(6) NOT NULL DEFAULT NOW(6)
    ) ENGINE=InnoDB""",
)


def setup_sql() -> list[str]:
    """Users, grants and emulation objects, in order, for the primary (as root)."""
    return [
        f"CREATE USER '{REPL_USER}'@'%' IDENTIFIED BY '{REPL_PASSWORD}'",
        f"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '{REPL_USER}'@'%'",
        *EMULATION_DDL,
        f"CREATE USER '{APP_USER}'@'%' IDENTIFIED BY '{APP_PASSWORD}'",
        f"GRANT ALL PRIVILEGES ON appdb.* TO '{APP_USER}'@'%'",
        f"GRANT SELECT, EXECUTE ON aurora_emu.* TO '{APP_USER}'@'%'",
    ]
