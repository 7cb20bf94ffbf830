"""Host-list providers: where the list of a connection's candidate hosts comes from.

:class:`HostListProvider` is the seam: the core asks the provider created for a connection
(through the ``init_host_provider`` hook, where a topology plugin installs its own provider)
for the current hosts, to refresh them, to identify which host a connection landed on and for
the ``cluster_id`` that keys shared state. :class:`StaticHostListProvider` serves the host
list of the connection string and is the default when no plugin provides another.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from awsdb.errors import ProgrammingError
from awsdb.hosts import HostAvailabilityRegistry, HostInfo, HostRole
from awsdb.properties import split_host_list
from awsdb.rds import cluster_id_for

if TYPE_CHECKING:
    from awsdb.dialects import AuxQuery, DatabaseDialect

__all__ = ["ConnectionHosts", "HostListProvider", "StaticHostListProvider", "parse_host_list"]


class ConnectionHosts(Protocol):
    """What the static provider reads from connection properties."""

    def hosts(self) -> list[tuple[str, int | None]]:
        """The ``(host, port)`` pairs of the connection string."""
        ...

    def get(self, name: str, /) -> object:
        """A property value (``cluster_id``), or its default."""
        ...


@runtime_checkable
class HostListProvider(Protocol):
    """Supplies the candidate hosts of one logical connection's cluster."""

    def refresh(self, force: bool = False) -> list[HostInfo]:
        """The host list, re-read if stale (or always with ``force``)."""
        ...

    def current(self) -> list[HostInfo]:
        """The host list as last read, without I/O."""
        ...

    def identify(self, query: AuxQuery) -> HostInfo | None:
        """The host a connection is on (``query`` runs on that connection), if known."""
        ...

    def cluster_id(self) -> str:
        """The key of this cluster's shared state (topology cache, monitors)."""
        ...


def parse_host_list(
    hosts: str, ports: str | int | Sequence[int | str] | None, default_port: int | None
) -> list[tuple[str, int | None]]:
    """Split a libpq-style host list (``"a,b,c"``) and port list (one port for all, or one
    per host) into ``(host, port)`` pairs. Empty ports take ``default_port``.

    The same parser as :meth:`awsdb.properties.Properties.hosts`: an empty host entry
    (``"a,,b"``) or a bad port is a :class:`~awsdb.errors.ProgrammingError`.
    """
    return split_host_list(hosts, ports, default_port)


class StaticHostListProvider:
    """The hosts of the connection string, as given.

    With several hosts the first is the writer and the others are readers; a single host is
    the writer. ``cluster_id`` is the ``cluster_id`` property when given, otherwise derived
    from the first host (:func:`awsdb.rds.cluster_id_for`). With an availability registry,
    the lists returned carry the recorded availability of each host.
    """

    def __init__(
        self,
        source: Sequence[HostInfo] | ConnectionHosts,
        *,
        default_port: int | None = None,
        cluster_id: str | None = None,
        dialect: DatabaseDialect | None = None,
        availability: HostAvailabilityRegistry | None = None,
    ) -> None:
        """``source`` is a list of hosts, or connection properties (``awsdb.properties.
        Properties``) whose ``hosts()`` gives the ``(host, port)`` pairs of the connection
        string and whose ``cluster_id`` property, when set, names the cluster. Ports left
        unset take ``default_port`` (else the dialect's default port)."""
        if default_port is None and dialect is not None:
            default_port = dialect.default_port
        if isinstance(source, Sequence):
            hosts = [h if h.port is not None else h.replace(port=default_port) for h in source]
        else:
            hosts = [HostInfo(h, p if p is not None else default_port) for h, p in source.hosts()]
            if cluster_id is None:
                configured = source.get("cluster_id")
                cluster_id = str(configured) if configured else None
        if not hosts:
            raise ProgrammingError("a static host list needs at least one host (property 'host')")
        roles = [HostRole.WRITER] + [HostRole.READER] * (len(hosts) - 1)
        self._hosts = tuple(
            h if h.role is role else h.replace(role=role)
            for h, role in zip(hosts, roles, strict=True)
        )
        first = self._hosts[0]
        self._cluster_id = cluster_id or cluster_id_for(first.host, first.port)
        self._dialect = dialect
        self._availability = availability

    @classmethod
    def from_connection_string(
        cls,
        host: str,
        port: str | int | Sequence[int | str] | None = None,
        *,
        default_port: int | None = None,
        cluster_id: str | None = None,
        dialect: DatabaseDialect | None = None,
        availability: HostAvailabilityRegistry | None = None,
    ) -> StaticHostListProvider:
        """Build from the ``host`` / ``port`` values of a connection string (libpq lists)."""
        pairs = parse_host_list(host, port, default_port)
        return cls(
            [HostInfo(h, p) for h, p in pairs],
            default_port=default_port,
            cluster_id=cluster_id,
            dialect=dialect,
            availability=availability,
        )

    def _with_availability(self) -> list[HostInfo]:
        if self._availability is None:
            return list(self._hosts)
        return self._availability.apply(self._hosts)

    def refresh(self, force: bool = False) -> list[HostInfo]:
        """The configured hosts (nothing to re-read), with recorded availability."""
        return self._with_availability()

    def current(self) -> list[HostInfo]:
        """The configured hosts, with recorded availability."""
        return self._with_availability()

    def identify(self, query: AuxQuery) -> HostInfo | None:
        """The configured host the connection is on.

        Asks the dialect for the server's ``host:port`` alias and matches it against the
        hosts' names, urls and aliases; with one host and no match that host is returned
        (with the alias recorded). ``None`` when several hosts are configured and none
        matches, or without a dialect and several hosts.
        """
        alias = self._dialect.host_alias(query) if self._dialect is not None else None
        if alias is not None:
            for h in self._hosts:
                if h.matches(alias):
                    return h
        if len(self._hosts) == 1:
            only = self._hosts[0]
            return only.with_alias(alias) if alias else only
        return None

    def cluster_id(self) -> str:
        """The configured or derived cluster id."""
        return self._cluster_id
