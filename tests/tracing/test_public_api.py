"""The public surface of ``vigil.tracing`` is a decision: this test pins it."""

import vigil.tracing


def test_exported_names() -> None:
    assert sorted(vigil.tracing.__all__) == [
        "AGENT_SCOPE",
        "CountingBatchSpanProcessor",
        "DEFAULT_SCOPE",
        "HTTP_SCOPE",
        "PROJECT_ID",
        "REQUEST_ID",
        "RUN_ID",
        "RecorderSpanExporter",
        "StoreSpanExporter",
        "TRACEPARENT_HEADER",
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
    for name in vigil.tracing.__all__:
        assert getattr(vigil.tracing, name) is not None
