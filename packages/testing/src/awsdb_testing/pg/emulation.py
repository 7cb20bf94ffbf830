"""SQL of the Aurora PostgreSQL / RDS PostgreSQL emulation.

Loaded once, as superuser, into ``template1`` of the first node before the ``app`` database
is created from it; physical replication copies it to every node. The objects that the
dialects' schema-qualified SQL reads live in ``pg_catalog`` (functions, and a shadow
``pg_settings`` view that also lists placeholder settings such as ``rds.extensions``).

Per-node values come from placeholder settings in each node's ``node.conf``:
``cluster.instance_id`` (the instance id), ``rds.extensions``, ``emu.flavor``
(``aurora-pg`` | ``rds-pg`` | ``multi-az-pg``) and ``bg_emu.status`` (blue/green status,
empty = no deployment). The controller changes them with ``ALTER SYSTEM`` + reload, which
works on standbys too, so nodes can disagree as they do in real deployments.
"""

from __future__ import annotations

__all__ = ["EMULATION_SQL", "EMULATION_VERSION", "PLACEHOLDER_SETTINGS", "SHADOW_SETTINGS_SQL"]

#: Bump whenever the SQL below changes: it is part of the snapshot cache key.
EMULATION_VERSION = "4"

#: Placeholder settings shown by the shadow ``pg_catalog.pg_settings`` view.
PLACEHOLDER_SETTINGS = (
    "rds.extensions",
    "cluster.instance_id",
    "emu.flavor",
    "emu.domain",
    "bg_emu.status",
)

EMULATION_SQL = r"""
CREATE SCHEMA aurora_emu;
CREATE TABLE aurora_emu.topology (
    server_id text PRIMARY KEY,
    host text,
    port int,
    is_writer bool NOT NULL DEFAULT false,
    cpu float8 NOT NULL DEFAULT 0,
    replica_lag_in_msec float8,
    last_update_timestamp timestamptz,
    hidden bool NOT NULL DEFAULT false
);
CREATE TABLE aurora_emu.config (
    id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    live bool NOT NULL DEFAULT true
);
INSERT INTO aurora_emu.config DEFAULT VALUES;

-- the ids of the writer(s) as this node sees them (live or static mode)
CREATE FUNCTION aurora_emu.writer_ids() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, aurora_emu AS $$
    WITH cfg AS (SELECT live FROM aurora_emu.config WHERE id = 1),
    me AS (SELECT current_setting('cluster.instance_id', true) AS id,
                  pg_is_in_recovery() AS rec),
    upstream AS (
        SELECT t.server_id FROM pg_stat_wal_receiver w
        JOIN aurora_emu.topology t ON t.host = w.sender_host AND t.port = w.sender_port
        WHERE w.status = 'streaming')
    SELECT t.server_id FROM aurora_emu.topology t, cfg, me
    WHERE CASE
        WHEN NOT cfg.live THEN t.is_writer
        WHEN NOT me.rec THEN t.server_id = me.id
        WHEN EXISTS (SELECT 1 FROM upstream) THEN t.server_id IN (SELECT server_id FROM upstream)
        ELSE t.is_writer
    END
$$;

CREATE FUNCTION pg_catalog.aurora_db_instance_identifier() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT pg_catalog.current_setting('cluster.instance_id', true) $$;

CREATE FUNCTION pg_catalog.aurora_replica_status()
RETURNS TABLE (server_id text, session_id text, cpu float8, replica_lag_in_msec float8,
               last_update_timestamp timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, aurora_emu AS $$
    WITH w AS (SELECT aurora_emu.writer_ids() AS server_id)
    SELECT t.server_id,
           CASE WHEN t.server_id IN (SELECT server_id FROM w) THEN 'MASTER_SESSION_ID'
                ELSE '00000000-0000-0000-0000-' || substr(md5(t.server_id), 1, 12) END,
           t.cpu,
           CASE WHEN t.server_id IN (SELECT server_id FROM w) THEN 0::float8
                ELSE coalesce(
                    t.replica_lag_in_msec,
                    (SELECT extract(epoch FROM r.replay_lag)::float8 * 1000
                     FROM pg_stat_replication r
                     WHERE r.application_name = t.server_id LIMIT 1),
                    0) END,
           coalesce(t.last_update_timestamp, now())
    FROM aurora_emu.topology t
    WHERE NOT t.hidden
    ORDER BY t.server_id
$$;

-- RDS PostgreSQL (rds_tools) and Multi-AZ DB cluster metadata
CREATE SCHEMA rds_tools;
CREATE FUNCTION rds_tools.dbi_resource_id() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'db-' || upper(substr(md5(pg_catalog.current_setting('cluster.instance_id', true)),
                                 1, 26))
$$;
CREATE FUNCTION rds_tools.multi_az_db_cluster_source_dbi_resource_id()
RETURNS TABLE (multi_az_db_cluster_source_dbi_resource_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, aurora_emu AS $$
    SELECT 'db-' || upper(substr(md5(w), 1, 26))
    FROM aurora_emu.writer_ids() w
    WHERE current_setting('emu.flavor', true) = 'multi-az-pg'
    LIMIT 1
$$;

-- blue/green metadata: rows replicated, status per node (bg_emu.status)
CREATE SCHEMA bg_emu;
CREATE TABLE bg_emu.metadata (
    id bigint PRIMARY KEY,
    endpoint text NOT NULL,
    port int NOT NULL,
    role text NOT NULL,
    version text NOT NULL DEFAULT '1.0'
);
CREATE FUNCTION rds_tools.show_topology(client text DEFAULT NULL)
RETURNS TABLE (id text, endpoint text, port int, role text, status text, version text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, bg_emu AS $$
    SELECT m.id::text, m.endpoint, m.port, m.role, current_setting('bg_emu.status', true),
           m.version
    FROM bg_emu.metadata m
    WHERE coalesce(current_setting('bg_emu.status', true), '') <> ''
    UNION ALL
    SELECT 'db-' || upper(substr(md5(t.server_id), 1, 26)),
           t.server_id || '.' || coalesce(current_setting('emu.domain', true), ''),
           t.port, NULL, NULL, NULL
    FROM aurora_emu.topology t
    WHERE current_setting('emu.flavor', true) = 'multi-az-pg' AND NOT t.hidden
    ORDER BY 1
$$;
CREATE FUNCTION pg_catalog.get_blue_green_fast_switchover_metadata(client text)
RETURNS TABLE (version text, endpoint text, port int, role text, status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, bg_emu AS $$
    SELECT m.version, m.endpoint, m.port, m.role, current_setting('bg_emu.status', true)
    FROM bg_emu.metadata m
    WHERE coalesce(current_setting('bg_emu.status', true), '') <> ''
    ORDER BY m.id
$$;

-- convergence marker
CREATE TABLE public.t (id serial PRIMARY KEY, v text, ts timestamptz DEFAULT now());

GRANT USAGE ON SCHEMA aurora_emu, rds_tools, bg_emu TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA aurora_emu, bg_emu TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA aurora_emu, rds_tools TO PUBLIC;
GRANT EXECUTE ON FUNCTION pg_catalog.aurora_replica_status(),
    pg_catalog.aurora_db_instance_identifier(),
    pg_catalog.get_blue_green_fast_switchover_metadata(text) TO PUBLIC;
"""


def _shadow_settings_sql() -> str:
    names = ", ".join(f"'{n}'" for n in PLACEHOLDER_SETTINGS)
    return f"""
SET allow_system_table_mods = on;
CREATE OR REPLACE VIEW pg_catalog.pg_settings AS
    SELECT a.name, a.setting, a.unit, a.category, a.short_desc, a.extra_desc, a.context,
           a.vartype, a.source, a.min_val, a.max_val, a.enumvals, a.boot_val, a.reset_val,
           a.sourcefile, a.sourceline, a.pending_restart
    FROM pg_catalog.pg_show_all_settings() a
    UNION ALL
    SELECT n.name, pg_catalog.current_setting(n.name, true), NULL::text,
           'Customized Options'::text, NULL::text, NULL::text, 'sighup'::text, 'string'::text,
           'configuration file'::text, NULL::text, NULL::text, NULL::text[], NULL::text,
           pg_catalog.current_setting(n.name, true), NULL::text, NULL::int, false
    FROM pg_catalog.unnest(ARRAY[{names}]::text[]) AS n(name)
    WHERE pg_catalog.current_setting(n.name, true) IS NOT NULL;
RESET allow_system_table_mods;
"""


SHADOW_SETTINGS_SQL = _shadow_settings_sql()
