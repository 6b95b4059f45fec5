"""``MetricsCollector``, ``HealthChecker``, ``WorkflowStateTracker`` and
``ensure_observability_tables`` on SQLite and PostgreSQL, from a URL as a batch job uses
them: the records are the controller's (its store reads them back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.storage.test_migrations import HEAD_REVISION
from tests.tracing.conftest import CollectingExporter
from vigil.models import MeasurementKind, WorkflowStatus
from vigil.observability import (
    HealthChecker,
    Metric,
    MetricsCollector,
    TracingContext,
    WorkflowStateTracker,
    ensure_observability_tables,
    setup_tracing,
    shutdown_tracing,
)
from vigil.storage import Conflict, NotFound, current_revision, open_store


def test_ensure_tables_migrates_an_empty_database_idempotently(store_url: str) -> None:
    assert current_revision(store_url) is None
    ensure_observability_tables(store_url)
    ensure_observability_tables(store_url)
    assert current_revision(store_url) == HEAD_REVISION


def test_metrics_are_recorded_queried_and_summarized(store_url: str) -> None:
    metrics = MetricsCollector(store_url, project_id="etl")
    try:
        metrics.counter("orders_loaded_total", 250, source="erp")
        metrics.gauge("queue_depth", 12)
        for seconds in (1.0, 2.0, 3.0, 4.0, 100.0):
            metrics.histogram("batch_seconds", seconds, job="nightly")
        earlier = datetime.now(UTC) - timedelta(days=2)
        metrics.record(Metric("batch_seconds", 999.0, "histogram", earlier, {"job": "nightly"}))

        (point,) = metrics.query("orders_loaded_total", labels={"source": "erp"})
        assert (point.value, point.kind, point.project_id) == (
            250.0,
            MeasurementKind.COUNTER,
            "etl",
        )
        assert metrics.query("orders_loaded_total", labels={"source": "crm"}) == []
        recent = metrics.query("batch_seconds", start=datetime.now(UTC) - timedelta(hours=1))
        assert len(recent) == 5
        assert metrics.get_percentile("batch_seconds", 0.5, hours=24) == 3.0
        assert metrics.get_percentile("batch_seconds", 0.5, hours=72) == pytest.approx(3.5)
        assert metrics.get_percentile("missing", 0.95) is None
        with pytest.raises(ValueError, match="one of"):
            metrics.get_percentile("batch_seconds", 0.42)
        with pytest.raises(ValueError, match="name"):
            metrics.gauge("not a metric name", 1)
    finally:
        metrics.close()


def test_health_probes(store_url: str) -> None:
    loaded: list[bool] = []
    checker = HealthChecker(store_url, startup_check=lambda: bool(loaded))
    try:
        assert checker.liveness().healthy
        starting = checker.startup()
        assert (starting.healthy, starting.message, checker.startup_complete) == (
            False,
            "starting",
            False,
        )
        loaded.append(True)
        assert checker.startup().healthy
        loaded.clear()
        assert checker.startup().healthy, "once started, started for good"

        ready = checker.readiness()
        assert (ready.healthy, ready.details["store"]["status"]) == (True, "ok")

        def broken_queue() -> None:
            raise ConnectionError("queue at amqp://user:hunter2@mq/ refused")

        checker.add_check("queue", broken_queue)
        checker.add_check("api", lambda: False)
        not_ready = checker.readiness()
        assert not not_ready.healthy
        assert not_ready.message == "not ready: api, queue"
        assert "hunter2" not in str(not_ready.details["queue"]["error"])
        assert not_ready.checked_at.tzinfo is UTC
    finally:
        checker.close()


def test_workflows_move_through_phases_with_their_history(store_url: str) -> None:
    tracker = WorkflowStateTracker(store_url, project_id="etl")
    try:
        flow = tracker.create_workflow("nightly_etl", "order-batch-7", phase="extract")
        assert (flow.status, flow.phase, flow.project_id) == (
            WorkflowStatus.PENDING,
            "extract",
            "etl",
        )
        tracker.transition(flow.id, "load", WorkflowStatus.RUNNING)
        done = tracker.transition(str(flow.id), status="succeeded", reason="all rows loaded")
        assert (done.phase, done.status) == ("load", WorkflowStatus.SUCCEEDED)
        with pytest.raises(Conflict):
            tracker.transition(flow.id, "extract")
        assert tracker.get_workflow(flow.id) == done
        assert [t.to_phase for t in tracker.history(flow.id)] == ["extract", "load", "load"]
        assert [w.id for w in tracker.list_workflows(status="succeeded")] == [flow.id]
        assert tracker.list_workflows(correlation_id="order-batch-7")[0].id == flow.id
        other = WorkflowStateTracker(store_url, project_id="crm")
        with pytest.raises(NotFound):
            other.get_workflow(flow.id)
        other.close()
    finally:
        tracker.close()


@pytest.mark.usefixtures("fresh_tracing")
def test_a_workflow_created_in_a_span_is_joined_to_its_trace(store_url: str) -> None:
    ensure_observability_tables(store_url)
    with open_store(store_url) as store:
        collected = CollectingExporter()
        setup_tracing("etl", store=store, exporters=[collected], langfuse=False)
        tracker = WorkflowStateTracker(store)
        with TracingContext("nightly") as ctx:
            flow = tracker.create_workflow("nightly_etl")
        shutdown_tracing()
        assert flow.correlation_id == ctx.trace_id
        (span,) = store.get_trace(ctx.trace_id)
        assert span.name == "nightly"
        tracker.close()  # the store stays the caller's
        assert store.health_check()
