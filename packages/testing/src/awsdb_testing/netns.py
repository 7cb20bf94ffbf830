"""Root-only network-namespace fault mode: real kernel behaviour for partitions.

:class:`NetnsNetwork` creates one bridge in the root namespace (``10.231.X.1/24``) and, per
node, a network namespace joined to it by a veth pair (node *i* at ``10.231.X.(10+i)``).
Servers are started inside the namespaces (:meth:`NetnsNetwork.exec_prefix`); clients in the
root namespace reach them over the bridge, and replication between nodes crosses the bridge
too, so it can be partitioned. Faults:

- :meth:`~NetnsNetwork.link_down` / :meth:`~NetnsNetwork.link_up`: cut a node off entirely;
- :meth:`~NetnsNetwork.drop` / :meth:`~NetnsNetwork.reject`: nftables rules inside the
  node's namespace that silently drop, or answer with TCP RST, traffic from the client
  address (replication keeps flowing), or from everyone with ``client_only=False``;
- :meth:`~NetnsNetwork.heal`: links up, rules removed.

Everything is named from a random run id (interface names stay within 15 characters) and
removed by :meth:`~NetnsNetwork.destroy`. Needs root, ``ip netns`` and ``nft``;
:func:`netns_available` says whether the machine can run it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from typing import Self

__all__ = ["NetnsError", "NetnsNetwork", "netns_available"]

_SUBNET_FIRST = 231


class NetnsError(RuntimeError):
    """A namespace or nftables command failed."""


def _run(
    *cmd: str, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        list(cmd), input=stdin, capture_output=True, text=True, timeout=30, check=False
    )
    if check and res.returncode != 0:
        raise NetnsError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr.strip()}")
    return res


def netns_available(need_nft: bool = True) -> tuple[bool, str]:
    """``(True, "")`` if network namespaces can be created here, else ``(False, reason)``."""
    if os.geteuid() != 0:
        return False, "network-namespace mode needs root"
    if shutil.which("ip") is None:
        return False, "iproute2 ('ip') is not installed"
    if need_nft and shutil.which("nft") is None:
        return False, "nftables ('nft') is not installed (scripts/install-system-deps.sh)"
    probe = f"awdbprobe{secrets.token_hex(3)}"
    res = _run("ip", "netns", "add", probe, check=False)
    if res.returncode != 0:
        return False, f"'ip netns add' failed: {res.stderr.strip()}"
    _run("ip", "netns", "del", probe, check=False)
    return True, ""


class NetnsNetwork:
    """A bridge plus one namespace per node; see the module docstring."""

    def __init__(self, count: int, *, subnet_octet: int | None = None) -> None:
        if not 1 <= count <= 200:
            raise ValueError("count must be 1..200")
        self.count = count
        self.run_id = secrets.token_hex(3)
        self._octet = subnet_octet
        self.bridge = f"awb{self.run_id}"
        self._created: list[str] = []  # namespaces created
        self._links: list[str] = []  # root-side interfaces created
        self._tables: set[int] = set()
        self._up = False

    # ------------------------------------------------------------------ naming

    @property
    def subnet_prefix(self) -> str:
        """``10.231.X`` of this network."""
        if self._octet is None:
            raise RuntimeError("network not created")
        return f"10.{_SUBNET_FIRST}.{self._octet}"

    @property
    def client_ip(self) -> str:
        """The root namespace's address on the bridge (what the nodes see clients as)."""
        return f"{self.subnet_prefix}.1"

    def node_ip(self, index: int) -> str:
        """Address of node ``index`` (1-based)."""
        self._check(index)
        return f"{self.subnet_prefix}.{10 + index}"

    def namespace(self, index: int) -> str:
        """Name of node ``index``'s namespace."""
        self._check(index)
        return f"awdb-{self.run_id}-{index}"

    def veth(self, index: int) -> str:
        """Root-side veth of node ``index``."""
        self._check(index)
        return f"awv{self.run_id}n{index}"

    def exec_prefix(self, index: int) -> list[str]:
        """Command prefix that runs a program inside node ``index``'s namespace."""
        return ["ip", "netns", "exec", self.namespace(index)]

    # ------------------------------------------------------------------ lifecycle

    def create(self) -> Self:
        """Create bridge, namespaces and veth pairs; returns ``self``."""
        try:
            if self._octet is None:
                self._octet = self._free_octet()
            _run("ip", "link", "add", self.bridge, "type", "bridge")
            self._links.append(self.bridge)
            _run("ip", "addr", "add", f"{self.client_ip}/24", "dev", self.bridge)
            _run("ip", "link", "set", self.bridge, "up")
            for i in range(1, self.count + 1):
                ns, veth, peer = self.namespace(i), self.veth(i), f"awp{self.run_id}n{i}"
                _run("ip", "netns", "add", ns)
                self._created.append(ns)
                _run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
                _run("ip", "link", "add", veth, "type", "veth", "peer", "name", peer)
                self._links.append(veth)
                _run("ip", "link", "set", peer, "netns", ns)
                _run("ip", "netns", "exec", ns, "ip", "link", "set", peer, "name", "eth0")
                _run(
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "ip",
                    "addr",
                    "add",
                    f"{self.node_ip(i)}/24",
                    "dev",
                    "eth0",
                )
                _run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
                _run("ip", "link", "set", veth, "master", self.bridge)
                _run("ip", "link", "set", veth, "up")
            self._up = True
        except BaseException:
            self.destroy()
            raise
        return self

    def destroy(self) -> None:
        """Remove everything this network created (idempotent)."""
        for link in reversed(self._links):
            _run("ip", "link", "del", link, check=False)
        self._links.clear()
        for ns in reversed(self._created):
            _run("ip", "netns", "del", ns, check=False)
        self._created.clear()
        self._tables.clear()
        self._up = False

    def __enter__(self) -> Self:
        return self.create() if not self._up else self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def leftovers(self) -> list[str]:
        """Namespaces and interfaces of this run that still exist (for leak checks)."""
        out = []
        res = _run("ip", "netns", "list", check=False)
        out += [
            line.split()[0]
            for line in res.stdout.splitlines()
            if line.startswith(f"awdb-{self.run_id}-")
        ]
        res = _run("ip", "-o", "link", "show", check=False)
        for line in res.stdout.splitlines():
            parts = line.split(":")
            if len(parts) > 1:
                name = parts[1].strip().split("@")[0]
                if self.run_id in name:
                    out.append(name)
        return out

    # ------------------------------------------------------------------ faults

    def link_down(self, index: int) -> None:
        """Cut node ``index`` off from everyone (its veth goes down)."""
        _run("ip", "link", "set", self.veth(index), "down")

    def link_up(self, index: int) -> None:
        """Reconnect node ``index``."""
        _run("ip", "link", "set", self.veth(index), "up")

    def drop(self, index: int, *, port: int | None = None, client_only: bool = True) -> None:
        """Silently drop node ``index``'s traffic with the client (or everyone)."""
        self._filter(index, "drop", port=port, client_only=client_only)

    def reject(self, index: int, *, port: int | None = None, client_only: bool = True) -> None:
        """Answer node ``index``'s inbound client traffic with TCP RST."""
        self._filter(index, "reject with tcp reset", port=port, client_only=client_only)

    def heal(self, index: int | None = None) -> None:
        """Bring links up and delete the nft rules (of one node, or all)."""
        indices = [index] if index is not None else list(range(1, self.count + 1))
        for i in indices:
            self.link_up(i)
            if i in self._tables:
                _run(
                    *self.exec_prefix(i),
                    "nft",
                    "delete",
                    "table",
                    "inet",
                    self._table(i),
                    check=False,
                )
                self._tables.discard(i)

    def _filter(self, index: int, verdict: str, *, port: int | None, client_only: bool) -> None:
        if index in self._tables:
            _run(
                *self.exec_prefix(index),
                "nft",
                "delete",
                "table",
                "inet",
                self._table(index),
                check=False,
            )
            self._tables.discard(index)
        match_in = f"ip saddr {self.client_ip} " if client_only else "ip saddr != 127.0.0.0/8 "
        match_out = f"ip daddr {self.client_ip} " if client_only else "ip daddr != 127.0.0.0/8 "
        dport = f"tcp dport {port} " if port else "meta l4proto tcp "
        sport = f"tcp sport {port} " if port else "meta l4proto tcp "
        # drop: both directions; reject: inbound only (a reply already under way arrives)
        out_chain = (
            f"  chain out {{ type filter hook output priority 0; policy accept; "
            f"{match_out}{sport}drop; }}\n"
            if verdict == "drop"
            else ""
        )
        rules = (
            f"table inet {self._table(index)} {{\n"
            f"  chain in {{ type filter hook input priority 0; policy accept; "
            f"{match_in}{dport}{verdict}; }}\n"
            f"{out_chain}"
            "}\n"
        )
        _run(*self.exec_prefix(index), "nft", "-f", "-", stdin=rules)
        self._tables.add(index)

    def _table(self, index: int) -> str:
        return f"awdb{self.run_id}n{index}"

    def _check(self, index: int) -> None:
        if not 1 <= index <= self.count:
            raise ValueError(f"node index {index} outside 1..{self.count}")

    @staticmethod
    def _free_octet() -> int:
        """A third octet whose ``10.231.X.0/24`` is not in use on this machine."""
        res = _run("ip", "-4", "-o", "addr", "show", check=False)
        used = {
            int(tok.split(".")[2])
            for tok in res.stdout.split()
            if tok.startswith(f"10.{_SUBNET_FIRST}.") and tok.count(".") == 3
        }
        for _ in range(100):
            cand = secrets.randbelow(254) + 1
            if cand not in used:
                return cand
        raise NetnsError("no free 10.231.X.0/24 subnet")
