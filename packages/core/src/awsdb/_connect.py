"""``awsdb.connect``: parse properties, pick dialects and plugins, open the connection."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from awsdb._connection import AwsWrapperConnection, driver_terminal
from awsdb._events import PluginShape
from awsdb._service import PluginService, Services, get_services
from awsdb.errors import ProgrammingError
from awsdb.plugin import Plugin
from awsdb.stash import StashKey

__all__ = ["connect", "parse_plugin_codes"]

_log = logging.getLogger("awsdb")


def parse_plugin_codes(value: object) -> list[str] | None:
    """Parse the ``plugins`` property: a comma-separated string or a sequence of codes.

    ``None`` means "the default chain"; ``""`` means no plugins. Codes are trimmed; an empty
    entry (``"a,,b"``, a trailing comma) is an error rather than silently ignored.
    """
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return []
        items: Sequence[object] = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise ProgrammingError(
            f"invalid value for property 'plugins': {value!r}; allowed: a comma-separated "
            "string of plugin codes or a list of codes"
        )
    codes: list[str] = []
    for position, item in enumerate(items):
        if not isinstance(item, str):
            raise ProgrammingError(
                f"invalid value for property 'plugins': entry {position} is {item!r}; "
                "allowed: plugin code strings"
            )
        code = item.strip()
        if not code:
            raise ProgrammingError(
                f"invalid value for property 'plugins': {value!r} has an empty entry at "
                f"position {position}; allowed: plugin codes separated by single commas"
            )
        codes.append(code)
    return codes


def connect(target: Callable[..., Any], conninfo: str = "", **kwargs: Any) -> AwsWrapperConnection:
    """Open a cluster-aware connection through the driver's ``target`` connect function.

    ``conninfo`` is a libpq ``key=value`` string or a ``postgresql://`` / ``mysql://`` URL;
    keyword arguments override it. awsdb's own properties (``plugins``, ``failover_mode``,
    ...) are validated and removed; every other key reaches the driver untouched.
    ``plugins`` selects the plugins by code (``"failover,efm"``, or ``""`` for none).
    """
    if not callable(target):
        raise ProgrammingError(
            f"awsdb.connect() needs the driver's connect function as first argument "
            f"(e.g. psycopg.Connection.connect), not {type(target).__name__}"
        )
    if conninfo is None:
        conninfo = ""
    if not isinstance(conninfo, str):
        raise ProgrammingError(
            f"conninfo must be a string (key=value or URL), not {type(conninfo).__name__}"
        )
    services = get_services()
    plugins_value = kwargs.pop("plugins", None) if "plugins" in kwargs else None
    had_plugins_kw = plugins_value is not None
    from awsdb.properties import Properties

    props = Properties.parse(conninfo, kwargs, services.properties)
    services.secrets.track(props)  # known secret values are redacted from every log record
    if not had_plugins_kw:
        plugins_value = props.get("plugins")
    codes = parse_plugin_codes(plugins_value)
    if codes is None:
        codes = services.plugins.default_codes()
    driver = services.drivers.for_target(target, props.get("wrapper_driver_dialect") or None)
    resolved = services.plugins.resolve(
        codes, auto_sort=bool(props.get("auto_sort_wrapper_plugin_order"))
    )
    _warn_unused(services, props, {r.code for r in resolved})
    service = PluginService(services, target, driver, props)
    pairs: list[tuple[Plugin, PluginShape]] = []
    for r in resolved:
        instance = r.spec.factory(service, props)
        if not isinstance(instance, Plugin):
            raise ProgrammingError(
                f"the factory of plugin {r.code!r} returned {type(instance).__name__}, "
                "not an awsdb.Plugin"
            )
        pairs.append((instance, services.plugins.shape(r.spec, type(instance))))
    service._install(pairs, driver_terminal(driver))
    provider = service.init_host_provider()
    hosts = provider.refresh(False)
    if not hosts:
        raise ProgrammingError("no host to connect to: give host= or a conninfo with a host")
    host = hosts[0]
    _log.debug(
        "connecting to %s with driver dialect %s and plugins %s",
        host.url,
        driver.code,
        [r.code for r in resolved],
    )
    try:
        raw = service.connect(host, props, is_initial=True)
    except BaseException:
        service.release()
        raise
    service.replace_connection(raw, host)
    return AwsWrapperConnection(service)


# Properties already warned about: (owner, name); one warning per process services.
_WARNED: StashKey[set[tuple[str, str]]] = StashKey("core.unused-property-warnings")


def _warn_unused(services: Services, props: Any, codes: set[str]) -> None:
    """Warn once when a property is set whose owning plugin is not in the chain.

    Plugins of one first-party distribution share their properties (``okta`` reads the
    ``iam_*`` properties): a property counts as used when a plugin of its owner's
    distribution is in the chain.
    """
    from awsdb._registry import FIRST_PARTY_CODES

    registry = props.registry
    dists = {FIRST_PARTY_CODES.get(c) for c in codes}
    for name in props:
        prop = registry.get(name)
        if prop is None or prop.owner == "core" or prop.owner in codes:
            continue
        owner_dist = FIRST_PARTY_CODES.get(prop.owner)
        if owner_dist is not None and owner_dist in dists:
            continue
        warned = services.stash.setdefault(_WARNED, set)
        if (prop.owner, prop.name) in warned:
            continue
        warned.add((prop.owner, prop.name))
        _log.warning(
            "property %r is read by the plugin %r, which is not in this connection's "
            "chain (plugins=%s): it has no effect",
            prop.name,
            prop.owner,
            ",".join(sorted(codes)) or '""',
        )
