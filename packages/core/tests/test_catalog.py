"""Tests of awsdb._catalog: completeness against the anchor's property list, the deliberate
default changes, enum choices, owners, and the generated Markdown reference."""

from __future__ import annotations

from typing import Any

import pytest

from awsdb._catalog import CATALOGUE, DATABASE_DIALECT_CODES, render_properties_markdown
from awsdb.errors import ProgrammingError
from awsdb.properties import Properties, Property, PropertyRegistry, default_registry

# Every property of the anchor (3.1.0) that awsdb accepts, with its owner.
EXPECTED_OWNERS: dict[str, str] = {
    **dict.fromkeys(
        [
            "topology_refresh_ms",
            "cluster_topology_high_refresh_rate_ms",
            "cluster_instance_host_pattern",
            "monitoring_connection_priority",
        ],
        "failover",
    ),
    "reader_host_selector_strategy": "srw",
    **dict.fromkeys(
        [
            "plugins",
            "auto_sort_wrapper_plugin_order",
            "profile_name",
            "wrapper_dialect",
            "wrapper_driver_dialect",
            "connect_timeout",
            "socket_timeout",
            "tcp_keepalive",
            "tcp_keepalive_time",
            "tcp_keepalive_interval",
            "tcp_keepalive_probes",
            "auxiliary_query_timeout_sec",
            "transfer_session_state_on_switch",
            "reset_session_state_on_close",
            "rollback_on_switch",
            "enable_telemetry",
            "telemetry_traces_backend",
            "telemetry_metrics_backend",
            "telemetry_submit_toplevel",
            "telemetry_failover_additional_top_trace",
            "cluster_id",
            "global_cluster_instance_host_patterns",
            "gdb_monitoring_connection_priority",
            "gdb_accessible_regions",
            "default_host_availability_strategy",
            "host_availability_strategy_max_retries",
            "host_availability_strategy_initial_backoff_time",
            "round_robin_host_weight_pairs",
            "round_robin_default_weight",
            "weighted_random_host_weight_pairs",
            "weighted_random_default_weight",
        ],
        "core",
    ),
    **dict.fromkeys(
        [
            "enable_failover",
            "failover_mode",
            "failover_timeout_sec",
            "failover_reader_host_selector_strategy",
            "enable_connect_failover",
            "failover_cluster_topology_refresh_rate_sec",
            "failover_writer_reconnect_interval_sec",
            "failover_reader_connect_timeout_sec",
            "failover_home_region",
            "active_home_failover_mode",
            "inactive_home_failover_mode",
        ],
        "failover",
    ),
    **dict.fromkeys(
        [
            "failure_detection_enabled",
            "failure_detection_time_ms",
            "failure_detection_interval_ms",
            "failure_detection_count",
            "monitor_disposal_time_ms",
        ],
        "efm",
    ),
    **dict.fromkeys(
        ["iam_host", "iam_default_port", "iam_region", "iam_expiration", "aws_profile"], "iam"
    ),
    **dict.fromkeys(
        [
            "secrets_manager_secret_id",
            "secrets_manager_region",
            "secrets_manager_endpoint",
            "secrets_manager_secret_username_key",
            "secrets_manager_secret_password_key",
            "secrets_manager_expiration",
        ],
        "aws_secrets_manager",
    ),
    **dict.fromkeys(
        [
            "idp_name",
            "idp_endpoint",
            "idp_port",
            "rp_identifier",
            "idp_username",
            "idp_password",
            "iam_role_arn",
            "iam_idp_arn",
            "iam_token_expiration",
            "http_request_connect_timeout",
            "ssl_secure",
            "db_user",
        ],
        "federated_auth",
    ),
    "app_id": "okta",
    **dict.fromkeys(
        [
            "bg_id",
            "bg_connect_timeout_ms",
            "bg_interval_baseline_ms",
            "bg_interval_increased_ms",
            "bg_interval_high_ms",
            "bg_switchover_timeout_ms",
            "bg_suspend_new_blue_connections",
        ],
        "bg",
    ),
    **dict.fromkeys(
        [
            "initial_connection_host_selector_strategy",
            "endpoint_substitution_role",
            "verify_opened_connection_type",
            "inactive_cluster_writer_endpoint_substitution_role",
            "verify_inactive_cluster_writer_endpoint_connection_type",
            "open_connection_retry_timeout_ms",
            "open_connection_retry_interval_ms",
            "wait_for_initial_topology_ms",
        ],
        "initial_connection",
    ),
    **dict.fromkeys(
        [
            "srw_read_endpoint",
            "srw_write_endpoint",
            "srw_verify_new_connections",
            "srw_verify_initial_connection_type",
            "srw_connect_retry_timeout_ms",
            "srw_connect_retry_interval_ms",
        ],
        "srw",
    ),
    **dict.fromkeys(
        [
            "gdb_rw_home_region",
            "gdb_rw_restrict_writer_to_home_region",
            "gdb_rw_restrict_reader_to_home_region",
            "gdb_enable_global_write_forwarding",
        ],
        "gdb_rw",
    ),
    **dict.fromkeys(
        [
            "limitless_transaction_router_monitor_interval_ms",
            "limitless_transaction_router_monitor_disposal_time_ms",
            "limitless_wait_for_transaction_router_info",
            "limitless_get_transaction_router_retry_interval_ms",
            "limitless_get_transaction_router_max_retries",
            "limitless_max_retries_ms",
        ],
        "limitless",
    ),
    **dict.fromkeys(
        [
            "custom_endpoint_info_refresh_rate_ms",
            "custom_endpoint_idle_monitor_expiration_ms",
            "wait_for_custom_endpoint_info",
            "wait_for_custom_endpoint_info_timeout_ms",
        ],
        "custom_endpoint",
    ),
    "response_measurement_interval_ms": "fastest_response_strategy",
}


def test_catalogue_is_complete_with_owners() -> None:
    got = {p.name: p.owner for p in CATALOGUE}
    assert got == EXPECTED_OWNERS


def test_catalogue_names_are_unique_and_registry_has_them_all() -> None:
    names = [p.name for p in CATALOGUE]
    assert len(names) == len(set(names))
    reg = default_registry()
    assert len(reg) == len(CATALOGUE)
    assert all(name in reg for name in names)
    # building a registry through register() gives the same content
    assert list(PropertyRegistry(CATALOGUE)) == list(reg)


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("plugins", None),
        ("auto_sort_wrapper_plugin_order", True),
        ("auxiliary_query_timeout_sec", 5.0),
        ("topology_refresh_ms", 30000),
        ("cluster_topology_high_refresh_rate_ms", 100),
        ("monitoring_connection_priority", "strict-writer"),
        ("gdb_monitoring_connection_priority", "strict-writer-primary"),
        ("default_host_availability_strategy", ""),
        ("host_availability_strategy_max_retries", 5),
        ("failover_timeout_sec", 300.0),
        ("failover_reader_host_selector_strategy", "random"),
        ("enable_connect_failover", False),
        ("failure_detection_time_ms", 30000),
        ("failure_detection_interval_ms", 5000),
        ("failure_detection_count", 3),
        ("monitor_disposal_time_ms", 600000),
        ("round_robin_default_weight", 1),
        ("idp_name", "adfs"),
        ("idp_port", 443),
        ("rp_identifier", "urn:amazon:webservices"),
        ("iam_token_expiration", 870),
        ("http_request_connect_timeout", 60.0),
        ("ssl_secure", True),
        ("bg_connect_timeout_ms", 30000),
        ("bg_interval_baseline_ms", 60000),
        ("bg_interval_increased_ms", 1000),
        ("bg_interval_high_ms", 100),
        ("bg_switchover_timeout_ms", 180000),
        ("bg_suspend_new_blue_connections", False),
        ("initial_connection_host_selector_strategy", "random"),
        ("inactive_cluster_writer_endpoint_substitution_role", "writer"),
        ("open_connection_retry_timeout_ms", 30000),
        ("wait_for_initial_topology_ms", 0),
        ("srw_connect_retry_timeout_ms", 60000),
        ("limitless_transaction_router_monitor_interval_ms", 7500),
        ("limitless_get_transaction_router_retry_interval_ms", 300),
        ("custom_endpoint_idle_monitor_expiration_ms", 900000),
        ("wait_for_custom_endpoint_info_timeout_ms", 5000),
        ("response_measurement_interval_ms", 30000),
    ],
)
def test_anchor_defaults_kept(name: str, default: object) -> None:
    prop = default_registry().get(name)
    assert prop is not None
    assert prop.default == default
    assert type(prop.default) is type(default)


@pytest.mark.parametrize(
    ("name", "default", "anchor_default"),
    [
        ("cluster_id", None, "1"),
        ("bg_id", None, "1"),
        ("iam_expiration", 870, 900),
        ("secrets_manager_expiration", 3600, 31536000),
        ("secrets_manager_region", None, "us-east-1"),
    ],
)
def test_deliberate_deviations_are_documented(
    name: str, default: object, anchor_default: object
) -> None:
    prop = default_registry().get(name)
    assert prop is not None
    assert prop.default == default
    assert "awsdb deviation" in prop.description
    # the anchor's default value of a cache lifetime is now out of range or changed
    assert prop.default != anchor_default


def test_types_follow_the_unit_in_the_name() -> None:
    for prop in CATALOGUE:
        if prop.name.endswith("_ms"):
            assert prop.type is int, prop.name
        if prop.name.startswith("enable_") or prop.name.endswith("_enabled"):
            assert prop.type is bool, prop.name
        assert prop.default is None or type(prop.default) is prop.type, prop.name


def test_secret_flags() -> None:
    secrets = {p.name for p in CATALOGUE if p.secret}
    assert secrets == {"idp_password"}


@pytest.mark.parametrize(
    ("name", "given", "canonical"),
    [
        ("failover_mode", "strict-writer", "strict_writer"),
        ("failover_mode", "READER_OR_WRITER", "reader_or_writer"),
        ("wrapper_dialect", "aurora_pg", "aurora-pg"),
        ("wrapper_dialect", " Global-Aurora-MySQL ", "global-aurora-mysql"),
        (
            "monitoring_connection_priority",
            "strict_reader,writer_or_reader",
            "strict-reader,writer-or-reader",
        ),
        ("endpoint_substitution_role", "NONE", "none"),
        ("verify_opened_connection_type", "reader", "reader"),
        ("default_host_availability_strategy", "exponential-backoff", "exponential_backoff"),
        ("default_host_availability_strategy", "", ""),
        ("telemetry_traces_backend", "xray", "XRAY"),
        ("active_home_failover_mode", "strict_home_reader", "strict-home-reader"),
        ("srw_verify_initial_connection_type", "Writer", "writer"),
    ],
)
def test_enum_spellings(name: str, given: str, canonical: str) -> None:
    prop = default_registry().get(name)
    assert prop is not None
    assert prop.coerce(given) == canonical


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("failover_mode", "strict-primary"),
        ("wrapper_dialect", "custom"),
        ("wrapper_dialect", "mariadb"),
        ("wrapper_dialect", "rds-multi-az-mysql-cluster"),
        ("endpoint_substitution_role", "primary"),
        ("verify_opened_connection_type", "any"),
        ("monitoring_connection_priority", ""),
        ("telemetry_metrics_backend", "XRAY"),
    ],
)
def test_enum_rejections(name: str, bad: str) -> None:
    prop = default_registry().get(name)
    assert prop is not None
    with pytest.raises(ProgrammingError, match=f"'{name}'"):
        prop.coerce(bad)


def test_dialect_codes_are_the_implemented_ones() -> None:
    prop = default_registry().get("wrapper_dialect")
    assert prop is not None
    assert prop.choices == DATABASE_DIALECT_CODES
    assert len(DATABASE_DIALECT_CODES) == 10


def test_free_string_strategies_and_driver_dialect() -> None:
    reg = default_registry()
    for name in (
        "reader_host_selector_strategy",
        "failover_reader_host_selector_strategy",
        "initial_connection_host_selector_strategy",
        "wrapper_driver_dialect",
    ):
        prop = reg.get(name)
        assert prop is not None
        assert prop.choices is None
        assert prop.coerce("fastest_response") == "fastest_response"


def test_deprecated_alias() -> None:
    props = Properties.parse(
        "reader_initial_connection_host_selector_strategy=round_robin", {}, default_registry()
    )
    assert props.get("initial_connection_host_selector_strategy") == "round_robin"


def test_ranges() -> None:
    reg = default_registry()
    checks: list[tuple[str, Any]] = [
        ("iam_expiration", 901),
        ("iam_expiration", 0),
        ("idp_port", 0),
        ("iam_default_port", 65536),
        ("failure_detection_count", 0),
        ("topology_refresh_ms", 0),
        ("secrets_manager_expiration", -1),
        ("round_robin_default_weight", 0),
    ]
    for name, value in checks:
        prop = reg.get(name)
        assert prop is not None
        with pytest.raises(ProgrammingError, match=f"'{name}': {value}"):
            prop.coerce(value)


# --- Markdown reference --------------------------------------------------------------------


def test_markdown_groups_by_owner_with_all_columns() -> None:
    text = render_properties_markdown(default_registry())
    assert text.startswith("# Connection properties\n")
    assert text.index("## `core`") < text.index("## `aws_secrets_manager`")
    assert "| Name | Type | Default | Allowed | Description |" in text
    for prop in CATALOGUE:
        assert f"| `{prop.name}`" in text, prop.name
    assert "| `idp_password` 🔒 |" in text
    assert "(alias `wrapper_plugins`)" in text
    assert "| `failure_detection_time_ms` | int | `30000` | an integer >= 0 |" in text
    assert "| `ssl_secure` | bool | `true` |" in text
    assert "| `topology-monitoring-` | `connect_timeout=5`, `socket_timeout=5.0` |" in text
    # '|' in a description would break the table
    for line in text.splitlines():
        if line.startswith("| `"):
            assert line.count(" | ") == 4 or line.count(" | ") == 1, line


def test_markdown_is_deterministic_and_includes_plugin_properties() -> None:
    reg = default_registry()
    assert render_properties_markdown(reg) == render_properties_markdown(default_registry())
    reg.register(Property("e6data_pool|size", int, 4, "pool size | per host", owner="e6data"))
    text = render_properties_markdown(reg)
    assert "## `e6data`" in text
    assert "| `e6data_pool\\|size` | int | `4` |" in text
    assert "pool size \\| per host" in text
