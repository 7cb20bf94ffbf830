"""Which connections belong to which cluster, so host events reach all of them."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from awsdb._plugin_service import PluginService
    from awsdb.plugin import HostChange

__all__ = ["ClusterMembers"]

_log = logging.getLogger("awsdb")


class ClusterMembers:
    """cluster id → the open connections (plugin services) of that cluster. Thread-safe.

    Services are held weakly: a connection that is dropped without ``close()`` leaves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[str, weakref.WeakSet[PluginService]] = {}

    def join(self, cluster_id: str, service: PluginService) -> None:
        """Add ``service`` to ``cluster_id``."""
        with self._lock:
            self._members.setdefault(cluster_id, weakref.WeakSet()).add(service)

    def leave(self, cluster_id: str, service: PluginService) -> None:
        """Remove ``service`` from ``cluster_id`` (absent: no error)."""
        with self._lock:
            members = self._members.get(cluster_id)
            if members is not None:
                members.discard(service)
                if not members:
                    del self._members[cluster_id]

    def members(self, cluster_id: str) -> list[PluginService]:
        """The connections of ``cluster_id`` now."""
        with self._lock:
            members = self._members.get(cluster_id)
            return list(members) if members is not None else []

    def cluster_ids(self) -> list[str]:
        """Every cluster id with at least one connection."""
        with self._lock:
            return [c for c, m in self._members.items() if m]

    def notify(self, cluster_id: str, changes: Mapping[str, frozenset[HostChange]]) -> int:
        """Deliver ``changes`` to every connection of ``cluster_id``; returns how many.

        A plugin raising does not stop delivery to the other connections (it is logged).
        """
        if not changes:
            return 0
        delivered = 0
        for service in self.members(cluster_id):
            try:
                service.notify_host_list_changed(changes)
                delivered += 1
            except Exception:
                _log.exception("a plugin failed to handle host changes of %s", cluster_id)
        return delivered
