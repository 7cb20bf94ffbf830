"""A userspace TCP fault proxy: one listening address in front of one database server.

The proxy runs an asyncio event loop in its own daemon thread; tests drive it through a
synchronous API whose calls are marshalled into that loop. It needs no root and binds port 0
unless told otherwise. Faults:

- :meth:`FaultProxy.blackhole` stops forwarding in both directions and holds new connections
  without contacting the target; bytes queued meanwhile are delivered on :meth:`heal`, like
  TCP retransmission after a short partition;
- :meth:`FaultProxy.refuse` makes new connections fail with "connection refused" (the port
  stays reserved but stops listening); existing connections keep working;
- :meth:`FaultProxy.reset_all` sends RST on every open connection (``SO_LINGER`` 0);
- :meth:`FaultProxy.latency` delays every chunk in each direction by a fixed time;
- :meth:`FaultProxy.retarget` sends new connections to another server (an endpoint flip);
- :meth:`FaultProxy.heal` clears blackhole, refuse and latency; :meth:`FaultProxy.stop`
  closes everything.

An optional per-connection *upstream filter* (client → server bytes) lets a protocol-aware
layer rewrite traffic; the MariaDB cluster's query rewriter is one.

Realism limit: the client's kernel talks to the proxy's kernel, which keeps ACKing, so TCP
keepalives and ``tcp_user_timeout`` never fire during a blackhole; use the network-namespace
mode (:mod:`awsdb_testing.netns`) for kernel-level timeout tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import struct
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

__all__ = ["FaultProxy", "ProxyStats", "StreamFilter", "start_proxy_group"]

_T = TypeVar("_T")
_CHUNK = 65536
_QUEUE_DEPTH = 64
_CONTROL_TIMEOUT = 10.0


class StreamFilter(Protocol):
    """Per-connection transformation of the client → server byte stream."""

    def feed(self, data: bytes) -> bytes:
        """Consume ``data`` (any split of the stream) and return the bytes to forward now."""
        ...


@dataclass(frozen=True)
class ProxyStats:
    """Counters of one proxy (a snapshot)."""

    accepted: int
    active: int
    upstream_failures: int
    bytes_up: int
    bytes_down: int


class _Conn:
    """One proxied connection: the client socket and the upstream socket."""

    def __init__(self, client: socket.socket) -> None:
        self.client = client
        self.upstream: socket.socket | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = False

    def sockets(self) -> list[socket.socket]:
        return [s for s in (self.client, self.upstream) if s is not None]


def _set_linger_zero(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _close_sock(sock: socket.socket, *, reset: bool) -> None:
    """Close ``sock`` from inside the loop, unregistering it first.

    Removing the reader/writer before closing keeps a pending ``sock_recv``'s cleanup from
    unregistering a new socket that reuses the same file descriptor number.
    """
    fd = sock.fileno()
    if fd < 0:
        return
    loop = asyncio.get_running_loop()
    loop.remove_reader(fd)
    loop.remove_writer(fd)
    if reset:
        _set_linger_zero(sock)
    sock.close()


class FaultProxy:
    """A TCP proxy with injectable faults, controlled synchronously from any thread.

    ``target`` is the ``(host, port)`` new connections are forwarded to; ``listen`` is the
    ``(host, port)`` to bind (port 0 = the kernel picks; read :attr:`address`).
    ``filter_factory`` makes one :class:`StreamFilter` per connection for upstream bytes.
    Call :meth:`start` (or use it as a context manager) before connecting to it.
    """

    def __init__(
        self,
        target: tuple[str, int],
        listen: tuple[str, int] = ("127.0.0.1", 0),
        *,
        filter_factory: Callable[[], StreamFilter] | None = None,
        name: str = "proxy",
        connect_timeout: float = 5.0,
    ) -> None:
        self._target = target
        self._listen = listen
        self._filter_factory = filter_factory
        self._name = name
        self._connect_timeout = connect_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lsock: socket.socket | None = None
        self._accept_task: asyncio.Task[None] | None = None
        self._address: tuple[str, int] | None = None
        self._conns: set[_Conn] = set()
        # loop-owned state (only touched inside the loop thread)
        self._flowing: asyncio.Event | None = None
        self._latency = 0.0
        self._refusing = False
        self._accepted = 0
        self._upstream_failures = 0
        self._bytes_up = 0
        self._bytes_down = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Bind the listening socket and start the event-loop thread; returns ``self``.

        Raises ``OSError`` (for example ``EADDRINUSE``) when the address cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError("proxy already started")
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsock.bind(self._listen)
            lsock.listen(128)
            lsock.setblocking(False)
        except OSError:
            lsock.close()
            raise
        self._lsock = lsock
        host, port = lsock.getsockname()[:2]
        self._address = (str(host), int(port))
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._flowing = asyncio.Event()
            self._flowing.set()
            self._accept_task = loop.create_task(self._accept_loop(lsock))
            loop.call_soon(ready.set)
            loop.run_forever()
            # drain: cancel what is left and close the loop
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(
            target=run, name=f"awsdb-{self._name}-{self._address[1]}", daemon=True
        )
        self._thread.start()
        ready.wait(_CONTROL_TIMEOUT)
        return self

    def stop(self) -> None:
        """Close the listener and every connection (RST), then end the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive():
            with contextlib.suppress(RuntimeError, TimeoutError):
                self._call(self._shutdown())
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_CONTROL_TIMEOUT)
        self._loop = None
        self._thread = None

    def __enter__(self) -> Self:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ properties

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` clients connect to."""
        if self._address is None:
            raise RuntimeError("proxy not started")
        return self._address

    @property
    def host(self) -> str:
        """The listening host."""
        return self.address[0]

    @property
    def port(self) -> int:
        """The listening port."""
        return self.address[1]

    @property
    def target(self) -> tuple[str, int]:
        """Where new connections are forwarded to."""
        return self._target

    def stats(self) -> ProxyStats:
        """Connection and byte counters."""
        return ProxyStats(
            accepted=self._accepted,
            active=len(self._conns),
            upstream_failures=self._upstream_failures,
            bytes_up=self._bytes_up,
            bytes_down=self._bytes_down,
        )

    # ------------------------------------------------------------------ faults

    def blackhole(self) -> None:
        """Stop forwarding both ways; hold new connections without contacting the target."""
        self._call(self._set_flowing(False))

    def refuse(self) -> None:
        """New connections get "connection refused"; open connections keep working."""
        self._call(self._set_refusing(True))

    def reset_all(self) -> int:
        """Send RST on every open connection (both sides); returns how many were reset."""
        return self._call(self._reset_all())

    def latency(self, seconds: float) -> None:
        """Delay every forwarded chunk by ``seconds`` in each direction (0 = none)."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        self._call(self._set_latency(seconds))

    def retarget(self, target: tuple[str, int]) -> None:
        """Forward *new* connections to ``target``; open connections stay where they are."""
        self._target = target

    def heal(self) -> None:
        """Clear blackhole, refuse and latency: queued bytes flow, new connections are served."""
        self._call(self._heal())

    # ------------------------------------------------------------------ loop side

    def _call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("proxy not started")
        fut = asyncio.run_coroutine_threadsafe(coro, loop)
        return fut.result(_CONTROL_TIMEOUT)

    async def _set_flowing(self, flowing: bool) -> None:
        assert self._flowing is not None
        if flowing:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _set_latency(self, seconds: float) -> None:
        self._latency = seconds

    async def _set_refusing(self, refusing: bool) -> None:
        if refusing == self._refusing:
            return
        self._refusing = refusing
        old = self._lsock
        assert old is not None and self._address is not None
        if self._accept_task is not None:
            self._accept_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accept_task
            self._accept_task = None
        if refusing:
            # a bound socket that does not listen answers SYNs with RST (ECONNREFUSED) and
            # keeps the port reserved for heal()
            _close_sock(old, reset=True)
            held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            held.bind(self._address)
            held.setblocking(False)
            self._lsock = held
        else:
            old.listen(128)
            self._accept_task = asyncio.get_running_loop().create_task(self._accept_loop(old))

    async def _heal(self) -> None:
        await self._set_refusing(False)
        self._latency = 0.0
        await self._set_flowing(True)

    async def _reset_all(self) -> int:
        conns = list(self._conns)
        for conn in conns:
            self._abort(conn)
        return len(conns)

    async def _shutdown(self) -> None:
        if self._accept_task is not None:
            self._accept_task.cancel()
            self._accept_task = None
        if self._lsock is not None:
            _close_sock(self._lsock, reset=True)
        for conn in list(self._conns):
            self._abort(conn)

    def _abort(self, conn: _Conn) -> None:
        """RST both sockets of ``conn`` and cancel its pumps."""
        if conn.closed:
            return
        conn.closed = True
        self._conns.discard(conn)
        current = asyncio.current_task()
        for task in conn.tasks:
            if task is not current:
                task.cancel()
        for sock in conn.sockets():
            _close_sock(sock, reset=True)

    def _close(self, conn: _Conn) -> None:
        """Close ``conn`` normally (FIN)."""
        if conn.closed:
            return
        conn.closed = True
        self._conns.discard(conn)
        for sock in conn.sockets():
            _close_sock(sock, reset=False)

    async def _accept_loop(self, lsock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                client, _ = await loop.sock_accept(lsock)
            except asyncio.CancelledError:
                raise
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    await asyncio.sleep(0.05)
                    continue
                return  # listener closed
            client.setblocking(False)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._accepted += 1
            conn = _Conn(client)
            self._conns.add(conn)
            task = loop.create_task(self._serve(conn))
            conn.tasks.append(task)

    async def _serve(self, conn: _Conn) -> None:
        loop = asyncio.get_running_loop()
        assert self._flowing is not None
        try:
            await self._flowing.wait()  # a blackhole holds new connections here
            target = self._target
            upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            conn.upstream = upstream
            upstream.setblocking(False)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await asyncio.wait_for(loop.sock_connect(upstream, target), self._connect_timeout)
        except asyncio.CancelledError:
            return
        except (OSError, TimeoutError):
            self._upstream_failures += 1
            self._abort(conn)
            return
        flt = self._filter_factory() if self._filter_factory is not None else None
        up = loop.create_task(self._pump(conn, conn.client, upstream, flt, upstream=True))
        down = loop.create_task(self._pump(conn, upstream, conn.client, None, upstream=False))
        conn.tasks += [up, down]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(up, down)
        self._close(conn)

    async def _pump(
        self,
        conn: _Conn,
        src: socket.socket,
        dst: socket.socket,
        flt: StreamFilter | None,
        *,
        upstream: bool,
    ) -> None:
        """Copy ``src`` → ``dst`` through a delay line that honours latency and blackhole."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(_QUEUE_DEPTH)
        writer = loop.create_task(self._deliver(conn, queue, dst, upstream=upstream))
        conn.tasks.append(writer)
        try:
            while True:
                try:
                    data = await loop.sock_recv(src, _CHUNK)
                except OSError:
                    self._abort(conn)  # a reset on one side is a reset on the other
                    return
                if not data:
                    await queue.put(None)
                    break
                if flt is not None:
                    data = flt.feed(data)
                    if not data:
                        continue
                await queue.put((time.monotonic(), data))
            await writer
        except asyncio.CancelledError:
            writer.cancel()
            raise

    async def _deliver(
        self,
        conn: _Conn,
        queue: asyncio.Queue[tuple[float, bytes] | None],
        dst: socket.socket,
        *,
        upstream: bool,
    ) -> None:
        loop = asyncio.get_running_loop()
        assert self._flowing is not None
        while True:
            item = await queue.get()
            await self._flowing.wait()
            if item is None:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
                return
            stamp, data = item
            delay = stamp + self._latency - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                await self._flowing.wait()
            try:
                await loop.sock_sendall(dst, data)
            except OSError:
                self._abort(conn)
                return
            if upstream:
                self._bytes_up += len(data)
            else:
                self._bytes_down += len(data)


def start_proxy_group(
    targets: list[tuple[str, int]],
    hosts: list[str],
    *,
    filter_factory: Callable[[], StreamFilter] | None = None,
    name: str = "proxy",
    attempts: int = 20,
) -> list[FaultProxy]:
    """Start one proxy per target, proxy *i* on ``hosts[i]``, all sharing one port.

    The first proxy binds port 0; the others bind the same port on their own address. On
    "address already in use" the whole group is retried on a new port.
    """
    if len(targets) != len(hosts):
        raise ValueError("one listening host per target")
    last: OSError | None = None
    for _ in range(attempts):
        started: list[FaultProxy] = []
        try:
            port = 0
            for target, host in zip(targets, hosts, strict=True):
                proxy = FaultProxy(
                    target, (host, port), filter_factory=filter_factory, name=name
                ).start()
                started.append(proxy)
                port = proxy.port
            return started
        except OSError as exc:
            last = exc
            for proxy in started:
                proxy.stop()
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, f"no common free port for {hosts}") from last
