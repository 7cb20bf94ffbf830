"""The catalogue of every connection property awsdb knows, and its Markdown reference.

Names, types and defaults follow the AWS wrapper (AWS Advanced Python Wrapper 3.1.0) so that its
users can switch by changing one import. Where the AWS wrapper's default is a defect, awsdb
deviates on purpose and the description says so ("awsdb deviation"):

- ``cluster_id`` and ``bg_id`` default to ``None`` (derived from the cluster endpoint), not a
  shared constant ``"1"``;
- ``iam_expiration`` is 870 s, a 30 s margin before the 15-minute token expires;
- ``secrets_manager_expiration`` is 3600 s instead of one year;
- ``secrets_manager_region`` has no declared-but-ignored default;
- ``limitless_max_retries_ms`` is a duration, as its name says;
- enum values are validated (hyphen and underscore spellings both accepted) and booleans
  accept only true/false words.

Selector strategies and the driver dialect are free strings here: plugins add strategies
and driver dialects, and their registries validate the names.
"""

from __future__ import annotations

from typing import Any

from .properties import INTERNAL_FORCED_DEFAULTS, INTERNAL_PREFIXES, Property, PropertyRegistry

__all__ = [
    "CATALOGUE",
    "DATABASE_DIALECT_CODES",
    "render_properties_markdown",
]

DATABASE_DIALECT_CODES: tuple[str, ...] = (
    "pg",
    "mysql",
    "aurora-pg",
    "aurora-mysql",
    "rds-pg",
    "rds-mysql",
    "multi-az-pg",
    "multi-az-mysql",
    "global-aurora-pg",
    "global-aurora-mysql",
)
"""``wrapper_dialect`` codes awsdb implements (the AWS wrapper's ``custom`` / ``unknown`` and its
documented-but-rejected codes are not accepted)."""

_ROLE = ("writer", "reader", "any", "none")
_VERIFY = ("writer", "reader", "none")
_HOME_FAILOVER_MODES = (
    "strict-writer",
    "strict-home-reader",
    "strict-out-of-home-reader",
    "strict-any-reader",
    "home-reader-or-writer",
    "out-of-home-reader-or-writer",
    "any-reader-or-writer",
)
_PORT_MAX = 65535

_NO_AVAILABILITY_STRATEGY = (
    "host availability strategies are not implemented (failover and monitoring mark "
    "hosts down directly); only the default value is accepted."
)

# --- §5.1 General --------------------------------------------------------------------------

PLUGINS: Property[str | None] = Property(
    "plugins",
    str,
    None,
    "Comma-separated plugin codes (or a list). Unset: the default chain chosen by the core; "
    '"" means no plugins. Entries are trimmed; an empty entry is an error. '
    "SQLAlchemy spelling: wrapper_plugins.",
    multi=True,
    aliases=("wrapper_plugins",),
)
AUTO_SORT_WRAPPER_PLUGIN_ORDER = Property(
    "auto_sort_wrapper_plugin_order",
    bool,
    True,
    "Sort the plugins by weight; false keeps the order as written. "
    'awsdb deviation: parsed as a boolean (the AWS wrapper reads it raw, so "false" was true).',
)
PROFILE_NAME: Property[str | None] = Property(
    "profile_name",
    str,
    None,
    "Use a named configuration profile registered in code.",
    unsupported=("configuration profiles are not implemented; pass the properties directly."),
)
WRAPPER_DIALECT: Property[str | None] = Property(
    "wrapper_dialect",
    str,
    None,
    "Database dialect code. Unset: detected from the host name, then probe queries.",
    choices=DATABASE_DIALECT_CODES,
)
WRAPPER_DRIVER_DIALECT: Property[str | None] = Property(
    "wrapper_driver_dialect",
    str,
    None,
    "Driver dialect code (psycopg, mysql-connector-python, or one a plugin registers). "
    "Unset: detected from the connect function. Validated by the driver dialect registry.",
)
CONNECT_TIMEOUT: Property[int | None] = Property(
    "connect_timeout",
    int,
    None,
    "Seconds to open a connection; the driver dialect maps it to the driver's own timeout.",
    minimum=0,
)
SOCKET_TIMEOUT: Property[float | None] = Property(
    "socket_timeout",
    float,
    None,
    "Seconds per network-bound call, enforced with driver or server timeouts "
    "(awsdb deviation: no thread hop per call).",
    minimum=0,
)
TCP_KEEPALIVE: Property[bool | None] = Property(
    "tcp_keepalive", bool, None, "TCP keepalive on or off (psycopg: libpq keepalives)."
)
TCP_KEEPALIVE_TIME: Property[int | None] = Property(
    "tcp_keepalive_time",
    int,
    None,
    "Seconds of idleness before the first keepalive probe (psycopg: keepalives_idle).",
    minimum=0,
)
TCP_KEEPALIVE_INTERVAL: Property[int | None] = Property(
    "tcp_keepalive_interval",
    int,
    None,
    "Seconds between keepalive probes (psycopg: keepalives_interval).",
    minimum=0,
)
TCP_KEEPALIVE_PROBES: Property[int | None] = Property(
    "tcp_keepalive_probes",
    int,
    None,
    "Unanswered probes before the connection is dead (psycopg: keepalives_count).",
    minimum=0,
)
AUXILIARY_QUERY_TIMEOUT_SEC = Property(
    "auxiliary_query_timeout_sec",
    float,
    5.0,
    "Timeout in seconds of awsdb's own metadata queries.",
    minimum=0,
)
TRANSFER_SESSION_STATE_ON_SWITCH = Property(
    "transfer_session_state_on_switch",
    bool,
    True,
    "Copy session state to the new connection on failover or a switch.",
)
RESET_SESSION_STATE_ON_CLOSE = Property(
    "reset_session_state_on_close",
    bool,
    True,
    "Restore the original session state before closing a connection.",
)
ROLLBACK_ON_SWITCH = Property(
    "rollback_on_switch",
    bool,
    True,
    "Roll back an open transaction on the old connection when switching.",
)
ENABLE_TELEMETRY = Property(
    "enable_telemetry",
    bool,
    False,
    "Tracing and metrics on or off.",
    unsupported=("telemetry is not implemented; only the default value is accepted."),
)
TELEMETRY_TRACES_BACKEND: Property[str | None] = Property(
    "telemetry_traces_backend",
    str,
    None,
    "Trace backend.",
    choices=("OTLP", "XRAY"),
    unsupported=("telemetry is not implemented; only the default value is accepted."),
)
TELEMETRY_METRICS_BACKEND: Property[str | None] = Property(
    "telemetry_metrics_backend",
    str,
    None,
    "Metrics backend.",
    choices=("OTLP",),
    unsupported=("telemetry is not implemented; only the default value is accepted."),
)
TELEMETRY_SUBMIT_TOPLEVEL = Property(
    "telemetry_submit_toplevel",
    bool,
    False,
    "Force top-level traces.",
    unsupported=("telemetry is not implemented; only the default value is accepted."),
)
TELEMETRY_FAILOVER_ADDITIONAL_TOP_TRACE = Property(
    "telemetry_failover_additional_top_trace",
    bool,
    False,
    "An extra top-level trace for each failover.",
    unsupported=("telemetry is not implemented; only the default value is accepted."),
)

# --- §5.2 Topology and cluster identity ----------------------------------------------------

CLUSTER_ID: Property[str | None] = Property(
    "cluster_id",
    str,
    None,
    "Key of the topology cache and monitor. awsdb deviation: unset means derived "
    'deterministically from the cluster endpoint (the AWS wrapper shares the constant "1").',
)
TOPOLOGY_REFRESH_MS = Property(
    "topology_refresh_ms",
    int,
    30000,
    "Topology refresh period in regular mode, in ms.",
    minimum=1,
    owner="failover",
)
CLUSTER_TOPOLOGY_HIGH_REFRESH_RATE_MS = Property(
    "cluster_topology_high_refresh_rate_ms",
    int,
    100,
    "Refresh period in panic mode, for 30 s after panic, and while a refresh request is "
    "pending, in ms.",
    minimum=1,
    owner="failover",
)
CLUSTER_INSTANCE_HOST_PATTERN: Property[str | None] = Property(
    "cluster_instance_host_pattern",
    str,
    None,
    "Instance host pattern with one '?', optionally ':port'. Unset: derived from the "
    "cluster endpoint; required for IP addresses, CNAMEs and custom domains.",
    owner="failover",
)
GLOBAL_CLUSTER_INSTANCE_HOST_PATTERNS: Property[str | None] = Property(
    "global_cluster_instance_host_patterns",
    str,
    None,
    "region:host-pattern[:port],... one per region; required for Global Database.",
    unsupported=(
        "Aurora Global Database is not supported yet; only the default value is accepted."
    ),
)
MONITORING_CONNECTION_PRIORITY = Property(
    "monitoring_connection_priority",
    str,
    "strict-writer",
    "Comma list of the topology monitor's connection preferences; the monitor accepts any "
    "connection first, then upgrades.",
    choices=("strict-writer", "strict-reader", "writer-or-reader"),
    multi=True,
    owner="failover",
)
GDB_MONITORING_CONNECTION_PRIORITY = Property(
    "gdb_monitoring_connection_priority",
    str,
    "strict-writer-primary",
    "Region-aware monitor preference, e.g. strict-reader-secondary, "
    "strict-reader-us-east-1, us-west-2.",
    unsupported=(
        "Aurora Global Database is not supported yet; only the default value is accepted."
    ),
)
GDB_ACCESSIBLE_REGIONS: Property[str | None] = Property(
    "gdb_accessible_regions",
    str,
    None,
    "Comma list of regions the application can reach; other regions are ignored by "
    "failover, monitoring and read/write splitting.",
    unsupported=(
        "Aurora Global Database is not supported yet; only the default value is accepted."
    ),
)
DEFAULT_HOST_AVAILABILITY_STRATEGY = Property(
    "default_host_availability_strategy",
    str,
    "",
    'Host availability strategy: "" (none) or exponential_backoff.',
    choices=("", "exponential_backoff"),
    unsupported=_NO_AVAILABILITY_STRATEGY,
)
HOST_AVAILABILITY_STRATEGY_MAX_RETRIES = Property(
    "host_availability_strategy_max_retries",
    int,
    5,
    "Retries of the exponential_backoff strategy.",
    minimum=0,
    unsupported=_NO_AVAILABILITY_STRATEGY,
)
HOST_AVAILABILITY_STRATEGY_INITIAL_BACKOFF_TIME = Property(
    "host_availability_strategy_initial_backoff_time",
    int,
    30,
    "Initial backoff of the exponential_backoff strategy, in seconds.",
    minimum=0,
    unsupported=_NO_AVAILABILITY_STRATEGY,
)

# --- §5.3 Failover ---------------------------------------------------------------------------

ENABLE_FAILOVER = Property(
    "enable_failover",
    bool,
    True,
    "Failover on or off. awsdb deviation: honoured by every failover implementation "
    "(the AWS wrapper's failover_v2 ignores it).",
    owner="failover",
)
FAILOVER_MODE: Property[str | None] = Property(
    "failover_mode",
    str,
    None,
    "strict_writer, strict_reader or reader_or_writer. Unset: reader_or_writer for "
    "cluster-ro- endpoints, otherwise strict_writer. awsdb deviation: hyphen spellings are "
    "accepted and anything else is an error (the AWS wrapper silently uses reader_or_writer).",
    owner="failover",
    choices=("strict_writer", "strict_reader", "reader_or_writer"),
)
FAILOVER_TIMEOUT_SEC = Property(
    "failover_timeout_sec",
    float,
    300.0,
    "Total failover budget, in seconds.",
    owner="failover",
    minimum=0,
)
FAILOVER_READER_HOST_SELECTOR_STRATEGY = Property(
    "failover_reader_host_selector_strategy",
    str,
    "random",
    "Host selector strategy for reader failover (validated by the selector registry).",
    owner="failover",
)
ENABLE_CONNECT_FAILOVER = Property(
    "enable_connect_failover",
    bool,
    False,
    "Also fail over when the initial connect fails with a network error.",
    owner="failover",
)
FAILOVER_CLUSTER_TOPOLOGY_REFRESH_RATE_SEC = Property(
    "failover_cluster_topology_refresh_rate_sec",
    float,
    2.0,
    "Failover v1 writer failover topology poll period, in seconds. Accepted for "
    "compatibility; awsdb's failover follows the v2 design and does not use it.",
    owner="failover",
    minimum=0,
)
FAILOVER_WRITER_RECONNECT_INTERVAL_SEC = Property(
    "failover_writer_reconnect_interval_sec",
    float,
    2.0,
    "Failover v1 writer reconnect period, in seconds. Accepted for compatibility; awsdb's "
    "failover follows the v2 design and does not use it.",
    owner="failover",
    minimum=0,
)
FAILOVER_READER_CONNECT_TIMEOUT_SEC = Property(
    "failover_reader_connect_timeout_sec",
    float,
    30.0,
    "Failover v1 timeout per batch of reader attempts, in seconds. Accepted for "
    "compatibility; awsdb's failover follows the v2 design and does not use it.",
    owner="failover",
    minimum=0,
)
FAILOVER_HOME_REGION: Property[str | None] = Property(
    "failover_home_region",
    str,
    None,
    "Global Database home region. Unset: the region of the URL; required for IP, "
    "custom-domain and global URLs.",
    owner="failover",
)
ACTIVE_HOME_FAILOVER_MODE: Property[str | None] = Property(
    "active_home_failover_mode",
    str,
    None,
    "Global Database failover mode while the home region is active. Unset: strict-writer "
    "for writer and global URLs, otherwise home-reader-or-writer.",
    owner="failover",
    choices=_HOME_FAILOVER_MODES,
)
INACTIVE_HOME_FAILOVER_MODE: Property[str | None] = Property(
    "inactive_home_failover_mode",
    str,
    None,
    "Global Database failover mode while the home region is inactive. Unset: strict-writer "
    "for writer and global URLs, otherwise home-reader-or-writer.",
    owner="failover",
    choices=_HOME_FAILOVER_MODES,
)

# --- §5.4 Enhanced failure monitoring ------------------------------------------------------

FAILURE_DETECTION_ENABLED = Property(
    "failure_detection_enabled",
    bool,
    True,
    "Enhanced failure monitoring on or off.",
    owner="efm",
)
FAILURE_DETECTION_TIME_MS = Property(
    "failure_detection_time_ms",
    int,
    30000,
    "Grace period in ms: a call is monitored only once it has run this long.",
    owner="efm",
    minimum=0,
)
FAILURE_DETECTION_INTERVAL_MS = Property(
    "failure_detection_interval_ms", int, 5000, "Probe period in ms.", owner="efm", minimum=1
)
FAILURE_DETECTION_COUNT = Property(
    "failure_detection_count",
    int,
    3,
    "Failed probes before the host is declared dead.",
    owner="efm",
    minimum=1,
)
MONITOR_DISPOSAL_TIME_MS = Property(
    "monitor_disposal_time_ms",
    int,
    600000,
    "Stop an idle monitor after this many ms.",
    owner="efm",
    minimum=0,
)

# --- §5.5 Host selection --------------------------------------------------------------------

READER_HOST_SELECTOR_STRATEGY = Property(
    "reader_host_selector_strategy",
    str,
    "random",
    "Reader choice of read/write splitting: random, round_robin, weighted_random, "
    "highest_weight, or a strategy a plugin adds (validated by the selector registry).",
    owner="srw",
)
ROUND_ROBIN_HOST_WEIGHT_PAIRS = Property(
    "round_robin_host_weight_pairs",
    str,
    "",
    "host:weight,... with integer weights >= 1 for the round_robin selector.",
)
ROUND_ROBIN_DEFAULT_WEIGHT = Property(
    "round_robin_default_weight", int, 1, "round_robin weight of unlisted hosts.", minimum=1
)
WEIGHTED_RANDOM_HOST_WEIGHT_PAIRS = Property(
    "weighted_random_host_weight_pairs",
    str,
    "",
    "host:weight,... with integer weights >= 1 for the weighted_random selector.",
)
WEIGHTED_RANDOM_DEFAULT_WEIGHT = Property(
    "weighted_random_default_weight",
    int,
    1,
    "weighted_random weight of unlisted hosts.",
    minimum=1,
)

# --- §5.6 IAM, Secrets Manager, federated authentication -----------------------------------

IAM_HOST: Property[str | None] = Property(
    "iam_host",
    str,
    None,
    "Host the IAM token is signed for. Unset: the connect host.",
    owner="iam",
)
IAM_DEFAULT_PORT: Property[int | None] = Property(
    "iam_default_port",
    int,
    None,
    "Port the IAM token is signed for. Unset: the host's port, then 5432 / 3306.",
    owner="iam",
    minimum=1,
    maximum=_PORT_MAX,
)
IAM_REGION: Property[str | None] = Property(
    "iam_region", str, None, "Signing region. Unset: from the host name.", owner="iam"
)
IAM_EXPIRATION = Property(
    "iam_expiration",
    int,
    870,
    "IAM token cache lifetime in seconds. awsdb deviation: 870 (a 30 s margin before the "
    "15-minute token expires; the AWS wrapper uses 900, no margin).",
    owner="iam",
    minimum=1,
    maximum=900,
)
AWS_PROFILE: Property[str | None] = Property(
    "aws_profile", str, None, "boto3 profile name for AWS calls.", owner="iam"
)
SECRETS_MANAGER_SECRET_ID: Property[str | None] = Property(
    "secrets_manager_secret_id",
    str,
    None,
    "Secret name or ARN (required by aws_secrets_manager).",
    owner="aws_secrets_manager",
)
SECRETS_MANAGER_REGION: Property[str | None] = Property(
    "secrets_manager_region",
    str,
    None,
    "Region of the secret. Unset: parsed from the ARN, otherwise an error. awsdb deviation: "
    "no us-east-1 default (the AWS wrapper declares one and never applies it).",
    owner="aws_secrets_manager",
)
SECRETS_MANAGER_ENDPOINT: Property[str | None] = Property(
    "secrets_manager_endpoint",
    str,
    None,
    "Secrets Manager endpoint override.",
    owner="aws_secrets_manager",
)
SECRETS_MANAGER_SECRET_USERNAME_KEY = Property(
    "secrets_manager_secret_username_key",
    str,
    "username",
    "JSON key of the secret holding the user.",
    owner="aws_secrets_manager",
)
SECRETS_MANAGER_SECRET_PASSWORD_KEY = Property(
    "secrets_manager_secret_password_key",
    str,
    "password",
    "JSON key of the secret holding the password.",
    owner="aws_secrets_manager",
)
SECRETS_MANAGER_EXPIRATION = Property(
    "secrets_manager_expiration",
    int,
    3600,
    "Secret cache lifetime in seconds. awsdb deviation: 3600 (one hour; the AWS wrapper caches "
    "secrets for a year and reads negative values as a year).",
    owner="aws_secrets_manager",
    minimum=1,
)
IDP_NAME = Property(
    "idp_name",
    str,
    "adfs",
    "Federated identity provider; federated_auth accepts adfs (or empty).",
    owner="federated_auth",
)
IDP_ENDPOINT: Property[str | None] = Property(
    "idp_endpoint", str, None, "Identity provider host (ADFS or Okta).", owner="federated_auth"
)
IDP_PORT = Property(
    "idp_port",
    int,
    443,
    "ADFS port (not used by okta).",
    owner="federated_auth",
    minimum=1,
    maximum=_PORT_MAX,
)
RP_IDENTIFIER = Property(
    "rp_identifier",
    str,
    "urn:amazon:webservices",
    "ADFS relying-party identifier.",
    owner="federated_auth",
)
IDP_USERNAME: Property[str | None] = Property(
    "idp_username", str, None, "Identity provider user (ADFS and Okta).", owner="federated_auth"
)
IDP_PASSWORD: Property[str | None] = Property(
    "idp_password",
    str,
    None,
    "Identity provider password (ADFS and Okta).",
    owner="federated_auth",
    secret=True,
)
IAM_ROLE_ARN: Property[str | None] = Property(
    "iam_role_arn",
    str,
    None,
    "ARN of the role to assume (ADFS and Okta).",
    owner="federated_auth",
)
IAM_IDP_ARN: Property[str | None] = Property(
    "iam_idp_arn",
    str,
    None,
    "ARN of the SAML identity provider (ADFS and Okta).",
    owner="federated_auth",
)
IAM_TOKEN_EXPIRATION = Property(
    "iam_token_expiration",
    int,
    870,
    "Federated / Okta token cache lifetime in seconds.",
    owner="federated_auth",
    minimum=1,
    maximum=900,
)
HTTP_REQUEST_CONNECT_TIMEOUT = Property(
    "http_request_connect_timeout",
    float,
    60.0,
    "Connect timeout of identity provider HTTP calls, in seconds.",
    owner="federated_auth",
    minimum=0,
)
SSL_SECURE = Property(
    "ssl_secure",
    bool,
    True,
    "Verify TLS certificates of identity provider calls (false is insecure).",
    owner="federated_auth",
)
DB_USER: Property[str | None] = Property(
    "db_user",
    str,
    None,
    "Database user the federated token is issued for; it replaces user.",
    owner="federated_auth",
)
APP_ID: Property[str | None] = Property(
    "app_id", str, None, "Okta AWS application id.", owner="okta"
)

# --- §5.7 Blue/green ----------------------------------------------------------------------

BG_ID: Property[str | None] = Property(
    "bg_id",
    str,
    None,
    "Blue/green deployment key. awsdb deviation: unset means derived from the cluster "
    'endpoint (the AWS wrapper shares the constant "1").',
    owner="bg",
)
BG_CONNECT_TIMEOUT_MS = Property(
    "bg_connect_timeout_ms",
    int,
    30000,
    "Maximum time in ms a suspended connect or call waits.",
    owner="bg",
    minimum=0,
)
BG_INTERVAL_BASELINE_MS = Property(
    "bg_interval_baseline_ms",
    int,
    60000,
    "Status poll period in ms in NOT_CREATED / COMPLETED.",
    owner="bg",
    minimum=1,
)
BG_INTERVAL_INCREASED_MS = Property(
    "bg_interval_increased_ms",
    int,
    1000,
    "Status poll period in ms in CREATED.",
    owner="bg",
    minimum=1,
)
BG_INTERVAL_HIGH_MS = Property(
    "bg_interval_high_ms",
    int,
    100,
    "Status poll period in ms in PREPARATION / IN_PROGRESS / POST, or after a lost connection.",
    owner="bg",
    minimum=1,
)
BG_SWITCHOVER_TIMEOUT_MS = Property(
    "bg_switchover_timeout_ms",
    int,
    180000,
    "Forces COMPLETED (CREATED on rollback) this many ms after PREPARATION.",
    owner="bg",
    minimum=0,
)
BG_SUSPEND_NEW_BLUE_CONNECTIONS = Property(
    "bg_suspend_new_blue_connections",
    bool,
    False,
    "Accepted for compatibility: awsdb always suspends new blue connects during IN_PROGRESS "
    "(the AWS wrapper substitutes the blue IP address unless this is set).",
    owner="bg",
)

# --- §5.8 Initial connection ----------------------------------------------------------------

INITIAL_CONNECTION_HOST_SELECTOR_STRATEGY = Property(
    "initial_connection_host_selector_strategy",
    str,
    "random",
    "Reader choice for cluster-ro- URLs (validated by the selector registry). "
    "Deprecated alias: reader_initial_connection_host_selector_strategy.",
    owner="initial_connection",
    aliases=("reader_initial_connection_host_selector_strategy",),
)
ENDPOINT_SUBSTITUTION_ROLE: Property[str | None] = Property(
    "endpoint_substitution_role",
    str,
    None,
    "Which instance replaces a cluster URL. Unset: by URL type.",
    owner="initial_connection",
    choices=_ROLE,
)
VERIFY_OPENED_CONNECTION_TYPE: Property[str | None] = Property(
    "verify_opened_connection_type",
    str,
    None,
    "Role the opened connection must have. Unset: by URL type.",
    owner="initial_connection",
    choices=_VERIFY,
)
INACTIVE_CLUSTER_WRITER_ENDPOINT_SUBSTITUTION_ROLE = Property(
    "inactive_cluster_writer_endpoint_substitution_role",
    str,
    "writer",
    "Substitution for a Global Database writer endpoint in a secondary region.",
    owner="initial_connection",
    choices=_ROLE,
)
VERIFY_INACTIVE_CLUSTER_WRITER_ENDPOINT_CONNECTION_TYPE = Property(
    "verify_inactive_cluster_writer_endpoint_connection_type",
    str,
    "writer",
    "Verification for a Global Database writer endpoint in a secondary region.",
    owner="initial_connection",
    choices=_VERIFY,
)
OPEN_CONNECTION_RETRY_TIMEOUT_MS = Property(
    "open_connection_retry_timeout_ms",
    int,
    30000,
    "Retry budget of the initial connection in ms.",
    owner="initial_connection",
    minimum=0,
)
OPEN_CONNECTION_RETRY_INTERVAL_MS = Property(
    "open_connection_retry_interval_ms",
    int,
    1000,
    "Retry period of the initial connection in ms.",
    owner="initial_connection",
    minimum=0,
)
WAIT_FOR_INITIAL_TOPOLOGY_MS = Property(
    "wait_for_initial_topology_ms",
    int,
    0,
    "Block up to this many ms until the topology is known, so that prefilled pools spread "
    "across instances.",
    owner="initial_connection",
    minimum=0,
)

# --- §5.9 Read/write splitting --------------------------------------------------------------

SRW_READ_ENDPOINT: Property[str | None] = Property(
    "srw_read_endpoint", str, None, "srw: fixed read endpoint (required).", owner="srw"
)
SRW_WRITE_ENDPOINT: Property[str | None] = Property(
    "srw_write_endpoint", str, None, "srw: fixed write endpoint (required).", owner="srw"
)
SRW_VERIFY_NEW_CONNECTIONS = Property(
    "srw_verify_new_connections",
    bool,
    True,
    "Check the role of each new connection.",
    owner="srw",
)
SRW_VERIFY_INITIAL_CONNECTION_TYPE: Property[str | None] = Property(
    "srw_verify_initial_connection_type",
    str,
    None,
    "Role the initial connection must have.",
    owner="srw",
    choices=("reader", "writer"),
)
SRW_CONNECT_RETRY_TIMEOUT_MS = Property(
    "srw_connect_retry_timeout_ms", int, 60000, "Retry budget in ms.", owner="srw", minimum=0
)
SRW_CONNECT_RETRY_INTERVAL_MS = Property(
    "srw_connect_retry_interval_ms", int, 1000, "Retry period in ms.", owner="srw", minimum=0
)
GDB_RW_HOME_REGION: Property[str | None] = Property(
    "gdb_rw_home_region", str, None, "gdb_rw home region.", owner="gdb_rw"
)
GDB_RW_RESTRICT_WRITER_TO_HOME_REGION = Property(
    "gdb_rw_restrict_writer_to_home_region",
    bool,
    True,
    "Use a writer only from the home region.",
    owner="gdb_rw",
)
GDB_RW_RESTRICT_READER_TO_HOME_REGION = Property(
    "gdb_rw_restrict_reader_to_home_region",
    bool,
    True,
    "Use readers only from the home region.",
    owner="gdb_rw",
)
GDB_ENABLE_GLOBAL_WRITE_FORWARDING = Property(
    "gdb_enable_global_write_forwarding",
    bool,
    False,
    "Allow writes on a secondary-region reader.",
    owner="gdb_rw",
)

# --- §5.10 Limitless, custom endpoint, fastest response -------------------------------------

LIMITLESS_TRANSACTION_ROUTER_MONITOR_INTERVAL_MS = Property(
    "limitless_transaction_router_monitor_interval_ms",
    int,
    7500,
    "Router poll period in ms.",
    owner="limitless",
    minimum=1,
)
LIMITLESS_TRANSACTION_ROUTER_MONITOR_DISPOSAL_TIME_MS = Property(
    "limitless_transaction_router_monitor_disposal_time_ms",
    int,
    600000,
    "Idle router monitor expiry in ms.",
    owner="limitless",
    minimum=0,
)
LIMITLESS_WAIT_FOR_TRANSACTION_ROUTER_INFO = Property(
    "limitless_wait_for_transaction_router_info",
    bool,
    True,
    "With an empty cache, fetch the routers synchronously (otherwise use the shard-group URL).",
    owner="limitless",
)
LIMITLESS_GET_TRANSACTION_ROUTER_RETRY_INTERVAL_MS = Property(
    "limitless_get_transaction_router_retry_interval_ms",
    int,
    300,
    "Synchronous router fetch retry period in ms.",
    owner="limitless",
    minimum=0,
)
LIMITLESS_GET_TRANSACTION_ROUTER_MAX_RETRIES = Property(
    "limitless_get_transaction_router_max_retries",
    int,
    5,
    "Synchronous router fetch retries.",
    owner="limitless",
    minimum=0,
)
LIMITLESS_MAX_RETRIES_MS = Property(
    "limitless_max_retries_ms",
    int,
    7500,
    "Time budget in ms for router reconnects. awsdb deviation: used as a duration, as the "
    "name says (the AWS wrapper uses it as a retry count).",
    owner="limitless",
    minimum=0,
)
CUSTOM_ENDPOINT_INFO_REFRESH_RATE_MS = Property(
    "custom_endpoint_info_refresh_rate_ms",
    int,
    30000,
    "DescribeDBClusterEndpoints poll period in ms.",
    owner="custom_endpoint",
    minimum=1,
)
CUSTOM_ENDPOINT_IDLE_MONITOR_EXPIRATION_MS = Property(
    "custom_endpoint_idle_monitor_expiration_ms",
    int,
    900000,
    "Idle custom endpoint monitor expiry in ms.",
    owner="custom_endpoint",
    minimum=0,
)
WAIT_FOR_CUSTOM_ENDPOINT_INFO = Property(
    "wait_for_custom_endpoint_info",
    bool,
    True,
    "Block connect and execute until the endpoint's members are known.",
    owner="custom_endpoint",
)
WAIT_FOR_CUSTOM_ENDPOINT_INFO_TIMEOUT_MS = Property(
    "wait_for_custom_endpoint_info_timeout_ms",
    int,
    5000,
    "Maximum wait for the endpoint's members in ms.",
    owner="custom_endpoint",
    minimum=0,
)
RESPONSE_MEASUREMENT_INTERVAL_MS = Property(
    "response_measurement_interval_ms",
    int,
    30000,
    "Probe period and cache lifetime of response times in ms.",
    owner="fastest_response_strategy",
    minimum=1,
)

CATALOGUE: tuple[Property[Any], ...] = tuple(
    value
    for name, value in list(globals().items())
    if name.isupper() and isinstance(value, Property)
)
"""Every property, in the order above (aurora-facts §5.1-§5.10)."""


# --- Markdown reference --------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default_text(prop: Property[Any]) -> str:
    if prop.secret:
        return "—"
    if prop.default is None:
        return "unset"
    if prop.type is bool:
        return f"`{str(prop.default).lower()}`"
    if prop.default == "":
        return '`""`'
    return f"`{prop.default}`"


def _described(prop: Property[Any]) -> str:
    if prop.unsupported is None:
        return prop.description
    return f"{prop.description} **Not supported**: {prop.unsupported}"


def render_properties_markdown(registry: PropertyRegistry) -> str:
    """The Markdown reference of every property in ``registry``, grouped by owner.

    Columns: name, type, default, allowed values, description; secret properties are
    marked. The output is deterministic (owners ``core`` first then sorted, properties in
    registration order), so a test can compare it with the committed ``docs/properties.md``.
    """
    lines = [
        "# Connection properties",
        "",
        "Generated from the property registry; do not edit by hand.",
        "",
        "Values arrive as strings (libpq `key=value`, URL query) or as typed keyword "
        "arguments. Enum values are trimmed and case-insensitive, with `-` and `_` "
        "interchangeable. Booleans accept true/false, 1/0, yes/no, on/off. Anything else "
        "is an error naming the property, the value and what is allowed. "
        "Secret values (🔒) never appear in logs, `repr` or error messages.",
        "",
    ]
    for owner in registry.owners():
        lines += [
            f"## `{owner}`",
            "",
            "| Name | Type | Default | Allowed | Description |",
            "|---|---|---|---|---|",
        ]
        for prop in registry.by_owner(owner):
            name = f"`{_cell(prop.name)}`" + (" 🔒" if prop.secret else "")
            if prop.aliases:
                name += " (alias " + ", ".join(f"`{a}`" for a in prop.aliases) + ")"
            lines.append(
                f"| {name} | {prop.type.__name__} | {_default_text(prop)} | "
                f"{_cell(prop.allowed())} | {_cell(_described(prop))} |"
            )
        lines.append("")
    lines += [
        "## Prefixed families (internal connections)",
        "",
        "A key `<prefix><name>` overrides `<name>` for one kind of internal connection. "
        "Keys of every family are removed from the user's driver connection; routing keys "
        "(`target_session_attrs`, `load_balance_hosts`) are not inherited by internal "
        "connections.",
        "",
        "| Prefix | Defaults when unset |",
        "|---|---|",
    ]
    for prefix in INTERNAL_PREFIXES:
        forced = INTERNAL_FORCED_DEFAULTS[prefix]
        text = ", ".join(f"`{k}={v}`" for k, v in forced.items()) or "—"
        lines.append(f"| `{prefix}` | {text} |")
    lines.append("")
    return "\n".join(lines)
