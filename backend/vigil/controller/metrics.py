"""The controller's own metrics (beyond the RED metrics of every instrumented service):
housekeeping and reconciliation. The one place that knows their names."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ControllerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs_abandoned = Counter(
            "vigil_runs_abandoned", "Runs marked abandoned after going quiet.", registry=registry
        )
        self.logs_deleted = Counter(
            "vigil_logs_deleted", "Log records deleted by retention.", registry=registry
        )
        self.alerts_reconciled = Counter(
            "vigil_alerts_reconciled",
            "Firing alerts resolved because Alertmanager no longer held them.",
            registry=registry,
        )
        self.reconcile_failures = Counter(
            "vigil_alert_reconcile_failures",
            "Reconciliation rounds that could not reach Alertmanager.",
            registry=registry,
        )
        self.disk_free_bytes = Gauge(
            "vigil_disk_free_bytes",
            "Free space where the controller writes, as its readiness probe saw it.",
            ("path",),
            registry=registry,
        )
