"""gRPC handlers of the test engine for ``QueryEngineService`` and ``ClusterService``."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import duckdb
import grpc

from .._generated import e6data_cluster_pb2 as cpb
from .._generated import e6data_engine_pb2 as pb
from .._rpc import CLUSTER_SERVICE, ENGINE_SERVICE, rpc_table
from ._chunk_writer import encode_chunk
from ._control import CallRecord, EngineControl
from ._duck import Database, RunningQuery

__all__ = ["EngineService"]

_ENGINE_IP = "127.0.0.1"
_QUERY_RPCS = {
    "executeStatement",
    "executeStatementV2",
    "getResultMetadata",
    "getNextResultBatch",
    "getNextResultBatchV2",
    "status",
    "explainAnalyze",
    "explain",
}


def _stall(seconds: float, context: grpc.ServicerContext, released: Callable[[], bool]) -> bool:
    """A stuck handler: sleep ``seconds``, but stop once the client abandoned the call
    (returns True then) or once ``released()`` (the delay was removed)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if not context.is_active():
            return True
        if released():
            return False
        time.sleep(min(left, 0.05))
    return not context.is_active()


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class EngineService:
    """State and handlers: sessions, queries, blue/green and suspend/resume behaviour."""

    def __init__(self, db: Database, control: EngineControl) -> None:
        self.db = db
        self.control = control
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[str, str | None]] = {}
        self._queries: dict[str, RunningQuery] = {}

    # --- registration -------------------------------------------------------------------

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        """Generic handlers bound to the package-less service names."""
        out = []
        for service in (ENGINE_SERVICE, CLUSTER_SERVICE):
            methods = {}
            for name, spec in rpc_table(service).items():
                impl = getattr(
                    self, f"_{'cluster' if service == CLUSTER_SERVICE else 'rpc'}_{name}", None
                )
                if impl is None:
                    continue  # unused RPCs: grpc answers UNIMPLEMENTED
                methods[name] = grpc.unary_unary_rpc_method_handler(
                    self._wrap(service, name, impl),
                    request_deserializer=spec.request.FromString,
                    response_serializer=spec.response.SerializeToString,
                )
            out.append(grpc.method_handlers_generic_handler(service, methods))
        return out

    def _wrap(
        self, service: str, name: str, impl: Callable[[Any, dict[str, str]], Any]
    ) -> Callable[[Any, grpc.ServicerContext], Any]:
        def handler(request: Any, context: grpc.ServicerContext) -> Any:
            headers = {k: str(v) for k, v in context.invocation_metadata()}
            headers.pop("authorization", None)
            ctl = self.control
            ctl.record(
                CallRecord(
                    service,
                    name,
                    headers,
                    getattr(request, "sessionId", ""),
                    getattr(request, "queryId", ""),
                    time.time(),
                    context.time_remaining(),
                )
            )
            try:
                fault = ctl.take_fault(name)
                if fault is not None:
                    raise _Abort(fault.code, fault.details)
                delay = ctl.delays.get(name)
                if delay and _stall(delay, context, lambda: self._released(name, request)):
                    ctl.note_abandoned(name)
                self._admission(service, headers)
                response = impl(request, headers)
            except _Abort as exc:
                context.abort(exc.code, exc.details)
            except duckdb.InterruptException:
                ctl.note_interrupted(getattr(request, "queryId", ""))
                context.abort(grpc.StatusCode.CANCELLED, "query cancelled")
            except duckdb.Error as exc:
                context.abort(grpc.StatusCode.INTERNAL, str(exc))
            self._announce(response)
            return response

        return handler

    def _released(self, name: str, request: Any) -> bool:
        """A delayed call goes on: its delay was removed, or its query was cancelled or
        cleared meanwhile (a real engine fails the pending calls of a cancelled query)."""
        if name not in self.control.delays:
            return True
        query_id = getattr(request, "queryId", "")
        if not query_id:
            return False
        with self._lock:
            q = self._queries.get(query_id)
        return q is None or q.cancelled

    def _admission(self, service: str, headers: dict[str, str]) -> None:
        ctl = self.control
        with ctl.lock:
            serving, cluster, realistic = ctl.serving, ctl.cluster_name, ctl.realistic_456
        if service == ENGINE_SERVICE and ctl.status() != "active":
            raise _Abort(grpc.StatusCode.UNAVAILABLE, "status: 503, cluster is suspended")
        colour = headers.get("strategy")
        if colour is not None and colour.lower() not in serving:
            text = "Received http2 header with status: 456" if realistic else "status: 456"
            raise _Abort(grpc.StatusCode.UNKNOWN, text)
        name = headers.get("cluster-name") or headers.get("cluster-uuid")
        if cluster and name is not None and name.lower() != cluster.lower():
            raise _Abort(grpc.StatusCode.PERMISSION_DENIED, f"unknown cluster {name!r}")

    def _announce(self, response: Any) -> None:
        announce = self.control.announce
        if announce and "new_strategy" in type(response).DESCRIPTOR.fields_by_name:
            response.new_strategy = announce

    # --- sessions and queries -------------------------------------------------------------

    def forget_sessions(self) -> None:
        """Drop every session (the next session-bearing call gets ``Access denied``)."""
        with self._lock:
            self._sessions.clear()

    def session_count(self) -> int:
        """Number of live sessions."""
        with self._lock:
            return len(self._sessions)

    def query_count(self) -> int:
        """Number of queries not yet cleared."""
        with self._lock:
            return len(self._queries)

    def query_colours(self) -> list[str | None]:
        """The colour (of its prepare) of every query not yet cleared."""
        with self._lock:
            return [q.colour for q in self._queries.values()]

    def _check_session(self, session_id: str, headers: dict[str, str]) -> str:
        with self._lock:
            entry = self._sessions.get(session_id)
        if entry is None:
            raise _Abort(grpc.StatusCode.INTERNAL, "Access denied: invalid or expired session")
        colour = headers.get("strategy")
        if self.control.strict and colour and entry[1] and colour != entry[1]:
            raise _Abort(grpc.StatusCode.INTERNAL, f"Access denied: session belongs to {entry[1]}")
        return entry[0]

    def _query(self, request: Any, headers: dict[str, str]) -> RunningQuery:
        self._check_session(request.sessionId, headers)
        with self._lock:
            q = self._queries.get(request.queryId)
        if q is None:
            raise _Abort(grpc.StatusCode.INTERNAL, f"Query not found: {request.queryId}")
        colour = headers.get("strategy")
        if self.control.strict and colour and q.colour and colour != q.colour:
            raise _Abort(grpc.StatusCode.INTERNAL, f"Query not found: {request.queryId}")
        return q

    def _executed(self, request: Any, headers: dict[str, str]) -> RunningQuery:
        q = self._query(request, headers)
        if not q.executed:
            raise _Abort(
                grpc.StatusCode.FAILED_PRECONDITION, f"query {q.query_id} has not been executed"
            )
        return q

    def _drop(self, query_id: str) -> None:
        with self._lock:
            q = self._queries.pop(query_id, None)
        if q is not None:
            if q.running:
                q.cancel()
            with q.lock:
                q.close()

    # --- QueryEngineService ---------------------------------------------------------------

    def _rpc_authenticate(self, req: Any, headers: dict[str, str]) -> Any:
        ctl = self.control
        with ctl.lock:
            ok = ctl.users.get(req.user) == req.password and bool(req.user)
            mode = ctl.bad_credentials
        if not ok:
            if mode == "denied":
                raise _Abort(grpc.StatusCode.INTERNAL, "Access denied: invalid credentials")
            return pb.AuthenticateResponse(sessionId="")
        sid = uuid.uuid4().hex
        with self._lock:
            self._sessions[sid] = (req.user, headers.get("strategy"))
        return pb.AuthenticateResponse(sessionId=sid, engineIP=_ENGINE_IP)

    def _prepare(self, req: Any, headers: dict[str, str], catalog: str) -> Any:
        self._check_session(req.sessionId, headers)
        sql = req.queryString.strip().rstrip(";").strip()
        if not sql:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "empty query")
        if catalog and catalog not in self.db.catalogs:
            raise _Abort(grpc.StatusCode.INTERNAL, f"Catalog Error: unknown catalog {catalog!r}")
        qid = uuid.uuid4().hex
        q = RunningQuery(qid, sql, catalog, req.schema, req.sessionId, headers.get("strategy"))
        with self._lock:
            self._queries[qid] = q
        return pb.PrepareStatementResponse(
            engineIP=_ENGINE_IP, queryId=qid, sessionId=req.sessionId
        )

    def _rpc_prepareStatement(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        return self._prepare(req, headers, "")

    def _rpc_prepareStatementV2(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        return self._prepare(req, headers, req.catalog)

    def _execute(self, req: Any, headers: dict[str, str]) -> Any:
        q = self._query(req, headers)
        ctl = self.control
        with q.lock:
            if q.finished:
                raise _Abort(grpc.StatusCode.INTERNAL, f"Query not found: {q.query_id}")
            if q.executed:
                raise _Abort(grpc.StatusCode.FAILED_PRECONDITION, "query already executed")
            try:
                self.db.run(q, max(int(ctl.batch_size), 1), ctl.decimal_mode, ctl.interval_mode)
            except duckdb.InterruptException:
                raise
            except duckdb.Error:
                q.close()
                raise
        if q.cancelled:
            ctl.note_interrupted(q.query_id)
            raise _Abort(grpc.StatusCode.CANCELLED, "query cancelled")
        return pb.ExecuteStatementResponse(sessionId=req.sessionId)

    def _rpc_executeStatement(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        return self._execute(req, headers)

    def _rpc_executeStatementV2(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        return self._execute(req, headers)

    def _rpc_getResultMetadata(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        q = self._executed(req, headers)
        blob = b"\x00\x00\x00" if self.control.corrupt_metadata else q.metadata
        return pb.GetResultMetadataResponse(resultMetaData=blob, sessionId=req.sessionId)

    def _next(self, q: RunningQuery) -> bytes:
        with q.lock:
            if q.cancelled:
                raise _Abort(grpc.StatusCode.CANCELLED, "query cancelled")
            if q.batches is None or q.finished:
                return self._end_marker()
            batch = next(q.batches, b"")
            if not batch:
                q.close()
                return self._end_marker()
            return batch

    def _end_marker(self) -> bytes:
        return encode_chunk(0, []) if self.control.end_marker == "zero_chunk" else b""

    def _rpc_getNextResultBatch(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        q = self._executed(req, headers)
        return pb.GetNextResultBatchResponse(resultBatch=self._next(q), sessionId=req.sessionId)

    def _rpc_getNextResultBatchV2(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        if not self.control.batch_v2:
            raise _Abort(grpc.StatusCode.UNIMPLEMENTED, "getNextResultBatchV2 is disabled")
        q = self._executed(req, headers)
        batches: list[bytes] = []
        for _ in range(4):
            b = self._next(q)
            if not b or b == encode_chunk(0, []):
                return pb.GetNextResultBatchV2Response(resultBatches=batches, endOfStream=True)
            batches.append(b)
        return pb.GetNextResultBatchV2Response(resultBatches=batches, endOfStream=False)

    def _rpc_status(self, req: Any, headers: dict[str, str]) -> Any:
        q = self._query(req, headers)
        return pb.StatusResponse(status=q.executed, rowCount=q.row_count, sessionId=req.sessionId)

    def _rpc_explain(self, req: Any, headers: dict[str, str]) -> Any:
        q = self._query(req, headers)
        rows = self.db.sql(f"EXPLAIN {q.sql}", q.catalog, q.schema)
        return pb.ExplainResponse(
            explain="\n".join(str(r[-1]) for r in rows), sessionId=req.sessionId
        )

    def _rpc_explainAnalyze(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        q = self._executed(req, headers)
        planner = json.dumps(
            {
                "total_query_time": q.exec_ms,
                "executionQueueingTime": 0,
                "parsingTime": q.parse_ms,
                "row_count": q.row_count,
            }
        )
        return pb.ExplainAnalyzeResponse(
            explainAnalyze=planner,
            isCached=False,
            parsingTime=q.parse_ms,
            queueingTime=0,
            sessionId=req.sessionId,
        )

    def _release(self, req: Any, headers: dict[str, str]) -> None:
        self._check_session(req.sessionId, headers)
        if req.queryId:
            self._drop(req.queryId)

    def _rpc_clearOrCancelQuery(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        self._release(req, headers)
        return pb.ClearOrCancelQueryResponse(sessionId=req.sessionId)

    def _rpc_clear(self, req: Any, headers: dict[str, str]) -> Any:
        self._release(req, headers)
        return pb.ClearResponse(sessionId=req.sessionId)

    def _rpc_cancelQuery(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        self._check_session(req.sessionId, headers)
        with self._lock:
            q = self._queries.get(req.queryId)
        if q is not None:
            q.cancel()
        return pb.CancelQueryResponse(sessionId=req.sessionId)

    def _dry_run(self, req: Any, headers: dict[str, str], catalog: str) -> Any:
        self._check_session(req.sessionId, headers)
        try:
            self.db.sql(f"EXPLAIN {req.queryString.strip().rstrip(';')}", catalog, req.schema)
            verdict: dict[str, Any] = {"valid": True}
        except duckdb.Error as exc:
            verdict = {"valid": False, "error": str(exc)}
        return pb.DryRunResponse(dryrunValue=json.dumps(verdict))

    def _rpc_dryRun(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        return self._dry_run(req, headers, "")

    def _rpc_dryRunV2(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        return self._dry_run(req, headers, req.catalog)

    def _rpc_getCataloges(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        return pb.GetCatalogesResponse(
            catalogResponses=[
                pb.CatalogResponse(name=c, isDefault=c == self.db.default_catalog)
                for c in self.db.catalogs
            ]
        )

    def _rpc_getSchemaNamesV2(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        self._check_session(req.sessionId, headers)
        return pb.GetSchemaNamesResponse(
            schemas=self.db.schemas(req.catalog), sessionId=req.sessionId
        )

    def _rpc_getTablesV2(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        self._check_session(req.sessionId, headers)
        return pb.GetTablesResponse(
            tables=self.db.tables(req.catalog, req.schema), sessionId=req.sessionId
        )

    def _rpc_getColumnsV2(self, req: Any, headers: dict[str, str]) -> Any:  # noqa: N802
        self._check_session(req.sessionId, headers)
        cols = self.db.columns(req.catalog, req.schema, req.table)
        return pb.GetColumnsResponse(
            fieldInfo=[pb.GFieldInfo(fieldName=n, fieldType=t) for n, t in cols],
            sessionId=req.sessionId,
        )

    # --- ClusterService -----------------------------------------------------------------

    def _check_cluster_credentials(self, req: Any) -> None:
        with self.control.lock:
            ok = self.control.users.get(req.user) == req.password and bool(req.user)
        if not ok:
            raise _Abort(grpc.StatusCode.PERMISSION_DENIED, "Access denied: invalid credentials")

    def _cluster_status(self, req: Any, headers: dict[str, str]) -> Any:
        self._check_cluster_credentials(req)
        return cpb.ClusterStatusResponse(status=self.control.status())

    def _cluster_resume(self, req: Any, headers: dict[str, str]) -> Any:
        self._check_cluster_credentials(req)
        return cpb.ResumeResponse(status=self.control.begin_resume())
