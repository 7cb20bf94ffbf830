"""TCP fault proxies in front of a PostgreSQL cluster's nodes and endpoints (no root needed).

:class:`PgProxies` starts one :class:`~awsdb_testing.proxy.FaultProxy` per node, each on
its own loopback address (``127.0.0.41``, ``.42`` ... by default) and all on one port that
is probe-bound at start (the group is retried on another port when an address is taken).
Optionally two more proxies stand for the cluster endpoints: the *writer endpoint proxy*
forwards new connections to the current writer endpoint target and the *reader endpoint
proxy* to a reader; the controller retargets both when it flips the endpoints (failover,
rejoin, restore), late by the cluster's ``stale_dns_s`` like a DNS TTL. Endpoint proxies
forward through the node proxies, so a fault injected on a node also hits clients that
reach it through an endpoint.

:meth:`PgProxies.install_names` publishes the Aurora-shaped names in awsdb's process
resolver mapped to the *proxy* addresses, so that awsdb under test connects only through
the proxies (the cluster's own direct names are removed while they are installed).
Replication and the controller never cross the proxies.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from awsdb_testing.model import NodeInfo
from awsdb_testing.proxy import FaultProxy, start_proxy_group

if TYPE_CHECKING:
    from awsdb_testing.pg.cluster import PgCluster

__all__ = ["PgProxies", "pg_proxies"]

DEFAULT_PROXY_FIRST_OCTET = 41


class PgProxies:
    """Per-node (and optional endpoint) fault proxies of a :class:`PgCluster`.

    ``first_octet``: node *i*'s proxy listens on ``127.0.0.<first_octet + i - 1>``; the
    writer and reader endpoint proxies (``endpoints=True``) take the next two addresses.
    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        cluster: PgCluster,
        *,
        first_octet: int = DEFAULT_PROXY_FIRST_OCTET,
        endpoints: bool = True,
    ) -> None:
        count = len(cluster.nodes) + (2 if endpoints else 0)
        if first_octet < 1 or first_octet + count - 1 > 254:
            raise ValueError(f"invalid proxy address block starting at 127.0.0.{first_octet}")
        self.cluster = cluster
        self._first_octet = first_octet
        self._endpoints = endpoints
        self._lock = threading.RLock()
        self._node_proxies: dict[str, FaultProxy] = {}
        self._writer_proxy: FaultProxy | None = None
        self._reader_proxy: FaultProxy | None = None
        self._installed: dict[str, str] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> PgProxies:
        """Start the proxies on one shared port and follow the cluster's endpoint flips."""
        if self._node_proxies:
            raise RuntimeError("proxies already started")
        nodes = self.cluster.nodes
        targets = [(n.host, n.port) for n in nodes]
        hosts = [f"127.0.0.{self._first_octet + i}" for i in range(len(nodes))]
        if self._endpoints:
            # placeholders: retargeted at the node proxies right below
            targets += [targets[0], targets[0]]
            hosts += [f"127.0.0.{self._first_octet + len(nodes) + i}" for i in range(2)]
        proxies = start_proxy_group(targets, hosts, name="pgproxy")
        self._node_proxies = {
            n.instance_id: p for n, p in zip(nodes, proxies[: len(nodes)], strict=True)
        }
        if self._endpoints:
            self._writer_proxy, self._reader_proxy = proxies[len(nodes) :]
        self._follow()
        self.cluster.add_endpoint_listener(self._follow)
        return self

    def stop(self) -> None:
        """Remove the names, stop following the cluster and close every proxy (RST)."""
        self.cluster.remove_endpoint_listener(self._follow)
        self.uninstall_names()
        with self._lock:
            proxies = self.all_proxies()
            self._node_proxies = {}
            self._writer_proxy = self._reader_proxy = None
        for proxy in proxies:
            proxy.stop()

    def __enter__(self) -> PgProxies:
        if not self._node_proxies:
            try:
                self.start()
            except BaseException:
                self.stop()
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ access

    def proxy(self, node: NodeInfo | str | int) -> FaultProxy:
        """The proxy in front of ``node`` (instance id, host name, index or ``NodeInfo``)."""
        instance_id = self.cluster.node(node).instance_id
        try:
            return self._node_proxies[instance_id]
        except KeyError:
            raise RuntimeError("proxies not started") from None

    @property
    def proxies(self) -> list[FaultProxy]:
        """The node proxies, in node order."""
        return [self._node_proxies[n.instance_id] for n in self.cluster.nodes]

    @property
    def writer_proxy(self) -> FaultProxy:
        """The writer endpoint proxy (``endpoints=True`` only)."""
        if self._writer_proxy is None:
            raise RuntimeError("no endpoint proxies (endpoints=False or not started)")
        return self._writer_proxy

    @property
    def reader_proxy(self) -> FaultProxy:
        """The reader endpoint proxy (``endpoints=True`` only)."""
        if self._reader_proxy is None:
            raise RuntimeError("no endpoint proxies (endpoints=False or not started)")
        return self._reader_proxy

    def all_proxies(self) -> list[FaultProxy]:
        """Node proxies, then the endpoint proxies if any."""
        out = list(self._node_proxies.values())
        out += [p for p in (self._writer_proxy, self._reader_proxy) if p is not None]
        return out

    @property
    def port(self) -> int:
        """The port every proxy (and so every published name) listens on."""
        return self.proxies[0].port

    def conninfo_kwargs(self, node: NodeInfo | str | int) -> dict[str, Any]:
        """psycopg keyword arguments for the ``app`` role through ``node``'s proxy."""
        host, port = self.proxy(node).address
        return {"host": host, "port": port, "user": "app", "dbname": "app"}

    def endpoint_conninfo_kwargs(self, which: str = "writer") -> dict[str, Any]:
        """psycopg keyword arguments for ``app`` through the writer or reader endpoint proxy."""
        proxy = self.writer_proxy if which == "writer" else self.reader_proxy
        host, port = proxy.address
        return {"host": host, "port": port, "user": "app", "dbname": "app"}

    def heal_all(self) -> None:
        """Clear every fault on every proxy (blackhole, refuse, latency)."""
        for proxy in self.all_proxies():
            proxy.heal()

    # ------------------------------------------------------------------ names

    def host_map(self) -> dict[str, str]:
        """Aurora-shaped names → proxy addresses (endpoints → the endpoint proxies).

        Without endpoint proxies the endpoint names map to the proxy of the node the
        cluster's endpoint currently points at.
        """
        names = self.cluster.names
        with self._lock:
            mapping = {names.instance(iid): p.host for iid, p in self._node_proxies.items()}
            if self._writer_proxy is not None and self._reader_proxy is not None:
                mapping[names.writer_endpoint] = self._writer_proxy.host
                mapping[names.reader_endpoint] = self._reader_proxy.host
            else:
                writer_id, reader_id = self.cluster.endpoint_targets()
                mapping[names.writer_endpoint] = self._node_proxies[writer_id].host
                mapping[names.reader_endpoint] = self._node_proxies[reader_id].host
        return mapping

    def install_names(self) -> dict[str, str]:
        """Publish :meth:`host_map` in the process resolver (replacing the cluster's names)."""
        from awsdb.resolver import get_resolver

        self.cluster.uninstall_names()
        with self._lock:
            mapping = self.host_map()
            get_resolver().update(mapping)
            self._installed = mapping
        return mapping

    def uninstall_names(self) -> None:
        """Remove the names :meth:`install_names` published."""
        from awsdb.resolver import get_resolver

        with self._lock:
            for name in self._installed:
                get_resolver().remove(name)
            self._installed = {}

    @contextlib.contextmanager
    def names_installed(self) -> Iterator[dict[str, str]]:
        """Context manager around :meth:`install_names` / :meth:`uninstall_names`."""
        mapping = self.install_names()
        try:
            yield mapping
        finally:
            self.uninstall_names()

    # ------------------------------------------------------------------ internals

    def _follow(self) -> None:
        """Retarget the endpoint proxies at the cluster's endpoint targets (a DNS flip)."""
        from awsdb.resolver import get_resolver

        with self._lock:
            if not self._node_proxies:
                return
            writer_id, reader_id = self.cluster.endpoint_targets()
            if self._writer_proxy is not None and self._reader_proxy is not None:
                self._writer_proxy.retarget(self._node_proxies[writer_id].address)
                self._reader_proxy.retarget(self._node_proxies[reader_id].address)
            if self._installed:
                mapping = self.host_map()
                get_resolver().update(mapping)
                self._installed = mapping


@contextlib.contextmanager
def pg_proxies(
    cluster: PgCluster,
    *,
    first_octet: int = DEFAULT_PROXY_FIRST_OCTET,
    endpoints: bool = True,
    install_names: bool = True,
) -> Iterator[PgProxies]:
    """Started :class:`PgProxies` (names published unless ``install_names=False``).

    Everything is stopped and the names are removed afterwards, even when the body fails.
    """
    with PgProxies(cluster, first_octet=first_octet, endpoints=endpoints) as proxies:
        if install_names:
            proxies.install_names()
        yield proxies
