"""Observability for programs that are not web services (batch jobs, workers), from one
place: tracing, measurements, health probes and workflow state, on Vigil's store.

    from vigil.observability import (
        HealthChecker, MetricsCollector, TracingContext, WorkflowStateTracker,
        ensure_observability_tables, setup_tracing,
    )

    url = "postgresql+psycopg://vigil@db/vigil"
    ensure_observability_tables(url)
    setup_tracing("nightly-etl", store=...)          # optional: spans into the same store
    metrics, workflows = MetricsCollector(url), WorkflowStateTracker(url)
    with TracingContext("load_orders"):
        flow = workflows.create_workflow("nightly_etl", phase="extract")
        metrics.counter("orders_loaded_total", 250)

Each name is a thin layer over what the controller uses (the ``EventStore``, the tracing of
``vigil.tracing``), so these records are the ones ``/measurements``, ``/workflows`` and
``/traces`` serve. Guide: docs/tracing.md ("Programs that are not web services").
"""

from vigil.models import MeasurementKind, WorkflowStatus
from vigil.observability._health import HealthCheck, HealthChecker, HealthStatus
from vigil.observability._metrics import Metric, MetricsCollector
from vigil.observability._store import ensure_observability_tables
from vigil.observability._workflows import WorkflowStateTracker
from vigil.tracing import (
    TracingContext,
    generate_correlation_id,
    get_tracer,
    setup_tracing,
    shutdown_tracing,
)

__all__ = [
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
