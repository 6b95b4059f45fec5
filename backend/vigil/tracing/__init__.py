"""Tracing on OpenTelemetry: one tracing API for the controller, instrumented services,
agents and batch jobs, with Vigil's store (and Langfuse) as places spans go.

    from vigil.tracing import TracingContext, setup_tracing, shutdown_tracing

    setup_tracing("nightly-etl", store=store)          # or recorder=..., exporters=[...]
    with TracingContext("load_orders", {"batch": 7}) as ctx:
        ...                                            # logs carry ctx.trace_id
    shutdown_tracing()

Without the OpenTelemetry SDK (the ``tracing`` extra) every call works and does nothing.
The exporters and processors need the SDK and are imported on first use, as is
``TracingContext`` (its module loads ``vigil.models``). Guide, the
TracerProvider rule and what goes to Langfuse: docs/tracing.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from vigil.tracing._attributes import PROJECT_ID, REQUEST_ID, RUN_ID
from vigil.tracing._ids import (
    TRACEPARENT_HEADER,
    current_trace_ids,
    format_traceparent,
    generate_correlation_id,
    parse_traceparent,
)
from vigil.tracing._propagation import (
    async_traceparent_hook,
    inject_traceparent,
    traceparent_hook,
)
from vigil.tracing._setup import setup_tracing, shutdown_tracing

if TYPE_CHECKING:
    from vigil.tracing._context import (
        AGENT_SCOPE,
        DEFAULT_SCOPE,
        HTTP_SCOPE,
        TracingContext,
        get_tracer,
        tracing_configured,
    )
    from vigil.tracing._exporters import RecorderSpanExporter, StoreSpanExporter
    from vigil.tracing._langfuse import langfuse_span_filter
    from vigil.tracing._processors import CountingBatchSpanProcessor

_CONTEXT_NAMES: Final = (
    "AGENT_SCOPE",
    "DEFAULT_SCOPE",
    "HTTP_SCOPE",
    "TracingContext",
    "get_tracer",
    "tracing_configured",
)
_ON_FIRST_USE: Final = {
    # TracingContext's module loads vigil.models (pydantic, ~3,700 objects): the JSON log
    # lines of every instrumented service read the trace ids from here, and a service that
    # never opens a TracingContext must not keep the models for its collector to walk.
    **dict.fromkeys(_CONTEXT_NAMES, "vigil.tracing._context"),
    # These need the SDK.
    "CountingBatchSpanProcessor": "vigil.tracing._processors",
    "RecorderSpanExporter": "vigil.tracing._exporters",
    "StoreSpanExporter": "vigil.tracing._exporters",
    "langfuse_span_filter": "vigil.tracing._langfuse",
}

__all__ = [
    "AGENT_SCOPE",
    "DEFAULT_SCOPE",
    "HTTP_SCOPE",
    "PROJECT_ID",
    "REQUEST_ID",
    "RUN_ID",
    "TRACEPARENT_HEADER",
    "CountingBatchSpanProcessor",
    "RecorderSpanExporter",
    "StoreSpanExporter",
    "TracingContext",
    "async_traceparent_hook",
    "current_trace_ids",
    "format_traceparent",
    "generate_correlation_id",
    "get_tracer",
    "inject_traceparent",
    "langfuse_span_filter",
    "parse_traceparent",
    "setup_tracing",
    "shutdown_tracing",
    "traceparent_hook",
    "tracing_configured",
]


def __getattr__(name: str) -> Any:
    home = _ON_FIRST_USE.get(name)
    if home is None:
        raise AttributeError(f"module 'vigil.tracing' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
