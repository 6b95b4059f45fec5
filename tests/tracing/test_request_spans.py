"""The instrumentation's server span: one per request, continuing a valid ``traceparent``
and ignoring a malformed one, its ids on every log line of the request (the access record
included), its trace id the latency exemplar in OpenMetrics only."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from starlette.testclient import TestClient

import vigil
from tests.instrumentation.conftest import build_app
from tests.tracing.conftest import CollectingExporter
from vigil.instrumentation.json_logging import configure_logging, flush_logs
from vigil.tracing import TracingContext, setup_tracing, shutdown_tracing
from vigil.tracing._request import _inline_bound

PARENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{PARENT_TRACE}-{PARENT_SPAN}-01"


@dataclass
class TracedApp:
    client: TestClient
    registry: CollectorRegistry
    spans: CollectingExporter
    stream: io.StringIO

    def finish(self) -> None:
        """Wait for the request's bookkeeping (TestClient returns at the last body byte),
        then export what is queued."""
        self.client.get("/health/live")  # the portal runs tasks in order
        shutdown_tracing()

    def logs(self) -> list[dict[str, object]]:
        flush_logs()
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]


def _traced_app(
    app: FastAPI, collected: CollectingExporter, **setup: object
) -> Iterator[TracedApp]:
    registry = CollectorRegistry()
    vigil.instrument(app, service="traced", registry=registry, configure_logs=False, tracing=True)
    stream = io.StringIO()
    configure_logging("traced", stream=stream)
    setup_tracing("traced", exporters=[collected], langfuse=False, **setup)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield TracedApp(client, registry, collected, stream)


@pytest.fixture
def traced(collected: CollectingExporter) -> Iterator[TracedApp]:
    yield from _traced_app(build_app(), collected)


def test_one_server_span_per_request_with_the_route(traced: TracedApp) -> None:
    """Even with a TracerProvider set, FastAPI's own request and operation spans stay off:
    one span, not the several of FastAPI's telemetry or the ASGI instrumentation."""
    response = traced.client.get("/v1/runs/42", headers={"X-Request-Id": "req-1"})
    traced.finish()
    (span,) = traced.spans.spans
    assert (span.name, span.kind) == ("GET /v1/runs/{run_id}", SpanKind.SERVER)
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "vigil.http"
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/v1/runs/42",
        "http.response.status_code": 200,
        "http.route": "/v1/runs/{run_id}",
        "vigil.request_id": "req-1",
    }
    assert response.headers["x-request-id"] == "req-1"
    assert span.end_time is not None
    assert span.start_time is not None
    assert span.end_time >= span.start_time


def test_a_raising_access_log_filter_still_ends_and_exports_the_span(traced: TracedApp) -> None:
    """The access record is written while the span is current; a filter of the application's
    on its logger that raises left the span open for good (never exported)."""

    class Broken(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            raise RuntimeError("a filter's bug")

    access = logging.getLogger("vigil.access")
    broken = Broken()
    access.addFilter(broken)
    try:
        traced.client.get("/v1/runs/42")
    finally:
        access.removeFilter(broken)
    traced.finish()
    (span,) = traced.spans.spans
    assert span.name == "GET /v1/runs/{run_id}"
    assert span.end_time is not None


def test_a_secret_in_the_path_is_redacted_as_in_the_access_line(traced: TracedApp) -> None:
    """Every exporter gets the span's attributes (and the store skips redacting what the
    request span sets itself): its path is redacted at the source, as the access line's."""
    traced.client.get("/v1/runs/password=hunter2")
    traced.finish()
    (span,) = traced.spans.spans
    path = (span.attributes or {})["url.path"]
    assert "hunter2" not in str(path)
    (access,) = [line for line in traced.logs() if line.get("logger") == "vigil.access"]
    assert path == access["path"]


def test_a_valid_traceparent_is_continued(traced: TracedApp) -> None:
    traced.client.get("/items/1", headers={"traceparent": TRACEPARENT})
    traced.finish()
    (span,) = traced.spans.spans
    assert format(span.context.trace_id, "032x") == PARENT_TRACE
    assert span.parent is not None
    assert span.parent.is_remote
    assert format(span.parent.span_id, "016x") == PARENT_SPAN


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        TRACEPARENT.upper(),
        "00-" + "0" * 32 + "-b7ad6b7169203331-01",
        "ff" + TRACEPARENT[2:],
    ],
)
def test_a_malformed_traceparent_is_ignored(traced: TracedApp, header: str) -> None:
    response = traced.client.get("/items/1", headers={"traceparent": header})
    traced.finish()
    assert response.status_code == 200
    (span,) = traced.spans.spans
    assert span.parent is None
    assert format(span.context.trace_id, "032x") != PARENT_TRACE


def test_every_log_line_of_the_request_carries_its_ids(traced: TracedApp) -> None:
    """The app's own records, a child span's, and the access record; not the lines
    written outside the request."""
    app_logger = logging.getLogger("traced.app")

    @traced.client.app.get("/work")  # type: ignore[attr-defined]
    async def work() -> dict[str, str]:
        app_logger.info("in the endpoint")
        with TracingContext("child"):
            app_logger.info("in a child span")
        return {}

    traced.client.get("/work", headers={"traceparent": TRACEPARENT})
    logging.getLogger("traced.app").info("outside any request")
    traced.finish()
    by_message = {str(line["message"]): line for line in traced.logs()}
    endpoint, child, access = (
        by_message["in the endpoint"],
        by_message["in a child span"],
        by_message["GET /work 200"],
    )
    spans = {span.name: span for span in traced.spans.spans}
    server_span = format(spans["GET /work"].context.span_id, "016x")
    assert endpoint["trace_id"] == child["trace_id"] == access["trace_id"] == PARENT_TRACE
    assert endpoint["span_id"] == access["span_id"] == server_span
    assert child["span_id"] == format(spans["child"].context.span_id, "016x")
    assert "trace_id" not in by_message["outside any request"]


def test_the_latency_exemplar_is_in_openmetrics_only(traced: TracedApp) -> None:
    traced.client.get("/items/1", headers={"traceparent": TRACEPARENT})
    traced.finish()
    openmetrics = generate_openmetrics(traced.registry).decode()
    exemplars = [
        line for line in openmetrics.splitlines()
        if line.startswith("request_duration_seconds_bucket") and " # {" in line
    ]  # fmt: skip
    assert exemplars
    assert all(f'{{trace_id="{PARENT_TRACE}"}}' in line for line in exemplars)
    text = generate_latest(traced.registry).decode()
    assert "trace_id" not in text
    assert 'endpoint="/items/{item_id}"' in text


def test_an_unhandled_error_is_recorded_on_the_span(traced: TracedApp) -> None:
    response = traced.client.get("/boom")
    traced.finish()
    assert response.status_code == 500
    (span,) = traced.spans.spans
    assert span.status.status_code is StatusCode.ERROR
    (event,) = span.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"] == "RuntimeError"
    assert dict(span.attributes or {})["http.response.status_code"] == 500


def test_probes_and_metrics_are_not_traced(traced: TracedApp) -> None:
    for path in ("/health/live", "/health/ready", "/metrics"):
        traced.client.get(path)
    traced.finish()
    assert traced.spans.spans == []


def test_an_unsampled_request_exports_nothing_but_still_correlates(
    collected: CollectingExporter,
) -> None:
    """Sampled out: no span is exported and no exemplar is written, but log lines still
    carry the trace id (it is propagated to whatever the request calls)."""
    for app in _traced_app(build_app(), collected, sample_ratio=0.0):
        app.client.get("/items/1")
        app.finish()
        assert collected.spans == []
        (access,) = [line for line in app.logs() if line["message"] == "GET /items/1 200"]
        assert len(str(access["trace_id"])) == 32
        assert "trace_id=" not in generate_openmetrics(app.registry).decode()


def test_an_applications_provider_and_sampler_are_used(collected: CollectingExporter) -> None:
    """An application's provider with a sampler Vigil cannot apply inline: its sampler is
    called; its processors see the span."""

    class Every(ParentBased):
        pass

    own = CollectingExporter()
    provider = TracerProvider(sampler=Every(ALWAYS_ON))
    provider.add_span_processor(SimpleSpanProcessor(own))
    trace.set_tracer_provider(provider)
    for app in _traced_app(build_app(), collected):
        app.client.get("/items/1")
        app.finish()
    assert [span.name for span in own.spans] == ["GET /items/{item_id}"]
    assert collected.names() == ["GET /items/{item_id}"]


def test_the_inline_sampler_reads_the_pinned_sdk() -> None:
    """Vigil applies ParentBased(TraceIdRatioBased) itself from the SDK's attributes; the
    pinned opentelemetry-sdk has them."""
    assert _inline_bound(ParentBased(TraceIdRatioBased(0.25))) == TraceIdRatioBased(0.25).bound
    assert _inline_bound(ParentBased(ALWAYS_ON)) == 1 << 64
    assert _inline_bound(TraceIdRatioBased(0.5)) is None


def test_the_end_of_the_lifespan_exports_what_is_queued(collected: CollectingExporter) -> None:
    """uvicorn re-raises SIGTERM once stopped, which skips atexit hooks: the instrumentation
    flushes at the end of the app's lifespan, or the last spans would be lost."""
    app = build_app()
    vigil.instrument(app, service="traced", registry=CollectorRegistry(), configure_logs=False,
                     tracing=True)  # fmt: skip
    setup_tracing("traced", exporters=[collected], langfuse=False)
    with TestClient(app) as client:
        client.get("/items/1")
        client.get("/health/live")
        assert collected.spans == []  # queued: the batch is not due yet
    assert collected.names() == ["GET /items/{item_id}"]
