"""``StoreSpanExporter`` and ``RecorderSpanExporter``: finished spans into the ``spans``
table, directly (the controller) or through an agent's recorder (other processes), and read
back as a tree, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import SpanContext
from prometheus_client import CollectorRegistry

from tests.tracing.conftest import CollectingExporter
from vigil.models import RunCreate, SpanKind, SpanStatus, StepType, TraceTree
from vigil.sdk import AgentRecorder, StoreSink, run_context
from vigil.storage import EventStore, StoreUnavailable
from vigil.tracing import (
    StoreSpanExporter,
    TracingContext,
    setup_tracing,
    shutdown_tracing,
)


def test_parent_and_child_are_stored_and_read_back_as_a_tree(store: EventStore) -> None:
    setup_tracing("etl", store=store, langfuse=False)
    with TracingContext("job", {"rows": 3}) as parent:
        with TracingContext("extract"):
            pass
        with pytest.raises(KeyError), TracingContext("load", kind=SpanKind.CLIENT):
            raise KeyError("orders")
    shutdown_tracing()

    spans = store.get_trace(parent.trace_id)
    tree = TraceTree.of(parent.trace_id, spans)
    (root,) = tree.roots
    assert (root.name, root.span_id, root.parent_span_id) == ("job", parent.span_id, None)
    assert root.attributes == {"rows": 3}
    assert root.service == "etl"
    assert [child.name for child in root.children] == ["extract", "load"]
    load = root.children[1]
    assert (load.kind, load.status) == (SpanKind.CLIENT, SpanStatus.ERROR)
    assert load.status_message == "KeyError: 'orders'"
    assert load.attributes["exception.type"] == "KeyError"
    assert "Traceback" in str(load.attributes["exception.stacktrace"])


def test_a_span_inside_a_run_carries_its_run(store: EventStore) -> None:
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p1"))
    setup_tracing("agent", store=store, langfuse=False)
    with (
        run_context(run.id, project_id="p1"),
        TracingContext("step") as outer,
        TracingContext("inner"),
    ):
        pass
    with TracingContext("outside") as outside:
        pass
    shutdown_tracing()

    stored = {s.name: s for s in store.list_run_spans(run.id)}
    assert set(stored) == {"step", "inner"}
    assert {s.project_id for s in stored.values()} == {"p1"}
    assert "vigil.run_id" not in stored["step"].attributes  # a column, not an attribute
    (free,) = store.get_trace(outside.trace_id)
    assert free.run_id is None
    assert outer.trace_id != outside.trace_id


def test_an_unavailable_store_costs_the_batch_counted(store: EventStore) -> None:
    class DownStore:
        def write_spans(self, records: object, **_: object) -> int:
            list(records)  # type: ignore[call-overload]
            raise StoreUnavailable("database down")

    registry = CollectorRegistry()
    from vigil.sdk._drops import DropAccount
    from vigil.sdk._metrics import SdkMetrics

    drops = DropAccount(SdkMetrics.for_registry(registry), "etl")
    exporter = StoreSpanExporter(DownStore(), service="etl", drops=drops, max_attempts=2)  # type: ignore[arg-type]
    provider = TracerProvider()
    spans = CollectingExporter()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider.add_span_processor(SimpleSpanProcessor(spans))
    for n in range(3):
        provider.get_tracer("t").start_span(f"s{n}").end()
    assert exporter.export(spans.spans).name == "FAILURE"
    assert (
        registry.get_sample_value(
            "sdk_events_dropped_total", {"service": "etl", "reason": "sink_error"}
        )
        == 3
    )


def test_a_batch_exported_twice_is_stored_once(store: EventStore) -> None:
    """An exporter retrying after a lost commit: COPY fails on the key, the slower path
    skips what is stored (both backends)."""
    spans = CollectingExporter()
    setup_tracing("etl", exporters=[spans], langfuse=False)
    with TracingContext("a") as ctx, TracingContext("b"):
        pass
    shutdown_tracing()
    exporter = StoreSpanExporter(store, service="etl")
    assert exporter.export(spans.spans[:1]).name == "SUCCESS"
    assert exporter.export(spans.spans).name == "SUCCESS"  # one stored before, one new
    assert sorted(s.name for s in store.get_trace(ctx.trace_id)) == ["a", "b"]


def test_agent_spans_travel_through_the_recorder(store: EventStore) -> None:
    """Another process's agent: its spans become the recorder's events (the sink, the
    queue's backpressure and drop accounting apply), and steps and logs recorded inside
    carry the span's trace and span ids."""
    run = store.create_run(RunCreate(name="triage", agent="support", project_id="p1"))
    recorder = AgentRecorder(StoreSink(store), service="support", registry=CollectorRegistry())
    setup_tracing("support", recorder=recorder, langfuse=False)
    with recorder.span("plan", attributes={"goal": "refund"}, run_id=run.id) as span:
        recorder.log_step(run.id, StepType.THOUGHT, data={"text": "look the order up"})
        with recorder.span("tool.search", kind="client") as child:
            recorder.log("info", "searching", run_id=run.id)
    assert recorder.close()

    tree = TraceTree.of(span.trace_id, store.get_trace(span.trace_id))
    (root,) = tree.roots
    assert (root.name, root.run_id, root.attributes) == ("plan", run.id, {"goal": "refund"})
    (tool,) = root.children
    assert (tool.name, tool.kind, tool.run_id) == ("tool.search", SpanKind.CLIENT, run.id)
    (step,) = store.list_steps(run.id)
    assert step.trace_id == span.trace_id
    (log,) = store.query_logs(run_id=run.id).items
    assert (log.trace_id, log.span_id) == (child.trace_id, child.span_id)
    assert isinstance(root.run_id, UUID)
    assert trace.get_current_span().get_span_context().is_valid is False


def test_a_recorded_span_keeps_its_resources_service(store: EventStore) -> None:
    """The span's resource names its service (``setup_tracing``'s): through the recorder it
    is stored under that name, not under the recorder's own service."""
    recorder = AgentRecorder(StoreSink(store), service="recorder", registry=CollectorRegistry())
    setup_tracing("planner", recorder=recorder, langfuse=False)
    with recorder.span("plan") as span:
        pass
    assert recorder.close()
    shutdown_tracing()
    (stored,) = store.get_trace(span.trace_id)
    assert stored.service == "planner"


def _finished(name: str, span_id: int, start: object, end: object, **attributes: object) -> Any:
    context = SpanContext(int(TRACE, 16), span_id, is_remote=False)
    return ReadableSpan(
        name,
        context,
        attributes=attributes,
        start_time=start,
        end_time=end,  # type: ignore[arg-type]
    )


TRACE = "5bd66ef5095369c7b0d1f8f4bd33716a"


@pytest.mark.parametrize(
    "start",
    [300 * 10**18, 1.7e18, -(10**20)],  # past 9999 (a units mistake), a float, before year 1
    ids=["after-9999", "float", "before-year-1"],
)
def test_a_span_with_a_time_the_store_cannot_hold_costs_itself(
    store: EventStore, start: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Dropped alone and counted as invalid, as before times became nanoseconds: written, it
    would fail every later read of its trace (or, past 9999, the batch's conflict path)."""
    good = _finished("good", 1, 1_700_000_000 * 10**9, 1_700_000_001 * 10**9)
    bad = _finished("bad", 2, start, start)
    exporter = StoreSpanExporter(store, service="svc")
    with caplog.at_level(logging.WARNING, logger="vigil.tracing"):
        exporter.export([bad, good])
    assert [span.name for span in store.get_trace(TRACE)] == ["good"]
    assert "1 spans not stored (invalid)" in caplog.text


def test_only_vigils_request_span_skips_redaction(store: EventStore) -> None:
    """The store trusts the request span's own attributes (its path redacted at the source);
    another span with the same keys, an agent's, is redacted like any."""
    at = 1_700_000_000 * 10**9
    span = _finished("call", 3, at, at + 1, **{"url.path": "/v1/password=hunter2"})
    StoreSpanExporter(store, service="svc").export([span])
    (stored,) = store.get_trace(TRACE)
    assert "hunter2" not in str(stored.attributes["url.path"])
