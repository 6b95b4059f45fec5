"""``traceparent`` on outgoing HTTP calls, so the service called continues the trace.

    client = httpx.Client(event_hooks={"request": [traceparent_hook]})

``inject_traceparent`` writes the W3C ``traceparent`` (and ``tracestate``) of the current span
into a header mapping, through the global propagator (``opentelemetry.propagate``: W3C trace
context and baggage unless ``OTEL_PROPAGATORS`` says otherwise). Outside a span, or without
OpenTelemetry, it writes nothing.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING

from vigil.tracing._otel import API_INSTALLED, otel_trace

if TYPE_CHECKING:
    import httpx


def inject_traceparent(headers: MutableMapping[str, str]) -> None:
    """Add the current trace context to ``headers`` (nothing outside a span)."""
    if not API_INSTALLED or not otel_trace.get_current_span().get_span_context().is_valid:
        return
    from opentelemetry import propagate

    propagate.inject(headers)


def traceparent_hook(request: httpx.Request) -> None:
    """An httpx ``request`` event hook: ``inject_traceparent`` on every request sent."""
    inject_traceparent(request.headers)


async def async_traceparent_hook(request: httpx.Request) -> None:
    """``traceparent_hook`` for ``httpx.AsyncClient`` (its hooks are coroutines)."""
    inject_traceparent(request.headers)
