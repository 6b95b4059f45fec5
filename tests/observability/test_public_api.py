"""The library surface for programs that are not web services is a decision: pinned here."""

import vigil.observability


def test_exported_names() -> None:
    assert sorted(vigil.observability.__all__) == [
        "HealthCheck",
        "HealthChecker",
        "HealthStatus",
        "MeasurementKind",
        "Metric",
        "MetricsCollector",
        "TracingContext",
        "WorkflowStateTracker",
        "WorkflowStatus",
        "ensure_observability_tables",
        "generate_correlation_id",
        "get_tracer",
        "setup_tracing",
        "shutdown_tracing",
    ]
    for name in vigil.observability.__all__:
        assert getattr(vigil.observability, name) is not None
