"""Binding of the engine's fixed RPC paths to our packaged protobuf messages.

The engine's services have no package (``/QueryEngineService/<rpc>``, ``/ClusterService/<rpc>``)
while our messages live in ``awsdb_e6data.wire``; the RPC table is read from the service
declarations of our ``.proto`` files and bound by hand. Every call has a deadline and every
failure is translated once into the exception tree (:mod:`awsdb_e6data.errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from ._generated import e6data_cluster_pb2 as cluster_pb2
from ._generated import e6data_engine_pb2 as engine_pb2
from .errors import InterfaceError, translate_rpc_error

__all__ = ["CLUSTER_SERVICE", "ENGINE_SERVICE", "PendingCall", "RpcClient", "RpcSpec", "rpc_table"]

ENGINE_SERVICE = "QueryEngineService"
CLUSTER_SERVICE = "ClusterService"


@dataclass(frozen=True, slots=True)
class RpcSpec:
    """One RPC: the wire path and the message classes of its request and response."""

    service: str
    name: str
    request: Any
    response: Any

    @property
    def path(self) -> str:
        """The HTTP/2 path, e.g. ``/QueryEngineService/authenticate``."""
        return f"/{self.service}/{self.name}"


def rpc_table(service: str) -> dict[str, RpcSpec]:
    """Every RPC of ``service`` (``QueryEngineService`` or ``ClusterService``)."""
    module: Any = engine_pb2 if service == ENGINE_SERVICE else cluster_pb2
    desc = module.DESCRIPTOR.services_by_name[service]
    return {
        m.name: RpcSpec(
            service, m.name, getattr(module, m.input_type.name), getattr(module, m.output_type.name)
        )
        for m in desc.methods
    }


class RpcClient:
    """Unary callables for one channel, created on first use per RPC."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._channel = channel
        self._engine = rpc_table(ENGINE_SERVICE)
        self._cluster = rpc_table(CLUSTER_SERVICE)
        self._callables: dict[tuple[str, str], Callable[..., Any]] = {}

    def call(
        self,
        name: str,
        request: Any,
        *,
        timeout: float,
        metadata: Sequence[tuple[str, str]] = (),
        service: str = ENGINE_SERVICE,
    ) -> Any:
        """Invoke an RPC with a deadline; raise a translated :class:`~.errors.Error`."""
        fn = self._callable(name, service)
        try:
            return fn(request, timeout=timeout, metadata=tuple(metadata))
        except grpc.RpcError as exc:
            raise translate_rpc_error(exc, name) from exc
        except ValueError as exc:  # e.g. "Cannot invoke RPC on closed channel!"
            raise InterfaceError(f"{name}: {exc}", rpc=name) from exc

    def start(
        self,
        name: str,
        request: Any,
        *,
        timeout: float,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> PendingCall:
        """Send an RPC without waiting (the reply is awaited with ``.result()``)."""
        fn = self._callable(name, ENGINE_SERVICE)
        try:
            future = fn.future(request, timeout=timeout, metadata=tuple(metadata))
        except ValueError as exc:
            raise InterfaceError(f"{name}: {exc}", rpc=name) from exc
        return PendingCall(name, future)

    def _callable(self, name: str, service: str) -> Any:
        key = (service, name)
        fn = self._callables.get(key)
        if fn is None:
            spec = (self._engine if service == ENGINE_SERVICE else self._cluster)[name]
            fn = self._channel.unary_unary(
                spec.path,
                request_serializer=spec.request.SerializeToString,
                response_deserializer=spec.response.FromString,
            )
            self._callables[key] = fn
        return fn


class PendingCall:
    """An RPC in flight (used to prefetch the next result batch)."""

    def __init__(self, name: str, future: Any) -> None:
        self._name = name
        self._future = future

    def result(self) -> Any:
        """Wait for the reply; raise a translated :class:`~.errors.Error`."""
        try:
            return self._future.result()
        except grpc.RpcError as exc:
            raise translate_rpc_error(exc, self._name) from exc
        except grpc.FutureCancelledError as exc:
            raise InterfaceError(f"{self._name}: call abandoned", rpc=self._name) from exc

    def cancel(self) -> None:
        """Abandon the call."""
        self._future.cancel()
