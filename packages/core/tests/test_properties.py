"""Unit tests of awsdb.properties: Property.coerce, PropertyRegistry and Properties."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from awsdb.errors import ProgrammingError
from awsdb.properties import (
    INTERNAL_PREFIXES,
    Properties,
    Property,
    PropertyRegistry,
    default_registry,
)

# --- Property.coerce ----------------------------------------------------------------------

FLAG = Property("flag", bool, True, "a flag")
COUNT = Property("count", int, 3, "a count", minimum=1, maximum=10)
RATE = Property("rate", float, 0.5, "a rate", minimum=0)
MODE: Property[str | None] = Property(
    "mode", str, None, "a mode", choices=("strict_writer", "strict_reader", "reader_or_writer")
)
LIST = Property("codes", str, "a,b", "a list", multi=True)
PRIORITY = Property(
    "priority",
    str,
    "strict-writer",
    "pri",
    choices=("strict-writer", "writer-or-reader"),
    multi=True,
)
SECRET: Property[str | None] = Property("token_value", str, None, "a secret", secret=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        (" TRUE ", True),
        ("Yes", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("OFF", False),
        ("0", False),
        (1, True),
        (0, False),
        (None, True),  # None: unset, the default
    ],
)
def test_bool_accepts_true_false_words(value: object, expected: bool) -> None:
    assert FLAG.coerce(value) is expected


@pytest.mark.parametrize("value", ["", "maybe", "t", "2", 2, -1, 1.0, [], "truee", b"true"])
def test_bool_rejects_everything_else(value: object) -> None:
    with pytest.raises(ProgrammingError) as info:
        FLAG.coerce(value)
    message = str(info.value)
    assert "'flag'" in message
    assert "allowed: true/false" in message
    assert repr(value)[:10] in message


@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), ("7", 7), (" +8 ", 8), (10.0, 10), ("1", 1)]
)
def test_int_accepts_ints_and_integer_strings(value: object, expected: int) -> None:
    result = COUNT.coerce(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [True, False, "1.5", 2.5, "0x5", "", "five", "1_0", float("nan")])
def test_int_rejects_non_integers_and_bools(value: object) -> None:
    with pytest.raises(ProgrammingError, match="'count'"):
        COUNT.coerce(value)


@pytest.mark.parametrize("value", [0, "11", -3, 10**100])
def test_int_range_is_checked(value: object) -> None:
    with pytest.raises(ProgrammingError, match="allowed: an integer from 1 to 10"):
        COUNT.coerce(value)


def test_float_accepts_numbers_and_numeric_strings() -> None:
    assert RATE.coerce(2) == 2.0
    assert RATE.coerce("1.25") == 1.25
    assert RATE.coerce(" .5 ") == 0.5
    assert RATE.coerce("1e3") == 1000.0
    assert isinstance(RATE.coerce(2), float)


@pytest.mark.parametrize(
    "value", ["nan", "inf", float("inf"), float("nan"), True, "-1", -0.1, "1,5", 10**400]
)
def test_float_rejects_bad_values(value: object) -> None:
    with pytest.raises(ProgrammingError, match="'rate'"):
        RATE.coerce(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("strict_writer", "strict_writer"),
        ("strict-writer", "strict_writer"),
        ("  Strict-Reader ", "strict_reader"),
        ("READER-OR_WRITER", "reader_or_writer"),
    ],
)
def test_choices_accept_hyphen_underscore_case_and_spaces(value: str, expected: str) -> None:
    assert MODE.coerce(value) == expected


@pytest.mark.parametrize("value", ["strictwriter", "writer", "", "strict writer", 3, True])
def test_choices_reject_anything_else_and_list_the_allowed_values(value: object) -> None:
    with pytest.raises(ProgrammingError) as info:
        MODE.coerce(value)
    message = str(info.value)
    assert "'mode'" in message
    assert "'strict_writer', 'strict_reader', 'reader_or_writer'" in message


def test_free_string_accepts_numbers_as_text_and_rejects_other_types() -> None:
    free = Property("name", str, None, "free")
    assert free.coerce("x y") == "x y"
    assert free.coerce(5) == "5"
    with pytest.raises(ProgrammingError, match="'name'"):
        free.coerce(True)
    with pytest.raises(ProgrammingError, match="NUL"):
        free.coerce("a\x00b")


def test_multi_value_lists() -> None:
    assert LIST.coerce("failover, efm") == "failover,efm"
    assert LIST.coerce(["failover", " efm "]) == "failover,efm"
    assert LIST.coerce(("iam",)) == "iam"
    assert LIST.coerce("") == ""
    assert LIST.coerce("  ") == ""
    assert LIST.coerce([]) == ""
    for bad in ("a,,b", "a,", ",a", ["a", ""], ["a,b"], [1], 5.5):
        with pytest.raises(ProgrammingError, match="'codes'"):
            LIST.coerce(bad)


def test_multi_value_with_choices() -> None:
    assert PRIORITY.coerce("strict_writer, Writer-Or-Reader") == "strict-writer,writer-or-reader"
    with pytest.raises(ProgrammingError, match="'strict-writer', 'writer-or-reader'"):
        PRIORITY.coerce("strict-writer,strict-primary")


def test_secret_values_are_redacted_in_errors() -> None:
    with pytest.raises(ProgrammingError) as info:
        SECRET.coerce(["Sup3rSecretValue"])
    assert "Sup3rSecretValue" not in str(info.value)
    assert "<redacted>" in str(info.value)
    assert "'token_value'" in str(info.value)


def test_long_values_are_shortened_in_errors() -> None:
    with pytest.raises(ProgrammingError) as info:
        COUNT.coerce("x" * 10_000)
    assert len(str(info.value)) < 300


def test_coerce_is_idempotent() -> None:
    cases: list[tuple[Property[Any], object]] = [
        (MODE, "strict-writer"),
        (LIST, "a , b"),
        (RATE, "3"),
        (FLAG, "on"),
    ]
    for prop, value in cases:
        once = prop.coerce(value)
        assert prop.coerce(once) == once


def test_bad_property_definitions_are_rejected() -> None:
    with pytest.raises(ProgrammingError, match="unsupported type"):
        Property("x", list, None, "bad")
    with pytest.raises(ProgrammingError, match="choices need type str"):
        Property("x", int, None, "bad", choices=("1",))


# --- PropertyRegistry ---------------------------------------------------------------------


def test_registry_get_by_name_and_alias() -> None:
    reg = PropertyRegistry()
    prop = Property("new_name", int, 1, "d", aliases=("old_name",))
    reg.register(prop)
    assert reg.get("new_name") is prop
    assert reg.get("old_name") is prop
    assert reg.get("missing") is None
    assert "old_name" in reg
    assert "missing" not in reg
    assert 5 not in reg
    assert len(reg) == 1
    assert list(reg) == [prop]


def test_registry_duplicates() -> None:
    reg = PropertyRegistry()
    a = Property("x", int, 1, "d", owner="failover")
    reg.register(a)
    reg.register(a)  # identical: no-op
    reg.register(Property("x", int, 1, "other words", owner="efm"))  # same spec, other owner
    assert reg.get("x") is a
    replacement = Property("x", int, 2, "d", owner="failover")  # same owner may replace
    reg.register(replacement)
    assert reg.get("x") is replacement
    with pytest.raises(ProgrammingError, match=r"'x' of 'efm' conflicts .* 'failover'"):
        reg.register(Property("x", str, None, "d", owner="efm"))


def test_registry_alias_collisions_and_reserved_prefixes() -> None:
    reg = PropertyRegistry()
    reg.register(Property("a", int, 1, "d"))
    with pytest.raises(ProgrammingError, match="already used by property 'a'"):
        reg.register(Property("b", int, 1, "d", aliases=("a",)))
    with pytest.raises(ProgrammingError, match="reserved prefix"):
        reg.register(Property("monitoring-x", int, 1, "d"))


def test_replacing_a_property_drops_its_old_aliases() -> None:
    reg = PropertyRegistry()
    reg.register(Property("a", int, 1, "d", aliases=("old",)))
    reg.register(Property("a", int, 1, "d", aliases=("older",)))
    assert reg.get("old") is None
    assert reg.get("older") is not None


def test_registry_by_owner_owners_and_copy() -> None:
    reg = default_registry()
    failover = reg.by_owner("failover")
    assert "failover_mode" in [p.name for p in failover]
    assert all(p.owner == "failover" for p in failover)
    assert reg.owners()[0] == "core"
    clone = reg.copy()
    clone.register(Property("only_in_clone", int, 1, "d"))
    assert "only_in_clone" in clone
    assert "only_in_clone" not in reg
    assert default_registry() is not default_registry()
    assert "PropertyRegistry(" in repr(reg)


def test_is_wrapper_key() -> None:
    reg = default_registry()
    for key in ("failover_mode", "wrapper_plugins", "plugins", "connect_timeout"):
        assert reg.is_wrapper_key(key)
    for prefix in INTERNAL_PREFIXES:
        assert reg.is_wrapper_key(prefix + "anything")
    for key in ("user", "password", "host", "port", "dbname", "database", "sslmode", "x"):
        assert not reg.is_wrapper_key(key)


def test_is_secret_key() -> None:
    reg = default_registry()
    for key in (
        "password",
        "passwd",
        "sslpassword",
        "idp_password",
        "monitoring-password",
        "blue-green-monitoring-idp_password",
        "my_api_token",
        "client_secret",
    ):
        assert reg.is_secret_key(key), key
    for key in (
        "user",
        "host",
        "secrets_manager_secret_id",
        "iam_token_expiration",
        "secrets_manager_secret_password_key",
        "failover_mode",
    ):
        assert not reg.is_secret_key(key), key


def test_registry_concurrent_registration() -> None:
    reg = PropertyRegistry()

    def worker(i: int) -> None:
        for j in range(200):
            reg.register(Property(f"p{i}_{j}", int, j, "d", owner=f"o{i}"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reg) == 800
    assert len(reg.by_owner("o2")) == 200


# --- Properties ---------------------------------------------------------------------------


@pytest.fixture
def reg() -> PropertyRegistry:
    return default_registry()


def test_parse_merges_conninfo_and_overrides(reg: PropertyRegistry) -> None:
    props = Properties.parse(
        "host=h port=5432 dbname=app failover_mode=strict-reader failure_detection_time_ms=100",
        {"failure_detection_time_ms": "2500", "application_name": "svc"},
        reg,
    )
    assert props.get("failover_mode") == "strict_reader"
    assert props.get("failure_detection_time_ms") == 2500
    assert props["application_name"] == "svc"
    assert props.raw()["failure_detection_time_ms"] == "2500"
    assert props.raw()["failover_mode"] == "strict-reader"
    assert dict(props)["failover_mode"] == "strict_reader"
    assert len(props) == 6
    assert "host" in props


def test_parse_urls(reg: PropertyRegistry) -> None:
    pg = Properties.parse("postgresql://u:pw@h1:1,h2:2/db?failover_mode=strict_writer", {}, reg)
    assert pg.hosts() == [("h1", 1), ("h2", 2)]
    assert pg.get("failover_mode") == "strict_writer"
    my = Properties.parse("mysql://u:pw@h:3307/db?wrapper_plugins=failover", {}, reg)
    assert my.driver_kwargs() == {
        "user": "u",
        "password": "pw",
        "host": "h",
        "port": "3307",
        "database": "db",
    }
    assert my.get("plugins") == "failover"


def test_parse_none_and_empty_conninfo(reg: PropertyRegistry) -> None:
    assert len(Properties.parse(None, {}, reg)) == 0
    assert dict(Properties.parse("", {"host": "h"}, reg)) == {"host": "h"}


def test_bad_values_fail_at_parse_naming_the_property(reg: PropertyRegistry) -> None:
    with pytest.raises(ProgrammingError, match="'failover_mode': 'strict-primary'"):
        Properties.parse("failover_mode=strict-primary", {}, reg)
    with pytest.raises(ProgrammingError, match="'auto_sort_wrapper_plugin_order': 'flase'"):
        Properties.parse(None, {"auto_sort_wrapper_plugin_order": "flase"}, reg)
    with pytest.raises(ProgrammingError, match="'monitoring-failure_detection_count': '0'"):
        Properties.parse("monitoring-failure_detection_count=0", {}, reg)
    with pytest.raises(ProgrammingError, match="invalid property name 5"):
        Properties.parse(None, {5: "x"}, reg)  # type: ignore[dict-item]


def test_auto_sort_false_string_is_false(reg: PropertyRegistry) -> None:
    props = Properties.parse("auto_sort_wrapper_plugin_order=false", {}, reg)
    assert props.get("auto_sort_wrapper_plugin_order") is False


def test_wrapper_plugins_and_aliases_map_to_canonical_names(reg: PropertyRegistry) -> None:
    props = Properties.parse(
        "wrapper_plugins='failover, efm' reader_initial_connection_host_selector_strategy=x",
        {},
        reg,
    )
    assert props.get("plugins") == "failover,efm"
    assert props.get("wrapper_plugins") == "failover,efm"
    assert "wrapper_plugins" not in props
    assert props.get("initial_connection_host_selector_strategy") == "x"
    both = Properties.parse(None, {"plugins": "iam", "wrapper_plugins": "bg"}, reg)
    assert both.get("plugins") == "iam"  # the canonical spelling wins within one source
    later = Properties.parse("plugins=iam", {"wrapper_plugins": "bg"}, reg)
    assert later.get("plugins") == "bg"  # keywords win over the conninfo


def test_plugins_list_override(reg: PropertyRegistry) -> None:
    props = Properties.parse(None, {"plugins": ["failover", "efm"]}, reg)
    assert props.get("plugins") == "failover,efm"
    assert props.raw()["plugins"] == ["failover", "efm"]
    assert Properties.parse("plugins=''", {}, reg).get("plugins") == ""
    assert Properties.parse(None, {}, reg).get("plugins") is None


def test_none_override_removes_a_key(reg: PropertyRegistry) -> None:
    props = Properties.parse("host=h failover_mode=strict_reader", {"failover_mode": None}, reg)
    assert "failover_mode" not in props
    assert props.get("failover_mode") is None


def test_get_defaults(reg: PropertyRegistry) -> None:
    from awsdb._catalog import FAILURE_DETECTION_TIME_MS

    props = Properties.parse("x=1", {}, reg)
    assert props.get(FAILURE_DETECTION_TIME_MS) == 30000
    assert props.get("failure_detection_time_ms") == 30000
    assert props.get("failure_detection_time_ms", 7) == 7
    assert props.get(FAILURE_DETECTION_TIME_MS, 8) == 8
    assert props.get("unknown") is None
    assert props.get("unknown", "d") == "d"
    assert props.get("x") == "1"
    assert props.get("x", "d") == "1"
    assert props.get(Property("unregistered", int, 4, "d")) == 4


def test_unknown_keys_and_their_values_are_untouched(reg: PropertyRegistry) -> None:
    marker = object()
    props = Properties.parse("sslmode=require", {"row_factory": marker, "port": 5432}, reg)
    kwargs = props.driver_kwargs()
    assert kwargs["row_factory"] is marker
    assert kwargs["port"] == 5432
    assert kwargs["sslmode"] == "require"


def test_driver_kwargs_strip_every_wrapper_key(reg: PropertyRegistry) -> None:
    props = Properties.parse(
        "host=h port=5432 user=u password=p dbname=d sslmode=disable "
        "failover_mode=strict_writer connect_timeout=3 wrapper_plugins=failover "
        "monitoring-connect_timeout=1 topology-monitoring-socket_timeout=2 "
        "blue-green-monitoring-connect_timeout=3 frt-connect_timeout=4 "
        "limitless-router-monitor-connect_timeout=5",
        {"database": "d2", "failure_detection_enabled": False},
        reg,
    )
    assert props.driver_kwargs() == {
        "host": "h",
        "port": "5432",
        "user": "u",
        "password": "p",
        "dbname": "d",
        "sslmode": "disable",
        "database": "d2",
    }


def test_for_internal_merges_prefixed_family(reg: PropertyRegistry) -> None:
    props = Properties.parse(
        "host=h user=u password=p connect_timeout=30 target_session_attrs=read-write "
        "load_balance_hosts=random monitoring-connect_timeout=2 monitoring-user=mon "
        "topology-monitoring-socket_timeout=1 blue-green-monitoring-x=1",
        {},
        reg,
    )
    mon = props.for_internal("monitoring-")
    assert mon.raw() == {
        "host": "h",
        "user": "mon",
        "password": "p",
        "connect_timeout": "2",
    }
    assert mon.get("connect_timeout") == 2
    topo = props.for_internal("topology-monitoring-")
    assert topo.get("connect_timeout") == 30  # the user's own value is inherited
    assert topo.get("socket_timeout") == 1.0
    assert "target_session_attrs" not in topo
    assert "blue-green-monitoring-x" not in topo


def test_for_internal_forced_defaults(reg: PropertyRegistry) -> None:
    props = Properties.parse("host=h", {}, reg)
    topo = props.for_internal("topology-monitoring-")
    assert (topo.get("connect_timeout"), topo.get("socket_timeout")) == (5, 5.0)
    mon = props.for_internal("monitoring-")
    assert (mon.get("connect_timeout"), mon.get("socket_timeout")) == (10, None)
    bg = props.for_internal("blue-green-monitoring-")
    assert (bg.get("connect_timeout"), bg.get("socket_timeout")) == (10, 10.0)
    frt = props.for_internal("frt-")
    assert frt.get("connect_timeout") is None
    assert frt.driver_kwargs() == {"host": "h"}


def test_for_internal_keeps_an_explicit_prefixed_routing_key(reg: PropertyRegistry) -> None:
    props = Properties.parse(
        "target_session_attrs=read-write frt-target_session_attrs=any", {}, reg
    )
    assert props.for_internal("frt-")["target_session_attrs"] == "any"


def test_for_internal_rejects_unknown_prefix(reg: PropertyRegistry) -> None:
    with pytest.raises(ProgrammingError, match="unknown internal property prefix 'mon-'"):
        Properties.parse("host=h", {}, reg).for_internal("mon-")


def test_with_overrides(reg: PropertyRegistry) -> None:
    props = Properties.parse("host=h password=old failover_mode=strict_reader", {}, reg)
    new = props.with_overrides(host="h2", password=None, failover_mode="reader-or-writer")
    assert new.raw() == {"host": "h2", "failover_mode": "reader-or-writer"}
    assert new.get("failover_mode") == "reader_or_writer"
    assert props.raw()["host"] == "h"  # the original is unchanged
    with pytest.raises(ProgrammingError, match="'failover_mode'"):
        props.with_overrides(failover_mode="nope")


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("h", None, [("h", None)]),
        ("h", 5433, [("h", 5433)]),
        ("h1,h2", "5432", [("h1", 5432), ("h2", 5432)]),
        ("h1, h2", "5432,5433", [("h1", 5432), ("h2", 5433)]),
        ("h1,h2", ",5433", [("h1", None), ("h2", 5433)]),
        ("::1,h2", ",", [("::1", None), ("h2", None)]),
        (None, "5432", []),
        ("", None, []),
    ],
)
def test_hosts(reg: PropertyRegistry, host: Any, port: Any, expected: Any) -> None:
    given = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    assert Properties.parse(None, given, reg).hosts() == expected


@pytest.mark.parametrize(
    ("host", "port", "match"),
    [
        ("h1,h2,h3", "1,2", "one per host: 3 hosts"),
        ("h", "abc", "'port': 'abc'"),
        ("h", "0", "from 1 to 65535"),
        ("h", "70000", "from 1 to 65535"),
        ("h", True, "'port': True"),
        (["h"], None, "'host'"),
    ],
)
def test_hosts_errors(reg: PropertyRegistry, host: Any, port: Any, match: str) -> None:
    given = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    with pytest.raises(ProgrammingError, match=match):
        Properties.parse(None, given, reg).hosts()


def test_repr_redacts_secrets(reg: PropertyRegistry) -> None:
    props = Properties.parse(
        "user=u password=Pa55word-one sslpassword=Key-pass-2 idp_password=Idp-pass-3",
        {"monitoring-password": "Mon-pass-4", "api_token": "Tok-5-abcdef"},
        reg,
    )
    text = repr(props)
    for secret in ("Pa55word-one", "Key-pass-2", "Idp-pass-3", "Mon-pass-4", "Tok-5-abcdef"):
        assert secret not in text
        assert secret not in str(props)
    assert "'user': 'u'" in text
    assert text.count("'***'") == 5


def test_properties_equality_and_mapping_protocol(reg: PropertyRegistry) -> None:
    a = Properties.parse("failover_mode=strict-writer", {}, reg)
    b = Properties.parse(None, {"failover_mode": "STRICT_WRITER"}, reg)
    assert a == b
    assert a == {"failover_mode": "strict_writer"}
    assert a != Properties.parse(None, {}, reg)
    assert a.registry is reg
    with pytest.raises(TypeError):
        hash(a)


@pytest.mark.parametrize("host", ["a,,b", "a,b,", ",a", " , ", "a, ,b"])
def test_hosts_rejects_empty_entries(reg: PropertyRegistry, host: str) -> None:
    props = Properties.parse(None, {"host": host}, reg)
    with pytest.raises(ProgrammingError, match=r"'host'.*empty"):
        props.hosts()


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("h", None),
        ("h1,h2", "5432"),
        ("h1, h2", "5432,5433"),
        ("h1,h2", ",5433"),
        ("::1,h2", ","),
        ("a,,b", None),
        ("a,b,", "1"),
        ("h1,h2,h3", "1,2"),
        ("h", "abc"),
        ("h", "0"),
        ("h", 70000),
    ],
)
def test_hosts_agrees_with_parse_host_list(reg: PropertyRegistry, host: str, port: Any) -> None:
    """``Properties.hosts()`` and ``parse_host_list`` are one parser: same pairs, same errors."""
    from awsdb.host_provider import parse_host_list

    given = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    props = Properties.parse(None, given, reg)
    try:
        from_props: object = props.hosts()
    except ProgrammingError as exc:
        from_props = str(exc)
    try:
        from_list: object = parse_host_list(host, port, None)
    except ProgrammingError as exc:
        from_list = str(exc)
    assert from_props == from_list
