"""``Connection``: one gRPC channel to an e6data engine, sessions per blue/green colour."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _rpc
from ._channel import build_channel, channel_options, load_pem
from ._generated import e6data_cluster_pb2 as cpb
from ._generated import e6data_engine_pb2 as pb
from ._metadata import ResultMetadata, decode_metadata
from ._params import ESCAPE_STYLES
from ._query import QueryHandle
from ._strategy import COLOURS, StrategyState, Target, registry
from .errors import (
    AuthenticationError,
    ClusterSuspendedError,
    Error,
    InterfaceError,
    NoServingStrategyError,
    NotSupportedError,
    OperationalError,
    QueryCancelledError,
    QueryLostError,
    ResumeFailedError,
    SessionExpiredError,
    StrategyMismatchError,
)

if TYPE_CHECKING:
    from .cursor import Cursor

__all__ = ["Connection", "connect"]

_log = logging.getLogger("awsdb_e6data")


class Connection:
    """A DB-API 2.0 connection to an e6data engine.

    The constructor takes the published connector's parameters, in the same order, plus
    keyword-only extras. No RPC is sent until first use. All state shared with other
    connections of the same target (the blue/green colour) lives in a lock-protected service.

    Keyword-only extras: ``rpc_timeout`` (deadline of short RPCs, s), ``execute_timeout``
    (deadline of prepare/execute, s; defaults to ``grpc_options['grpc_prepare_timeout']`` or
    :attr:`DEFAULT_EXECUTE_TIMEOUT`, 300 s), ``clear_timeout`` (deadline of the
    best-effort release of a finished, failed or cancelled query on the engine, s),
    ``resume_timeout`` (s), ``resume_poll_interval`` (first poll interval, s, with backoff),
    ``strategy_order`` (probe order), ``max_retries`` (transparent retries of a statement
    that was not admitted), ``escape_style`` (``'standard'`` or ``'hive'``),
    ``ssl_target_name_override``, ``ssl_client_cert`` / ``ssl_client_key`` (mTLS),
    ``prefetch`` (request the next result batch while the current one is decoded).
    """

    DEFAULT_EXECUTE_TIMEOUT = 300.0
    """Default deadline of prepare/execute in seconds (a stuck engine blocks at most this)."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        catalog: str | None = None,
        database: str | None = None,
        cluster_name: str | None = None,
        secure: bool = False,
        ssl_cert: str | bytes | Path | None = None,
        auto_resume: bool = True,
        scheme: str = "e6data",
        grpc_options: Mapping[str, Any] | None = None,
        debug: bool = False,
        require_fastbinary: bool = True,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_url: str | None = None,
        oauth_scope: str | None = None,
        access_token: str | None = None,
        client_auth_method: str = "basic",
        enable_result_batch_v2: bool = False,
        *,
        rpc_timeout: float = 30.0,
        execute_timeout: float | None = None,
        clear_timeout: float = 5.0,
        resume_timeout: float | None = None,
        resume_poll_interval: float = 0.2,
        strategy_order: Sequence[str] = COLOURS,
        max_retries: int = 3,
        escape_style: str = "standard",
        ssl_target_name_override: str | None = None,
        ssl_client_cert: str | bytes | Path | None = None,
        ssl_client_key: str | bytes | Path | None = None,
        prefetch: bool = True,
    ) -> None:
        if not host or not port:
            raise InterfaceError("host and port are required")
        if any(v is not None for v in (client_id, client_secret, token_url, access_token)):
            raise NotSupportedError("OAuth authentication is not supported by this connector")
        if not username or password is None:
            raise InterfaceError("username and password are required")
        if escape_style not in ESCAPE_STYLES:
            raise InterfaceError(f"escape_style must be one of {ESCAPE_STYLES}")
        order = tuple(c.lower() for c in strategy_order)
        if not order or any(c not in COLOURS for c in order):
            raise InterfaceError(f"strategy_order must name colours among {COLOURS}")
        del require_fastbinary, oauth_scope, client_auth_method  # accepted for compatibility
        self.host = host
        self.port = int(port)
        self.username = username
        self._password = password
        self.catalog_name = catalog
        self.database = database
        self.cluster_name = cluster_name.lower() if cluster_name else None
        self.secure = bool(secure)
        self.scheme = scheme
        self.auto_resume = bool(auto_resume)
        self.debug = bool(debug)
        self.enable_result_batch_v2 = bool(enable_result_batch_v2)
        self.escape_style = escape_style
        self.prefetch = bool(prefetch)
        settings, self._channel_args = channel_options(grpc_options)
        if ssl_target_name_override:
            self._channel_args.append(("grpc.ssl_target_name_override", ssl_target_name_override))
        self.grpc_prepare_timeout = float(
            execute_timeout or settings.get("grpc_prepare_timeout") or self.DEFAULT_EXECUTE_TIMEOUT
        )
        self.grpc_auto_resume_timeout_seconds = float(
            resume_timeout or settings.get("grpc_auto_resume_timeout_seconds") or 300.0
        )
        self.rpc_timeout = float(rpc_timeout)
        self.clear_timeout = float(clear_timeout)
        self.resume_poll_interval = float(resume_poll_interval)
        self.max_retries = int(max_retries)
        self._order = order
        self._root_ca = load_pem(ssl_cert, "ssl_cert") if secure else None
        self._client_cert = load_pem(ssl_client_cert, "ssl_client_cert")
        self._client_key = load_pem(ssl_client_key, "ssl_client_key")
        self._state: StrategyState = registry.get(
            Target(self.host, self.port, self.cluster_name or "")
        )
        self._lock = threading.Lock()  # channel, in-flight set, colour
        self._auth_lock = threading.Lock()  # serialises authentication (one session)
        self._sessions: dict[str | None, str] = {}
        self._colour: str | None = None
        self._inflight: set[QueryHandle] = set()
        self._closed = False
        self._channel: Any = None
        self._rpc: _rpc.RpcClient | None = None

    # --- plumbing -----------------------------------------------------------------------

    def __repr__(self) -> str:
        return (
            f"<awsdb_e6data.Connection {self.host}:{self.port} user={self.username!r} "
            f"catalog={self.catalog_name!r} closed={self._closed}>"
        )

    def _client(self) -> _rpc.RpcClient:
        with self._lock:
            if self._closed:
                raise InterfaceError("connection is closed")
            if self._rpc is None:
                self._channel = build_channel(
                    f"{self.host}:{self.port}",
                    self._channel_args,
                    secure=self.secure,
                    root_ca=self._root_ca,
                    client_cert=self._client_cert,
                    client_key=self._client_key,
                )
                self._rpc = _rpc.RpcClient(self._channel)
            return self._rpc

    def _headers(self, colour: str | None, engine_ip: str | None = None) -> list[tuple[str, str]]:
        headers = []
        if engine_ip:
            headers.append(("plannerip", engine_ip))
        if self.cluster_name:
            headers.append(("cluster-name", self.cluster_name))
        if colour:
            headers.append(("strategy", colour))
        return headers

    def _call(
        self,
        name: str,
        request: Any,
        *,
        colour: str | None,
        engine_ip: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        try:
            response = self._client().call(
                name,
                request,
                timeout=timeout or self.rpc_timeout,
                metadata=self._headers(colour, engine_ip),
            )
        except Error as exc:
            if self._closed and not isinstance(exc, InterfaceError):
                raise InterfaceError(f"{name}: connection closed", rpc=name) from exc
            raise
        announced = getattr(response, "new_strategy", None) if _has_strategy(response) else None
        if announced and self._state.announce(announced):
            _log.info("engine announced strategy %r for %s:%s", announced, self.host, self.port)
        return response

    # --- sessions and colours -------------------------------------------------------------

    def _authenticate(self, colour: str | None) -> tuple[str, Any]:
        request = pb.AuthenticateRequest(user=self.username or "", password=self._password or "")
        try:
            response = self._client().call(
                "authenticate", request, timeout=self.rpc_timeout, metadata=self._headers(colour)
            )
        except AuthenticationError:
            raise
        if not response.sessionId:
            raise AuthenticationError("invalid credentials", rpc="authenticate")
        return response.sessionId, response

    def _authenticate_resuming(self, colour: str | None) -> tuple[str, Any]:
        for _ in range(2):
            try:
                return self._authenticate(colour)
            except ClusterSuspendedError as exc:
                self._resume(exc)
        return self._authenticate(colour)

    def _probe(self) -> str:
        """Find a serving colour; bounded, no recursion. Caller holds ``_auth_lock``."""
        last: Error | None = None
        for colour in self._order:
            try:
                sid, response = self._authenticate_resuming(colour)
            except StrategyMismatchError as exc:
                last = exc
                self._state.reject(colour)
                continue
            self._sessions[colour] = sid
            chosen = colour
            announced = response.new_strategy.lower() if response.HasField("new_strategy") else None
            if announced in COLOURS and announced != colour and announced not in self._sessions:
                try:
                    self._sessions[announced] = self._authenticate(announced)[0]
                    chosen = announced
                except StrategyMismatchError:
                    _log.warning(
                        "engine announced %r but rejects it; staying on %r", announced, colour
                    )
                    self._state.reject(announced)
            self._state.confirm(chosen)
            return chosen
        raise NoServingStrategyError(
            f"no blue/green strategy is served by {self.host}:{self.port} "
            f"(tried {', '.join(self._order)})"
        ) from last

    def _colour_for_new_work(self) -> str | None:
        with self._lock:
            current = self._colour
        colour = self._state.colour_for_new_work(current)
        if colour is None:
            with self._auth_lock:
                colour = self._state.colour_for_new_work(self._colour)
                if colour is None:
                    colour = self._probe()
        with self._lock:
            self._colour = colour
        return colour

    def _session(self, colour: str | None) -> str:
        sid = self._sessions.get(colour)
        if sid:
            return sid
        with self._auth_lock:
            sid = self._sessions.get(colour)
            if not sid:
                sid = self._authenticate_resuming(colour)[0]
                self._sessions[colour] = sid
            return sid

    def _drop_session(self, colour: str | None, session_id: str) -> None:
        with self._auth_lock:
            if self._sessions.get(colour) == session_id:
                del self._sessions[colour]

    def _on_strategy_rejected(self, colour: str | None) -> None:
        if colour is not None:
            self._state.reject(colour)
        with self._lock:
            if self._colour == colour:
                self._colour = None

    @property
    def get_session_id(self) -> str:
        """The session id of the current colour, authenticating on first use."""
        return self._session(self._colour_for_new_work())

    # --- resume ---------------------------------------------------------------------------

    def _cluster_call(self, name: str, request: Any) -> Any:
        colour = self._colour or self._state.snapshot()[0]
        colours = [colour] if colour else list(self._order)
        for c in [*colours, *[x for x in self._order if x not in colours]]:
            try:
                return self._client().call(
                    name,
                    request,
                    timeout=self.rpc_timeout,
                    metadata=self._headers(c),
                    service=_rpc.CLUSTER_SERVICE,
                )
            except StrategyMismatchError:
                continue
        raise NoServingStrategyError("no blue/green strategy serves the cluster service")

    def _cluster_status(self) -> str:
        req = cpb.ClusterStatusRequest(user=self.username or "", password=self._password or "")
        return str(self._cluster_call("status", req).status)

    def _resume(self, cause: ClusterSuspendedError) -> None:
        """Resume a suspended cluster (deduplicated per target) or raise."""
        if not self.auto_resume:
            raise cause
        deadline = time.monotonic() + self.grpc_auto_resume_timeout_seconds
        if not self._state.resume_lock.acquire(timeout=self.grpc_auto_resume_timeout_seconds):
            raise ResumeFailedError("timed out waiting for another resume") from cause
        try:
            status = self._cluster_status()
            if status == "active":
                return
            if status == "suspended":
                _log.info("resuming suspended cluster %s:%s", self.host, self.port)
                req = cpb.ResumeRequest(user=self.username or "", password=self._password or "")
                self._cluster_call("resume", req)
            elif status != "resuming":
                raise ResumeFailedError(f"cluster status is {status!r}") from cause
            interval = self.resume_poll_interval
            while True:
                try:
                    status = self._cluster_status()
                except OperationalError:
                    status = "unknown"
                if status == "active":
                    return
                if status == "failed":
                    raise ResumeFailedError("cluster resume failed") from cause
                if time.monotonic() + interval > deadline:
                    raise ResumeFailedError("cluster did not resume in time") from cause
                time.sleep(interval)
                interval = min(interval * 1.5, 5.0)
        finally:
            self._state.resume_lock.release()

    # --- queries (used by Cursor) -----------------------------------------------------------

    def _register(self, handle: QueryHandle) -> None:
        with self._lock:
            self._inflight.add(handle)

    def _release(self, handle: QueryHandle) -> None:
        with self._lock:
            self._inflight.discard(handle)
        handle.done = True

    def _inflight_by_id(self, query_id: str) -> QueryHandle | None:
        with self._lock:
            return next((h for h in self._inflight if h.query_id == query_id), None)

    def _start_query(
        self,
        sql: str,
        catalog: str | None,
        database: str | None,
        on_prepared: Callable[[QueryHandle], bool],
    ) -> tuple[QueryHandle, ResultMetadata]:
        """Prepare, execute and read the metadata of ``sql``.

        Retries only while the statement was provably not admitted (456, 503, expired
        session on prepare or execute). ``on_prepared`` is told the handle right after
        prepare; it returns False when a cancel was requested meanwhile.
        """
        last: Error | None = None
        for _ in range(self.max_retries + 1):
            colour = self._colour_for_new_work()
            session = ""
            try:
                session = self._session(colour)
                if catalog:
                    prep = self._call(
                        "prepareStatementV2",
                        pb.PrepareStatementV2Request(
                            sessionId=session,
                            schema=database or "",
                            catalog=catalog,
                            queryString=sql,
                        ),
                        colour=colour,
                        timeout=self.grpc_prepare_timeout,
                    )
                else:
                    prep = self._call(
                        "prepareStatement",
                        pb.PrepareStatementRequest(
                            sessionId=session, schema=database or "", queryString=sql
                        ),
                        colour=colour,
                        timeout=self.grpc_prepare_timeout,
                    )
            except (StrategyMismatchError, SessionExpiredError, ClusterSuspendedError) as exc:
                last = exc
                self._recover(exc, colour, session)
                continue
            handle = QueryHandle(prep.queryId, prep.engineIP, colour, session)
            self._register(handle)
            if not on_prepared(handle):
                try:
                    self._cancel_handle(handle)
                finally:
                    self._release(handle)
                raise QueryCancelledError("query cancelled before it ran")
            try:
                ident: dict[str, Any] = {
                    "engineIP": handle.engine_ip,
                    "sessionId": session,
                    "queryId": handle.query_id,
                }
                if catalog:
                    req: Any = pb.ExecuteStatementV2Request(**ident)
                    self._call(
                        "executeStatementV2",
                        req,
                        colour=colour,
                        engine_ip=handle.engine_ip,
                        timeout=self.grpc_prepare_timeout,
                    )
                else:
                    req = pb.ExecuteStatementRequest(**ident)
                    self._call(
                        "executeStatement",
                        req,
                        colour=colour,
                        engine_ip=handle.engine_ip,
                        timeout=self.grpc_prepare_timeout,
                    )
            except (StrategyMismatchError, SessionExpiredError, ClusterSuspendedError) as exc:
                self._release(handle)
                last = exc
                self._recover(exc, colour, session)
                continue
            except Error:
                self._clear_handle(handle)
                raise
            try:
                meta = self._call(
                    "getResultMetadata",
                    pb.GetResultMetadataRequest(**ident),
                    colour=colour,
                    engine_ip=handle.engine_ip,
                )
                return handle, decode_metadata(meta.resultMetaData)
            except (StrategyMismatchError, SessionExpiredError) as exc:
                self._release(handle)
                if isinstance(exc, SessionExpiredError):
                    self._drop_session(colour, session)
                else:
                    self._on_strategy_rejected(colour)
                raise QueryLostError(
                    f"query {handle.query_id} was lost after it was admitted ({exc}); "
                    "it is not replayed",
                    grpc_code=exc.grpc_code,
                    rpc=exc.rpc,
                ) from exc
            except Error:
                self._clear_handle(handle)
                raise
        assert last is not None
        raise last

    def _recover(self, exc: Error, colour: str | None, session: str) -> None:
        if isinstance(exc, StrategyMismatchError):
            self._on_strategy_rejected(colour)
        elif isinstance(exc, SessionExpiredError):
            self._drop_session(colour, session)
        elif isinstance(exc, ClusterSuspendedError):
            self._resume(exc)

    def _query_call(
        self, name: str, request_cls: Any, handle: QueryHandle, timeout: float | None = None
    ) -> Any:
        """A query-bound RPC with the query's own colour, session and planner."""
        try:
            return self._call(
                name,
                request_cls(
                    engineIP=handle.engine_ip, sessionId=handle.session_id, queryId=handle.query_id
                ),
                colour=handle.colour,
                engine_ip=handle.engine_ip,
                timeout=timeout,
            )
        except (StrategyMismatchError, SessionExpiredError) as exc:
            raise self._lost(handle, name, exc) from exc

    def _lost(self, handle: QueryHandle, name: str, exc: Error) -> QueryLostError:
        """Drop a query that failed after admission; the caller raises the result."""
        self._release(handle)
        if isinstance(exc, StrategyMismatchError):
            self._on_strategy_rejected(handle.colour)
        else:
            self._drop_session(handle.colour, handle.session_id)
        return QueryLostError(
            f"query {handle.query_id} was lost ({exc}); it is not replayed",
            grpc_code=exc.grpc_code,
            rpc=name,
        )

    def _next_batch(self, handle: QueryHandle) -> bytes:
        response = self._query_call("getNextResultBatch", pb.GetNextResultBatchRequest, handle)
        return bytes(response.resultBatch)

    def _start_next_batch(self, handle: QueryHandle) -> Callable[[], bytes]:
        """Request the next batch now; the returned function waits for it."""
        pending = self._client().start(
            "getNextResultBatch",
            pb.GetNextResultBatchRequest(
                engineIP=handle.engine_ip, sessionId=handle.session_id, queryId=handle.query_id
            ),
            timeout=self.rpc_timeout,
            metadata=self._headers(handle.colour, handle.engine_ip),
        )

        def wait() -> bytes:
            try:
                response = pending.result()
            except (StrategyMismatchError, SessionExpiredError) as exc:
                raise self._lost(handle, "getNextResultBatch", exc) from exc
            except Error as exc:
                if self._closed and not isinstance(exc, InterfaceError):
                    raise InterfaceError("getNextResultBatch: connection closed") from exc
                raise
            if response.HasField("new_strategy"):
                self._state.announce(response.new_strategy)
            return bytes(response.resultBatch)

        wait.cancel = pending.cancel  # type: ignore[attr-defined]
        return wait

    def _clear_handle(self, handle: QueryHandle, timeout: float | None = None) -> None:
        """Release a query locally and, best effort, on the engine (deadline ``timeout``,
        default ``clear_timeout``)."""
        self._release(handle)
        if self._closed:
            return
        try:
            self._call(
                "clearOrCancelQuery",
                pb.ClearOrCancelQueryRequest(
                    engineIP=handle.engine_ip, sessionId=handle.session_id, queryId=handle.query_id
                ),
                colour=handle.colour,
                engine_ip=handle.engine_ip,
                timeout=timeout or self.clear_timeout,
            )
        except Error as exc:
            _log.debug("clearOrCancelQuery of %s failed: %s", handle.query_id, exc)

    def _cancel_handle(self, handle: QueryHandle) -> None:
        self._call(
            "cancelQuery",
            pb.CancelQueryRequest(
                engineIP=handle.engine_ip, sessionId=handle.session_id, queryId=handle.query_id
            ),
            colour=handle.colour,
            engine_ip=handle.engine_ip,
        )

    # --- public API -------------------------------------------------------------------------

    def cursor(self, catalog_name: str | None = None, db_name: str | None = None) -> Cursor:
        """A new cursor; ``catalog_name`` and ``db_name`` default to the connection's."""
        from .cursor import Cursor

        if self._closed:
            raise InterfaceError("connection is closed")
        return Cursor(self, database=db_name, catalog_name=catalog_name)

    def close(self) -> None:
        """Close the channel and drop the sessions; idempotent, no RPC."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            channel, self._channel, self._rpc = self._channel, None, None
            self._inflight.clear()
        self._sessions.clear()
        if channel is not None:
            channel.close()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def reopen(self) -> None:
        """Reopen a closed connection (new channel, new sessions on first use)."""
        with self._lock:
            self._closed = False
            self._sessions.clear()

    def check_connection(self) -> bool:
        """True while the connection is open (no network)."""
        return not self._closed

    def ping(self) -> None:
        """A real round trip that also validates the session (re-authenticates once)."""
        for attempt in range(2):
            colour = self._colour_for_new_work()
            session = ""
            try:
                session = self._session(colour)
                self._call(
                    "clearOrCancelQuery",
                    pb.ClearOrCancelQueryRequest(sessionId=session),
                    colour=colour,
                )
                return
            except SessionExpiredError:
                self._drop_session(colour, session)
                if attempt:
                    raise
            except StrategyMismatchError:
                self._on_strategy_rejected(colour)
                if attempt:
                    raise

    def cancel_all(self) -> None:
        """Cancel every query in flight on this connection (callable from any thread).

        The blocked calls of the owning threads then fail with
        :class:`~awsdb_e6data.errors.QueryCancelledError`; the connection stays open.
        """
        with self._lock:
            handles = list(self._inflight)
        for handle in handles:
            try:
                self._cancel_handle(handle)
            except Error as exc:
                _log.debug("cancel of %s failed: %s", handle.query_id, exc)

    def get_re_authenticate_session_id(self) -> str:
        """Drop the session of the current colour and authenticate again."""
        colour = self._colour_for_new_work()
        with self._auth_lock:
            self._sessions.pop(colour, None)
        return self._session(colour)

    def check_strategy_change(self) -> bool:
        """Adopt an announced colour for new work (queries in flight keep theirs)."""
        before = self._colour
        return self._colour_for_new_work() != before and before is not None

    def _session_call(
        self, name: str, build: Callable[[str], Any], timeout: float | None = None
    ) -> Any:
        """A session-bearing call outside queries: re-auth once on an expired session."""
        for attempt in range(self.max_retries + 1):
            colour = self._colour_for_new_work()
            session = ""
            try:
                session = self._session(colour)
                return self._call(name, build(session), colour=colour, timeout=timeout)
            except (StrategyMismatchError, SessionExpiredError, ClusterSuspendedError) as exc:
                if attempt >= self.max_retries:
                    raise
                self._recover(exc, colour, session)
        raise AssertionError("unreachable")

    def clear(
        self, query_id: str, engine_ip: str | None = None, timeout: float | None = None
    ) -> None:
        """Release a query on the engine (``clear`` RPC) under the deadline ``timeout``
        (seconds, default ``clear_timeout``)."""
        deadline = timeout or self.clear_timeout
        handle = self._inflight_by_id(query_id)
        if handle is not None:
            self._release(handle)
            self._query_call("clear", pb.ClearRequest, handle, timeout=deadline)
            return
        self._session_call(
            "clear",
            lambda s: pb.ClearRequest(engineIP=engine_ip or "", sessionId=s, queryId=query_id),
            timeout=deadline,
        )

    def query_cancel(self, engine_ip: str, query_id: str) -> None:
        """Cancel a query by id, with its own colour when it is in flight here."""
        handle = self._inflight_by_id(query_id)
        if handle is not None:
            self._cancel_handle(handle)
            return
        self._session_call(
            "cancelQuery",
            lambda s: pb.CancelQueryRequest(
                engineIP=engine_ip or "", sessionId=s, queryId=query_id
            ),
        )

    def dry_run(self, query: str) -> str:
        """Validate ``query`` without running it; returns the engine's verdict string."""
        if self.catalog_name:
            resp = self._session_call(
                "dryRunV2",
                lambda s: pb.DryRunRequestV2(
                    sessionId=s,
                    schema=self.database or "",
                    queryString=query,
                    catalog=self.catalog_name or "",
                ),
            )
        else:
            resp = self._session_call(
                "dryRun",
                lambda s: pb.DryRunRequest(
                    sessionId=s, schema=self.database or "", queryString=query
                ),
            )
        return str(resp.dryrunValue)

    def get_catalogs(self) -> list[dict[str, Any]]:
        """``[{'name', 'isDefault'}]`` of the engine's catalogs."""
        resp = self._call(
            "getCataloges", pb.GetCatalogesRequest(), colour=self._colour_for_new_work()
        )
        return [{"name": c.name, "isDefault": c.isDefault} for c in resp.catalogResponses]

    def get_schema_names(self, catalog: str | None = None) -> list[str]:
        """Schema names of ``catalog`` (default: the connection's catalog)."""
        cat = catalog or self.catalog_name or ""
        resp = self._session_call(
            "getSchemaNamesV2", lambda s: pb.GetSchemaNamesV2Request(sessionId=s, catalog=cat)
        )
        return list(resp.schemas)

    def get_tables(self, catalog: str | None = None, database: str | None = None) -> list[str]:
        """Table names of ``catalog.database`` (defaults: the connection's)."""
        cat, db = catalog or self.catalog_name or "", database or self.database or ""
        resp = self._session_call(
            "getTablesV2", lambda s: pb.GetTablesV2Request(sessionId=s, schema=db, catalog=cat)
        )
        return list(resp.tables)

    def get_columns(
        self, catalog: str | None = None, database: str | None = None, table: str | None = None
    ) -> list[dict[str, str]]:
        """``[{'fieldName', 'fieldType'}]`` of a table (catalog/database default as above)."""
        if not table:
            raise InterfaceError("get_columns needs a table name")
        cat, db = catalog or self.catalog_name or "", database or self.database or ""
        resp = self._session_call(
            "getColumnsV2",
            lambda s: pb.GetColumnsV2Request(sessionId=s, schema=db, table=table, catalog=cat),
        )
        return [{"fieldName": f.fieldName, "fieldType": f.fieldType} for f in resp.fieldInfo]

    def commit(self) -> None:
        """No-op: the engine has no transactions."""

    def rollback(self) -> None:
        """The engine has no transactions."""
        raise NotSupportedError("e6data does not support transactions")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _has_strategy(response: Any) -> bool:
    try:
        return bool(response.HasField("new_strategy"))
    except ValueError:
        return False


def connect(*args: Any, **kwargs: Any) -> Connection:
    """Open a :class:`Connection` (PEP 249 constructor); no RPC is sent until first use."""
    return Connection(*args, **kwargs)
