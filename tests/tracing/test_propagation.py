"""``traceparent`` on outgoing HTTP calls: the service called continues the caller's trace."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import CollectorRegistry

import vigil
from tests.instrumentation.conftest import build_app
from tests.tracing.conftest import CollectingExporter
from vigil.tracing import (
    TracingContext,
    async_traceparent_hook,
    inject_traceparent,
    parse_traceparent,
    setup_tracing,
    shutdown_tracing,
    traceparent_hook,
)


def test_nothing_is_injected_outside_a_span(collected: CollectingExporter) -> None:
    setup_tracing("caller", exporters=[collected], langfuse=False)
    headers: dict[str, str] = {}
    inject_traceparent(headers)
    assert headers == {}


def test_the_hook_sends_the_current_span(collected: CollectingExporter) -> None:
    setup_tracing("caller", exporters=[collected], langfuse=False)
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(204))
    with (
        httpx.Client(transport=transport, event_hooks={"request": [traceparent_hook]}) as client,
        TracingContext("call") as ctx,
    ):
        client.get("http://service.test/items/1")
    parsed = parse_traceparent(sent[0].headers["traceparent"])
    assert parsed is not None
    trace_id, span_id, flags = parsed
    assert (format(trace_id, "032x"), format(span_id, "016x")) == (ctx.trace_id, ctx.span_id)
    assert flags & 0x01  # sampled


def test_the_called_service_continues_the_trace(collected: CollectingExporter) -> None:
    """Caller and callee in one trace: the callee's server span is the caller's child."""
    app = build_app()
    vigil.instrument(app, service="callee", registry=CollectorRegistry(), configure_logs=False,
                     tracing=True)  # fmt: skip
    setup_tracing("caller", exporters=[collected], langfuse=False)

    async def call() -> str:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://callee.test",
            event_hooks={"request": [async_traceparent_hook]},
        ) as client:
            with TracingContext("client.call") as ctx:
                response = await client.get("/items/7")
                assert response.status_code == 200
            return ctx.span_id

    caller_span = asyncio.run(call())
    shutdown_tracing()
    spans = {span.name: span for span in collected.spans}
    server = spans["GET /items/{item_id}"]
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == caller_span
    assert server.context.trace_id == spans["client.call"].context.trace_id
