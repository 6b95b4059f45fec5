"""Times each request once and hands the result to the RED metrics and the access log.

One pure ASGI layer (not Starlette's base HTTP middleware class: that one runs the app in a
child task, loses ContextVar changes and costs ~3x the throughput). It also turns an exception
that escaped the app into a JSON 500 carrying the request id, logged with its stack and counted,
so a bug never crashes the process nor leaves a plain-text error page.

It is also the request-id layer (``request_id``): the id is kept or minted, current for the
whole request, and on every response, the error responses it sends included. One layer and
one pass over the request's headers for both (a separate ``RequestIdMiddleware`` cost
~22,000 instructions per request, ``benchmarks/instructions_per_request.py``).

With ``tracer`` (``vigil.instrument(tracing=True)``) it also opens the request's one SERVER
span (``vigil.tracing._request``) before the app runs, and ends it after the access record,
so every log line of the request, that record included, carries the trace and span ids, and
the duration histogram gets the trace id as its exemplar. Without it, no span work at all.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.instrumentation.access_log import AccessLog
from vigil.instrumentation.errors import error_response
from vigil.instrumentation.probes import HealthProbes
from vigil.instrumentation.project_label import (
    PROJECT_ID_HEADER,
    ProjectLabelPolicy,
    bind_project_label,
    reset_project_label,
)
from vigil.instrumentation.red_metrics import KNOWN_METHODS, RedMetrics, RequestObservation
from vigil.instrumentation.request_id import (
    HEADER_BYTES as REQUEST_ID_HEADER_BYTES,
)
from vigil.instrumentation.request_id import (
    bind_request_id,
    request_id_of,
    reset_request_id,
    sending_request_id,
    with_request_id,
)
from vigil.instrumentation.route_template import route_template
from vigil.instrumentation.uvicorn_logging import restore_logging

if TYPE_CHECKING:
    from vigil.tracing._request import RequestTracer

logger = logging.getLogger("vigil.errors")

_PROJECT_HEADER_BYTES = PROJECT_ID_HEADER.encode("latin-1")

# Conventional status for a client that went away before a response started (nginx's 499).
CLIENT_CLOSED_REQUEST = 499

_CONTENT_TYPE = b"content-type"
_EVENT_STREAM = b"text/event-stream"
_NO_PATH_PARAMS: dict[str, object] = {}


def _is_event_stream(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:  # a loop, not any(): no generator per response
        if key == _CONTENT_TYPE:
            return value.startswith(_EVENT_STREAM)
    return False


class RequestTelemetryMiddleware:
    """Measures each HTTP request and records metrics and one access log line for it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        metrics: RedMetrics,
        access_log: AccessLog,
        project_labels: ProjectLabelPolicy,
        excluded_paths: frozenset[str],
        probes: HealthProbes | None = None,
        tracer: RequestTracer | None = None,
        restore_logs: bool = False,
    ) -> None:
        self.app = app
        self.service = service
        self.metrics = metrics
        self.access_log = access_log
        self.project_labels = project_labels
        self.excluded_paths = excluded_paths
        self.probes = probes
        self.tracer = tracer
        self.restore_logs = restore_logs
        """Undo ``uvicorn.run``'s logging config when the lifespan starts (``restore_logging``)."""
        self._in_progress: dict[str, deque[None]] = {}
        """The in-progress deque of each known method, looked up once (three calls fewer a
        request); a method outside ``KNOWN_METHODS`` is looked up every time, so a client
        cannot grow this dict."""

    def _in_progress_of(self, method: str) -> deque[None]:
        requests = self.metrics.in_progress(self.service, method)
        if method in KNOWN_METHODS:
            self._in_progress[method] = requests
        return requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.restore_logs:
                restore_logging()  # uvicorn.run applied its logging config after instrument()
            if scope["type"] == "lifespan" and (self.probes is not None or self.tracer is not None):
                await self.app(scope, receive, self._lifespan_observer(send))
            else:
                await self.app(scope, receive, send)
            return
        incoming_id = raw_project = None
        for key, value in scope["headers"]:  # one pass for both headers
            if key == REQUEST_ID_HEADER_BYTES:
                if incoming_id is None:
                    incoming_id = value.decode("latin-1")
            elif key == _PROJECT_HEADER_BYTES and raw_project is None:
                raw_project = value.decode("latin-1")
        request_id, id_header = request_id_of(scope, incoming_id)
        token = bind_request_id(request_id)
        try:  # one coroutine for the whole request, not one per step: each frame costs
            if scope["path"] in self.excluded_paths:  # probes, metrics: the id only
                await self.app(scope, receive, sending_request_id(send, id_header))
                return
            await self._observe(scope, receive, send, id_header, raw_project)
        finally:
            reset_request_id(token)

    async def _observe(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        id_header: tuple[bytes, bytes],
        raw_project: str | None,
    ) -> None:
        started = time.perf_counter()
        finished: float | None = None
        status = 0
        project = self.project_labels.label_for(raw_project)
        project_token = bind_project_label(project)
        entry_root_path = scope.get("root_path", "")
        tracer = self.tracer
        traced = None if tracer is None else tracer.start(scope)
        error: Exception | None = None
        in_progress = self._in_progress.get(scope["method"])
        if in_progress is None:
            in_progress = self._in_progress_of(scope["method"])
        in_progress.append(None)

        async def observing_send(message: Message) -> None:
            nonlocal status, finished
            if message["type"] == "http.response.start":
                status = message["status"]
                with_request_id(message, id_header)
                if status == 200 and _is_event_stream(message["headers"]):
                    # A stream's latency is the time to its first byte: how long it stays open
                    # is the client's choice, and must not page anyone (HighLatencyP99).
                    finished = time.perf_counter()
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await send(message)
                if finished is None:
                    finished = time.perf_counter()
                return
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        except Exception as exc:
            error = exc
            endpoint = route_template(scope, entry_root_path)
            self.metrics.count_exception(self.service, endpoint, exc)
            logger.exception(
                "Unhandled %s on %s %s",
                type(exc).__name__,
                scope["method"],
                endpoint,
                extra={"route": endpoint, "exception_type": type(exc).__name__},
            )
            if status:  # the response had started: nothing sane can be sent any more
                raise
            status = 500
            await error_response(500, "Internal Server Error")(scope, receive, observing_send)
        finally:
            duration = (finished or time.perf_counter()) - started
            endpoint = route_template(scope, entry_root_path)
            if raw_project is None:
                path_project = scope.get("path_params", _NO_PATH_PARAMS).get("project_id")
                if path_project is not None:
                    project = self.project_labels.label_for(str(path_project))
                    bind_project_label(project)
            client = scope.get("client")
            observation = RequestObservation(  # positional: keywords cost ~3,700 instructions
                scope["method"],  # method
                scope["path"],  # path
                endpoint,
                status or CLIENT_CLOSED_REQUEST,  # status
                duration,  # duration_s
                project,  # project_id
                f"{client[0]}:{client[1]}" if client else None,  # client
                None if traced is None else traced.exemplar_trace_id,  # trace_id
            )
            # Guarded: a log handler or filter of the application's that raises must not leave
            # the span open or the request counted as in progress for good.
            try:
                self.metrics.observe(self.service, observation)
                self.access_log.emit(observation)
            finally:
                try:
                    if tracer is not None and traced is not None:
                        tracer.finish(
                            traced, scope, endpoint=endpoint, status=observation.status, error=error
                        )
                finally:
                    reset_project_label(project_token)
                    in_progress.pop()  # last: in progress until the request is fully recorded

    def _lifespan_observer(self, send: Send) -> Send:
        probes, tracer = self.probes, self.tracer

        async def lifespan_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and probes is not None:
                probes.lifespan_started()
            elif message["type"] == "lifespan.shutdown.complete" and tracer is not None:
                # The last spans, before the server re-raises SIGTERM (flush_tracing).
                await run_in_threadpool(tracer.flush)
            await send(message)

        return lifespan_send
