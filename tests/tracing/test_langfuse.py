"""Agent spans to Langfuse, checked at the protocol level: no Langfuse server can run on the
build machines, so a local HTTP server receives the official SDK's real OTLP/HTTP export and
decodes it with the official ``opentelemetry-proto`` classes. It checks the path, the Basic
credentials, and that exactly the agent spans arrive, with their attributes and parents; the
HTTP server span and other infrastructure spans stay out (the documented filter)."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from tests.langfuse_receiver import OTLP_PATH, FakeLangfuse
from vigil.tracing import AGENT_SCOPE, HTTP_SCOPE, langfuse_span_filter

BACKEND = Path(__file__).resolve().parents[2] / "backend"
PUBLIC_KEY, SECRET_KEY = "pk-lf-protocol-test", "sk-lf-protocol-test"


AGENT = """
import uuid
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient
import vigil
from vigil.models import BatchWriteResult
from vigil.sdk import AgentRecorder, EventSink
from vigil.tracing import TracingContext, setup_tracing, shutdown_tracing

class MemorySink(EventSink):
    def write(self, events, *, batch_id=None):
        return BatchWriteResult(steps=0, logs=0, measurements=0, spans=0)
    def create_run(self, run): raise NotImplementedError
    def finish_run(self, run_id, finish): raise NotImplementedError

app = FastAPI()

@app.get("/items/{item_id}")
async def item(item_id: str):
    return {"item": item_id}

vigil.instrument(app, service="support-agent", registry=CollectorRegistry(), tracing=True)
recorder = AgentRecorder(MemorySink(), service="support-agent", registry=CollectorRegistry())
setup_tracing("support-agent", recorder=recorder)   # Langfuse: from the LANGFUSE_* variables
run_id = uuid.UUID("01234567-89ab-7def-8123-456789abcdef")
with recorder.span("plan", attributes={"goal": "refund", "order": {"id": 7}}, run_id=run_id):
    with recorder.span("tool.search", kind="client", attributes={"query": "order 7"}):
        pass
with TracingContext("internal.cache"):     # another scope: not an agent span
    pass
with TestClient(app) as client:            # an HTTP server span: infrastructure
    client.get("/items/1")
assert shutdown_tracing(timeout_s=20), "the Langfuse export did not finish"
recorder.close()
print("AGENT DONE")
"""


def run_agent(program: str, langfuse_server: FakeLangfuse) -> str:
    """``program`` in a fresh interpreter with only the Langfuse variables (pointing at the
    receiver) set; its stdout, once it exited with 0."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(program)],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PYTHONPATH": str(BACKEND),
            "PATH": "/usr/bin:/bin",
            "LANGFUSE_PUBLIC_KEY": PUBLIC_KEY,
            "LANGFUSE_SECRET_KEY": SECRET_KEY,
            "LANGFUSE_BASE_URL": langfuse_server.url,
        },
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_sdk_exports_exactly_the_agent_spans(langfuse_server: FakeLangfuse) -> None:
    stdout = run_agent(AGENT, langfuse_server)
    assert "AGENT DONE" in stdout

    exports = [r for r in langfuse_server.requests if r.path == OTLP_PATH]
    assert exports, [r.path for r in langfuse_server.requests]
    expected_auth = "Basic " + base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
    for export in exports:
        assert export.headers["authorization"] == expected_auth
        assert export.headers["content-type"] == "application/x-protobuf"

    spans = {}
    for export in exports:
        request = ExportTraceServiceRequest()
        request.ParseFromString(export.body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: a.value for a in span.attributes}
                    spans[span.name] = (scope_spans.scope.name, span, attributes)
    # One span per agent span; the cache span and the HTTP server span stayed out.
    assert sorted(spans) == ["plan", "tool.search"]
    plan_scope, plan, plan_attributes = spans["plan"]
    search_scope, search, search_attributes = spans["tool.search"]
    assert plan_scope == search_scope == AGENT_SCOPE
    assert plan_attributes["goal"].string_value == "refund"
    assert plan_attributes["order"].string_value == '{"id":7}'
    assert plan_attributes["vigil.run_id"].string_value == "01234567-89ab-7def-8123-456789abcdef"
    assert search_attributes["query"].string_value == "order 7"
    assert (
        search_attributes["vigil.run_id"].string_value
        == plan_attributes["vigil.run_id"].string_value
    )  # a child of a run's span belongs to the run
    assert search.trace_id == plan.trace_id
    assert search.parent_span_id == plan.span_id
    assert len(plan.trace_id) == 16
    assert len(plan.span_id) == 8


STAGES = """
import os
from opentelemetry import trace
from vigil.tracing import AGENT_SCOPE, TracingContext, get_tracer, setup_tracing, shutdown_tracing
from vigil.tracing._setup import flush_tracing

setup_tracing("agent")
with TracingContext("flushed", tracer=get_tracer(AGENT_SCOPE)):
    pass
assert flush_tracing(timeout_s=20)
assert shutdown_tracing(timeout_s=20)
with TracingContext("after-shutdown", tracer=get_tracer(AGENT_SCOPE)):
    pass
trace.get_tracer_provider().force_flush()
setup_tracing("agent")
with TracingContext("after-setup-again", tracer=get_tracer(AGENT_SCOPE)):
    pass
assert flush_tracing(timeout_s=20)
print("STAGES DONE", flush=True)
os._exit(0)  # as uvicorn's re-raised SIGTERM ends a server: no atexit, no provider flush
"""


def test_flush_shutdown_and_setup_again_reach_langfuse_as_vigils_own_exporters(
    langfuse_server: FakeLangfuse,
) -> None:
    """Langfuse's processor is the provider's, not Vigil's router's: ``flush_tracing`` (the
    end of an app's lifespan) did not flush it, so a server's last agent spans were lost, and
    after ``shutdown_tracing`` it still exported. Now it is flushed, closed and opened again
    with Vigil's own destinations."""
    stdout = run_agent(STAGES, langfuse_server)
    assert "STAGES DONE" in stdout
    assert [exported.span.name for exported in langfuse_server.spans()] == [
        "flushed",
        "after-setup-again",
    ]


APPLICATION_FIRST = """
import logging, sys
from langfuse import Langfuse
from vigil.tracing import AGENT_SCOPE, TracingContext, get_tracer, setup_tracing, shutdown_tracing
from vigil.tracing._langfuse import _resources_of

logging.basicConfig(stream=sys.stdout, format="LOG %(message)s")
mine = Langfuse()  # the application's own client, made first
assert _resources_of("{key}") is mine._resources  # where the SDK keeps it (pinned)
setup_tracing("agent")
with TracingContext("vigil-agent-span", tracer=get_tracer(AGENT_SCOPE)):
    pass
assert shutdown_tracing(timeout_s=20)
assert mine._resources._shutdown is False  # Vigil did not shut the application's client down
with mine.start_as_current_observation(name="application-span"):
    pass
mine.flush()
print("APP DONE", flush=True)
"""


def test_an_applications_own_langfuse_client_is_left_alone(langfuse_server: FakeLangfuse) -> None:
    """The SDK hands a later client the first one's resources: Vigil's client was the
    application's (no Vigil filter) and ``shutdown_tracing`` shut the application's down.
    Now Vigil makes none, says so, and the application's client still exports after it."""
    stdout = run_agent(APPLICATION_FIRST.replace("{key}", PUBLIC_KEY), langfuse_server)
    assert "APP DONE" in stdout
    assert "the application made a Langfuse client for this public key already" in stdout
    names = [exported.span.name for exported in langfuse_server.spans()]
    assert "application-span" in names


def _span(scope: str, attributes: dict[str, object] | None = None) -> ReadableSpan:
    tracer = TracerProvider().get_tracer(scope)
    span = tracer.start_span("s", attributes=attributes)  # type: ignore[arg-type]
    span.end()
    readable: ReadableSpan = span._readable_span()  # type: ignore[attr-defined]
    assert isinstance(readable.instrumentation_scope, InstrumentationScope)
    return readable


def test_the_filter_takes_agent_and_llm_spans_only() -> None:
    assert langfuse_span_filter(_span(AGENT_SCOPE))
    assert langfuse_span_filter(_span("langfuse-sdk"))
    assert langfuse_span_filter(_span("my.app", {"gen_ai.request.model": "m"}))
    assert langfuse_span_filter(_span("opentelemetry.instrumentation.openai"))
    assert not langfuse_span_filter(_span(HTTP_SCOPE))
    assert not langfuse_span_filter(_span("opentelemetry.instrumentation.sqlalchemy"))
    assert not langfuse_span_filter(_span("vigil"))
