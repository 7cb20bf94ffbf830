"""Aurora-shaped host names for local clusters, mapped to loopback IPs by the resolver."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

__all__ = ["ClusterNames", "random_cluster_hash"]

_ALNUM = string.ascii_lowercase + string.digits


def random_cluster_hash(length: int = 12) -> str:
    """A per-run cluster identifier hash (lowercase alphanumerics, starts with a letter)."""
    return secrets.choice(string.ascii_lowercase) + "".join(
        secrets.choice(_ALNUM) for _ in range(length - 1)
    )


@dataclass(frozen=True)
class ClusterNames:
    """Builds the RDS host names of one cluster.

    ``instance-2.<hash>.us-east-1.rds.amazonaws.com`` (instance),
    ``<name>.cluster-<hash>...`` (writer endpoint) and ``<name>.cluster-ro-<hash>...``
    (reader endpoint). ``suffix`` is appended to cluster and instance names (blue/green
    green side: ``-green-abc123``).
    """

    name: str
    cluster_hash: str
    region: str = "us-east-1"
    suffix: str = ""

    @property
    def domain(self) -> str:
        """``<hash>.<region>.rds.amazonaws.com``."""
        return f"{self.cluster_hash}.{self.region}.rds.amazonaws.com"

    def instance(self, instance_id: str) -> str:
        """Host name of an instance id (ids already carry the suffix)."""
        return f"{instance_id}.{self.domain}"

    @property
    def writer_endpoint(self) -> str:
        """The cluster (writer) endpoint."""
        return f"{self.name}{self.suffix}.cluster-{self.domain}"

    @property
    def reader_endpoint(self) -> str:
        """The cluster reader endpoint."""
        return f"{self.name}{self.suffix}.cluster-ro-{self.domain}"

    @property
    def instance_host_pattern(self) -> str:
        """The ``cluster_instance_host_pattern`` that maps instance ids to names."""
        return f"?.{self.domain}"
