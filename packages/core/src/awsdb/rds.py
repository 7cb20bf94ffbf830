"""The RDS / Aurora host-name taxonomy: what kind of endpoint a host name is.

Host names are normalised before matching: surrounding whitespace, IPv6 brackets and one
trailing dot (a fully qualified name) are removed, and the name is lowercased (DNS names are
case-insensitive; the domain literals of the patterns are lowercase). Results are memoised
in bounded LRU caches, so repeated classification of the same names costs a dict lookup.

Main entry points: :func:`classify` (the :class:`RdsUrlType`), :func:`region_of`,
:func:`instance_host_pattern` (``"?." + domain``), :func:`writer_cluster_of_reader`,
:func:`cluster_identifier`, :func:`cluster_id_for` (the deterministic topology-cache key),
the blue/green name helpers and :func:`validate_host_pattern`.
"""

from __future__ import annotations

import enum
import re
from functools import lru_cache
from typing import NamedTuple

from awsdb.errors import ProgrammingError

__all__ = [
    "HostPattern",
    "RdsUrlType",
    "blue_green_base_name",
    "classify",
    "cluster_id_for",
    "cluster_identifier",
    "instance_host_pattern",
    "instance_name_of",
    "is_green_host",
    "is_old_blue_host",
    "normalize_host",
    "parse_host_pattern",
    "region_of",
    "validate_host_pattern",
    "writer_cluster_of_reader",
]

_CACHE_SIZE = 4096


class RdsUrlType(enum.Enum):
    """The nine endpoint kinds, each with the flags is_rds, is_cluster and has_region."""

    IP_ADDRESS = ("ip_address", False, False, False)
    RDS_GLOBAL_WRITER_CLUSTER = ("rds_global_writer_cluster", True, True, False)
    RDS_WRITER_CLUSTER = ("rds_writer_cluster", True, True, True)
    RDS_READER_CLUSTER = ("rds_reader_cluster", True, True, True)
    RDS_AURORA_LIMITLESS_DB_SHARD_GROUP = ("rds_aurora_limitless_db_shard_group", True, False, True)
    RDS_CUSTOM_CLUSTER = ("rds_custom_cluster", True, True, True)
    RDS_PROXY = ("rds_proxy", True, False, True)
    RDS_INSTANCE = ("rds_instance", True, False, True)
    OTHER = ("other", False, False, False)

    @property
    def is_rds(self) -> bool:
        """True for every RDS-domain endpoint kind."""
        return bool(self.value[1])

    @property
    def is_cluster(self) -> bool:
        """True for writer, reader, custom and global cluster endpoints."""
        return bool(self.value[2])

    @property
    def has_region(self) -> bool:
        """True when the name carries a usable AWS region (not for global endpoints)."""
        return bool(self.value[3])


# --- regex facts (aurora-facts §2.2) -------------------------------------------------------
_PREFIX = (
    r"^(?P<instance>.+)\."
    r"(?P<dns>proxy-|cluster-|cluster-ro-|cluster-custom-|shardgrp-|global-)?"
)
_DOMAINS = (
    # commercial and GovCloud (us-gov-* regions use this form); not followed by ".cn"
    r"(?P<domain>[a-zA-Z0-9]+\.(?P<region>[a-zA-Z0-9-]+)\.rds\.amazonaws\.com)(?!\.cn)$",
    # China, current
    r"(?P<domain>[a-zA-Z0-9]+\.rds\.(?P<region>[a-zA-Z0-9-]+)\.amazonaws\.com\.cn)$",
    # China, old
    r"(?P<domain>[a-zA-Z0-9]+\.(?P<region>[a-zA-Z0-9-]+)\.rds\.amazonaws\.com\.cn)$",
    # Gov / ISO, "rds-first" ordering
    r"(?P<domain>[a-zA-Z0-9]+\.rds\.(?P<region>[a-zA-Z0-9-]+)"
    r"\.(?:amazonaws\.com|c2s\.ic\.gov|sc2s\.sgov\.gov))$",
)
# The shard-group form additionally accepts these partitions with an optional trailing dot.
_SHARD_GROUP = (
    r"^(?P<instance>.+)\.(?P<dns>shardgrp-)"
    r"(?P<domain>[a-zA-Z0-9]+\.(?P<region>[a-zA-Z0-9-]+)\.rds\."
    r"(?:amazonaws\.com\.cn|amazonaws\.com|sc2s\.sgov\.gov|c2s\.ic\.gov))\.?$"
)
_ELB = r"^(?P<instance>.+)\.elb\.((?P<region>[a-zA-Z0-9-]+)\.amazonaws\.com)$"
_OLD_BLUE = r".*(?P<prefix>-old1)\."
_GREEN = r".*(?P<prefix>-green-[0-9a-z]{6})\."
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"^(?:{_OCTET}\.){{3}}{_OCTET}$"


class _Patterns(NamedTuple):
    endpoint: tuple[re.Pattern[str], ...]  # the four domain variants, then the shard group
    elb: re.Pattern[str]
    old_blue: re.Pattern[str]
    green: re.Pattern[str]
    ipv4: re.Pattern[str]


@lru_cache(maxsize=1)
def _patterns() -> _Patterns:
    """The compiled patterns, built on first use (keeps ``import`` cheap)."""
    flags = re.IGNORECASE
    return _Patterns(
        endpoint=(
            *(re.compile(_PREFIX + d, flags) for d in _DOMAINS),
            re.compile(_SHARD_GROUP, flags),
        ),
        elb=re.compile(_ELB, flags),
        old_blue=re.compile(_OLD_BLUE, flags),
        green=re.compile(_GREEN, flags),
        ipv4=re.compile(_IPV4),
    )


_DNS_TYPES = {
    "global-": RdsUrlType.RDS_GLOBAL_WRITER_CLUSTER,
    "cluster-": RdsUrlType.RDS_WRITER_CLUSTER,
    "cluster-ro-": RdsUrlType.RDS_READER_CLUSTER,
    "shardgrp-": RdsUrlType.RDS_AURORA_LIMITLESS_DB_SHARD_GROUP,
    "cluster-custom-": RdsUrlType.RDS_CUSTOM_CLUSTER,
    "proxy-": RdsUrlType.RDS_PROXY,
}


class _Parsed(NamedTuple):
    kind: RdsUrlType
    host: str  # normalised host
    instance: str | None
    dns: str | None
    domain: str | None
    region: str | None


def normalize_host(host: str) -> str:
    """``host`` stripped of whitespace, IPv6 brackets and one trailing dot, lowercased."""
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if h.endswith(".") and len(h) > 1:
        h = h[:-1]
    return h.lower()


def _is_ip(host: str) -> bool:
    """IPv4 dotted quad, or IPv6 (full 8 groups or compressed with ``::``, optional zone)."""
    if _patterns().ipv4.match(host):
        return True
    if ":" not in host:
        return False
    import ipaddress  # lazy: only hosts that look like IPv6 pay for it

    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=_CACHE_SIZE)
def _parse(host: str) -> _Parsed:
    h = normalize_host(host)
    if _is_ip(h):
        return _Parsed(RdsUrlType.IP_ADDRESS, h, None, None, None, None)
    for pattern in _patterns().endpoint:
        m = pattern.match(h)
        if m is None:
            continue
        dns = (m.group("dns") or "").lower() or None
        kind = RdsUrlType.RDS_INSTANCE if dns is None else _DNS_TYPES[dns]
        return _Parsed(kind, h, m.group("instance"), dns, m.group("domain"), m.group("region"))
    return _Parsed(RdsUrlType.OTHER, h, None, None, None, None)


def classify(host: str) -> RdsUrlType:
    """The :class:`RdsUrlType` of ``host`` (aurora-facts §2.1; IP first, then the DNS prefix)."""
    return _parse(host).kind


def region_of(host: str) -> str | None:
    """The AWS region named by ``host``: its ``region`` group, else the ELB form, else None.

    Never returns ``"global"``: Global Database writer names carry no usable region (their
    home region comes from the RDS API).
    """
    parsed = _parse(host)
    if parsed.kind is RdsUrlType.RDS_GLOBAL_WRITER_CLUSTER:
        return None
    if parsed.region is not None and parsed.region != "global":
        return parsed.region
    m = _patterns().elb.match(parsed.host)
    if m is not None and m.group("region") != "global":
        return m.group("region")
    return None


def instance_host_pattern(host: str) -> str | None:
    """The instance host pattern derived from ``host``: ``"?." + domain``.

    ``None`` when it cannot be derived: IP addresses, custom domains and CNAMEs (the user must
    set ``cluster_instance_host_pattern``) and Global Database writer names (they need one
    pattern per region, ``global_cluster_instance_host_patterns``).
    """
    parsed = _parse(host)
    if parsed.domain is None or parsed.kind is RdsUrlType.RDS_GLOBAL_WRITER_CLUSTER:
        return None
    return "?." + parsed.domain


def writer_cluster_of_reader(host: str) -> str | None:
    """The writer cluster name of a ``cluster-ro-`` reader endpoint, else ``None``."""
    parsed = _parse(host)
    if parsed.kind is not RdsUrlType.RDS_READER_CLUSTER:
        return None
    return f"{parsed.instance}.cluster-{parsed.domain}"


def cluster_identifier(host: str) -> str | None:
    """The endpoint identifier (``instance`` group) of names that have a DNS prefix.

    For cluster, reader, custom, global, shard-group and proxy names this is the cluster or
    endpoint identifier (``db`` in ``db.cluster-xyz.us-east-1.rds.amazonaws.com``); for
    instance names, IPs and other hosts it is ``None`` (see :func:`instance_name_of`).
    """
    parsed = _parse(host)
    if parsed.dns is None:
        return None
    return parsed.instance


def instance_name_of(host: str) -> str | None:
    """The instance identifier of an RDS instance endpoint (``db-1`` in
    ``db-1.xyz.us-east-1.rds.amazonaws.com``), else ``None``."""
    parsed = _parse(host)
    if parsed.kind is not RdsUrlType.RDS_INSTANCE:
        return None
    return parsed.instance


def cluster_id_for(host: str, port: int | None) -> str:
    """A deterministic topology-cache key for a connection to ``host:port``.

    - writer cluster, global writer and shard-group endpoints: the normalised host name;
    - reader (``cluster-ro-``) endpoints: the writer endpoint of the same cluster, so that
      writer and reader connections share one topology;
    - custom endpoints and proxies: the normalised endpoint name (the cluster name cannot be
      derived from it; the key stays unique, it is just not shared with the writer name);
    - instances, IP addresses and other hosts: ``"host:port"`` (``"host"`` without a port).

    A ``cluster_id`` property, when set, overrides this.
    """
    parsed = _parse(host)
    kind = parsed.kind
    if kind is RdsUrlType.RDS_READER_CLUSTER:
        return f"{parsed.instance}.cluster-{parsed.domain}"
    if kind.is_cluster or kind in (
        RdsUrlType.RDS_AURORA_LIMITLESS_DB_SHARD_GROUP,
        RdsUrlType.RDS_PROXY,
    ):
        return parsed.host
    if port is None:
        return parsed.host
    if ":" in parsed.host:  # IPv6 literal
        return f"[{parsed.host}]:{port}"
    return f"{parsed.host}:{port}"


# --- blue/green names ----------------------------------------------------------------------
def _remove_prefix_group(pattern: re.Pattern[str], host: str) -> str | None:
    m = pattern.match(host)
    if m is None:
        return None
    return host[: m.start("prefix")] + host[m.end("prefix") :]


def is_old_blue_host(host: str) -> bool:
    """True for an old blue name left by a switchover (contains ``-old1.``)."""
    return _patterns().old_blue.match(host) is not None


def is_green_host(host: str) -> bool:
    """True for a green name (contains ``-green-`` plus six ``[0-9a-z]`` before a dot)."""
    return _patterns().green.match(host) is not None


def blue_green_base_name(host: str) -> str:
    """``host`` with its ``-old1`` or ``-green-xxxxxx`` infix removed (the blue name).

    Names without either infix are returned unchanged.
    """
    patterns = _patterns()
    for pattern in (patterns.green, patterns.old_blue):
        base = _remove_prefix_group(pattern, host)
        if base is not None:
            return base
    return host


# --- instance host pattern ---------------------------------------------------------------
class HostPattern(NamedTuple):
    """A validated instance host pattern: the host part (with one ``?``) and optional port."""

    host: str
    port: int | None

    def host_for(self, instance_id: str) -> str:
        """The instance host name for ``instance_id``."""
        return self.host.replace("?", instance_id)


@lru_cache(maxsize=256)
def parse_host_pattern(pattern: str) -> HostPattern:
    """Validate ``pattern`` (see :func:`validate_host_pattern`) and split off its port."""
    text = pattern.strip()
    if not text:
        raise ProgrammingError("cluster_instance_host_pattern: empty pattern")
    host, port = text, None
    if text.count(":") == 1:  # host:port (an IPv6-shaped pattern makes no sense here)
        host, _, port_text = text.partition(":")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ProgrammingError(
                f"cluster_instance_host_pattern {pattern!r}: port {port_text!r} is not an "
                "integer in 1..65535"
            )
        port = int(port_text)
    elif ":" in text:
        raise ProgrammingError(
            f"cluster_instance_host_pattern {pattern!r}: expected 'host-pattern[:port]'"
        )
    if host.count("?") != 1:
        raise ProgrammingError(
            f"cluster_instance_host_pattern {pattern!r}: must contain exactly one '?' "
            "(replaced by the instance id), e.g. '?.c9abcdefghij.us-east-1.rds.amazonaws.com'"
        )
    kind = classify(host.replace("?", "instance"))
    if kind in (RdsUrlType.RDS_PROXY, RdsUrlType.RDS_CUSTOM_CLUSTER):
        raise ProgrammingError(
            f"cluster_instance_host_pattern {pattern!r}: may not be an RDS Proxy or custom "
            "cluster endpoint; use the instance domain, e.g. "
            "'?.c9abcdefghij.us-east-1.rds.amazonaws.com'"
        )
    return HostPattern(host, port)


def validate_host_pattern(pattern: str) -> None:
    """Check an instance host pattern: one ``?``, not a proxy or custom-cluster name,
    optionally ``:port`` with a port in 1..65535. Raises ``ProgrammingError`` otherwise."""
    parse_host_pattern(pattern)
