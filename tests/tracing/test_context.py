"""``TracingContext`` and ``get_tracer``: spans for any code, sync and async, errors recorded;
a no-op before any TracerProvider exists."""

from __future__ import annotations

import asyncio
import re

import pytest
from opentelemetry.trace import StatusCode

from tests.tracing.conftest import CollectingExporter
from vigil.tracing import (
    TracingContext,
    get_tracer,
    setup_tracing,
    shutdown_tracing,
    tracing_configured,
)

HEX32 = re.compile(r"[0-9a-f]{32}")
HEX16 = re.compile(r"[0-9a-f]{16}")


@pytest.fixture
def traced(collected: CollectingExporter) -> CollectingExporter:
    setup_tracing("context-tests", exporters=[collected], langfuse=False)
    return collected


def _flushed(collected: CollectingExporter) -> CollectingExporter:
    shutdown_tracing()
    return collected


def test_a_context_records_one_span_with_its_ids(traced: CollectingExporter) -> None:
    with TracingContext("load_orders", {"batch": 7, "query": {"source": "erp"}}) as ctx:
        ctx.set_attribute("rows", 250)
        ctx.add_event("checkpoint", {"at": 100})
    (span,) = _flushed(traced).spans
    assert (span.name, format(span.context.trace_id, "032x")) == ("load_orders", ctx.trace_id)
    assert format(span.context.span_id, "016x") == ctx.span_id
    assert HEX32.fullmatch(ctx.trace_id)
    assert HEX16.fullmatch(ctx.span_id)
    # A JSON object travels as its JSON text: OpenTelemetry takes primitives only.
    assert dict(span.attributes or {}) == {"batch": 7, "query": '{"source":"erp"}', "rows": 250}
    assert [(e.name, dict(e.attributes or {})) for e in span.events] == [
        ("checkpoint", {"at": 100})
    ]


def test_nested_contexts_are_parent_and_child(traced: CollectingExporter) -> None:
    with TracingContext("parent") as parent, TracingContext("child") as child:
        assert child.trace_id == parent.trace_id
    spans = {span.name: span for span in _flushed(traced).spans}
    assert spans["child"].parent is not None
    assert spans["child"].parent.span_id == spans["parent"].context.span_id
    assert spans["parent"].parent is None


def test_an_exception_is_recorded_with_status_error_and_reraised(
    traced: CollectingExporter,
) -> None:
    with pytest.raises(ValueError, match="bad row"), TracingContext("load"):
        raise ValueError("bad row 12")
    (span,) = _flushed(traced).spans
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError: bad row 12"
    (event,) = span.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"] == "ValueError"


def test_async_with_works_and_keeps_the_span_current(traced: CollectingExporter) -> None:
    async def work() -> tuple[str, str]:
        async with TracingContext("async-parent") as parent:
            await asyncio.sleep(0)
            async with TracingContext("async-child") as child:
                return parent.trace_id, child.trace_id

    parent_trace, child_trace = asyncio.run(work())
    assert parent_trace == child_trace
    assert sorted(_flushed(traced).names()) == ["async-child", "async-parent"]


def test_a_context_is_entered_once(traced: CollectingExporter) -> None:
    ctx = TracingContext("once")
    with ctx, pytest.raises(RuntimeError, match="already entered"), ctx:
        pass


def test_set_status_takes_vigils_statuses(traced: CollectingExporter) -> None:
    with TracingContext("checked") as ctx:
        ctx.set_status("error", "3 rows rejected")
    with pytest.raises(ValueError, match="not a valid SpanStatus"):
        ctx.set_status("broken")
    (span,) = _flushed(traced).spans
    assert (span.status.status_code, span.status.description) == (
        StatusCode.ERROR,
        "3 rows rejected",
    )


def test_without_a_provider_every_call_is_a_no_op() -> None:
    """Before setup_tracing (or without the SDK) the same calls work and record nothing;
    the ids are still valid ones, minted for the context."""
    assert not tracing_configured()
    with TracingContext("quiet", {"a": 1}) as ctx:
        ctx.set_attribute("b", 2)
        ctx.add_event("e")
        ctx.set_status("ok")
        assert ctx.span is None
    assert HEX32.fullmatch(ctx.trace_id)
    assert HEX16.fullmatch(ctx.span_id)
    with get_tracer("anything").start_as_current_span("proxy") as span:
        assert not span.is_recording()


def test_a_tracer_given_is_used_without_a_global_provider() -> None:
    """A tracer of a provider the application keeps to itself (never set as the global one)
    records the context's span: the no-op check is for the default tracer only."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    assert not tracing_configured()
    with TracingContext("quiet", tracer=get_tracer("vigil.agent")) as quiet:  # the API's proxy
        assert quiet.span is None  # still the no-op mode: nothing to record into
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with TracingContext("job", {"n": 1}, tracer=provider.get_tracer("mine")) as ctx:
        assert ctx.span is not None
    (span,) = exporter.get_finished_spans()
    assert (span.name, dict(span.attributes or {})) == ("job", {"n": 1})
    assert f"{span.context.trace_id:032x}" == ctx.trace_id
    provider.shutdown()


def test_the_no_op_check_reads_the_apis_global() -> None:
    """``tracing_configured`` reads OpenTelemetry's global provider directly (the public
    getter costs an environment lookup per call); the pinned API has it, None until set."""
    from opentelemetry import trace

    assert trace._TRACER_PROVIDER is None  # type: ignore[attr-defined]
    assert not tracing_configured()
    setup_tracing("configured", langfuse=False)
    assert trace._TRACER_PROVIDER is not None  # type: ignore[attr-defined]
    assert tracing_configured()
