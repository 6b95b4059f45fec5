"""The controller's own metrics (beyond the RED metrics of every instrumented service):
housekeeping, reconciliation and backups. The one place that knows their names."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric


class UnsetGauge:
    """A gauge without a sample until it is first set: ``vigil_backup_last_success_timestamp_
    seconds`` must not read 0 ("the last backup was in 1970", which BackupStale would page on)
    on a controller that takes no backups and knows of none."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self.name = name
        self.documentation = documentation
        self.value: float | None = None
        registry.register(self)

    def set(self, value: float) -> None:
        self.value = value

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self.name, self.documentation)

    def collect(self) -> Iterator[Metric]:
        if self.value is not None:
            yield GaugeMetricFamily(self.name, self.documentation, value=self.value)


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
        self.backup_last_success = UnsetGauge(
            "vigil_backup_last_success_timestamp_seconds",
            "When the newest complete backup in the backup location finished (Unix time); "
            "0 once a scheduled controller's backup failed and there is none at all; absent "
            "before any is known.",
            registry,
        )
        self.backup_duration = Gauge(
            "vigil_backup_duration_seconds",
            "How long the last backup of this controller took (successful or not).",
            registry=registry,
        )
        self.backup_failures = Counter(
            "vigil_backup_failures", "Backups of this controller that failed.", registry=registry
        )
