"""What a token is signed for: host, port and region of one connection attempt.

The region follows the host being connected, so after a cross-region failover (the
failover plugin connects to an instance of another region through the same pipeline) the
token is signed for the new host's region. Global Database writer names carry no region:
it is read from ``DescribeGlobalClusters`` (the writer member's cluster ARN), cached for a
minute because a global failover moves it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from awsdb import rds
from awsdb.errors import ProgrammingError
from awsdb_iam._errors import AwsAuthError
from awsdb_iam._props import AWS_PROFILE, IAM_DEFAULT_PORT, IAM_HOST, IAM_REGION

if TYPE_CHECKING:
    from awsdb.hosts import HostInfo
    from awsdb.properties import Properties
    from awsdb_iam._state import AuthState

__all__ = ["TokenTarget", "resolve_target"]

_FAMILY_PORTS = {"pg": 5432, "mysql": 3306}
_RDS_ARN = re.compile(r"^arn:aws[^:]*:rds:(?P<region>[^:\n]*):")
_GLOBAL_REGION_TTL_S = 60.0


class TokenTarget(NamedTuple):
    """The host, port and region a token is signed for."""

    host: str
    port: int
    region: str


def resolve_target(
    host: HostInfo,
    props: Properties,
    driver_family: str,
    default_port: int | None,
    state: AuthState,
    plugin_code: str,
) -> TokenTarget:
    """The :class:`TokenTarget` of a connection to ``host`` (aurora-facts §10.1 steps 2-4)."""
    sign_host = props.get(IAM_HOST) or host.host
    kind = rds.classify(sign_host)
    if not kind.is_rds:
        raise ProgrammingError(
            f"{plugin_code}: {sign_host!r} is not an RDS host name, so the IAM token cannot "
            "be signed for it; set iam_host to the RDS endpoint (needed behind a CNAME, a "
            "custom domain or an IP address)"
        )
    port = props.get(IAM_DEFAULT_PORT) or host.port or default_port
    if port is None:
        port = _FAMILY_PORTS.get(driver_family)
    if port is None:
        raise ProgrammingError(
            f"{plugin_code}: no port to sign the IAM token for; set port or iam_default_port"
        )
    region = props.get(IAM_REGION)
    if not region:
        region = rds.region_of(sign_host)
    if not region and kind is rds.RdsUrlType.RDS_GLOBAL_WRITER_CLUSTER:
        region = _global_writer_region(sign_host, props, state, plugin_code)
    if not region:
        raise ProgrammingError(
            f"{plugin_code}: cannot derive the signing region from {sign_host!r}; set iam_region"
        )
    return TokenTarget(rds.normalize_host(sign_host), int(port), str(region))


def _global_writer_region(host: str, props: Properties, state: AuthState, plugin_code: str) -> str:
    global_id = rds.cluster_identifier(host)
    profile = props.get(AWS_PROFILE)

    def lookup() -> str:
        client = state.clients.client("rds", profile=profile)
        try:
            reply: dict[str, Any] = client.describe_global_clusters(
                GlobalClusterIdentifier=global_id
            )
        except Exception as exc:
            raise AwsAuthError(
                f"{plugin_code}: DescribeGlobalClusters for {global_id!r} failed "
                f"({type(exc).__name__}); set iam_region"
            ) from None
        for cluster in reply.get("GlobalClusters", []):
            if cluster.get("GlobalClusterIdentifier") != global_id:
                continue  # an API that ignores the filter must not pick another cluster
            for member in cluster.get("GlobalClusterMembers", []):
                if member.get("IsWriter"):
                    m = _RDS_ARN.match(str(member.get("DBClusterArn", "")))
                    if m is not None and m.group("region"):
                        return m.group("region")
        raise AwsAuthError(
            f"{plugin_code}: global cluster {global_id!r} has no writer member with a "
            "region; set iam_region"
        )

    region, _ = state.regions.get_or_create(
        ("global", global_id, profile), _GLOBAL_REGION_TTL_S, lookup
    )
    return region
