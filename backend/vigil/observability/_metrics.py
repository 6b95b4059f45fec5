"""``MetricsCollector``: measurements from a program that is not a web service (a batch job,
a worker), in the store's ``measurements`` table, queryable like the controller's.

    metrics = MetricsCollector("postgresql+psycopg://vigil@db/vigil")
    metrics.counter("orders_loaded_total", 250, source="erp")
    metrics.histogram("batch_seconds", 12.5)
    metrics.get_percentile("batch_seconds", 0.95, hours=24)

A thin layer over ``EventStore.record_measurements`` / ``query_measurements`` /
``percentile``: each call is one synchronous write or query (an agent that must never wait
uses ``AgentRecorder.measure`` instead, which queues).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from vigil.models import MAX_PAGE_SIZE, MeasurementCreate, MeasurementKind, MeasurementPoint
from vigil.observability._store import StoreUser
from vigil.storage import EventStore

MAX_QUERY_POINTS: Final = 100_000
"""``query`` returns at most this many points (it pages through the store for you)."""


@dataclass(frozen=True, slots=True)
class Metric:
    """One measurement to record."""

    name: str
    value: float
    metric_type: MeasurementKind | str = MeasurementKind.GAUGE
    timestamp: datetime | None = None
    """When it was observed (an aware datetime); now when None."""
    labels: dict[str, str] = field(default_factory=dict)


class MetricsCollector(StoreUser):
    """Records and queries measurements; ``store`` is a URL (migrated here) or an open
    ``EventStore``. ``project_id`` is stored on every point and restricts the queries."""

    def __init__(self, store: str | EventStore, *, project_id: str | None = None) -> None:
        super().__init__(store)
        self.project_id = project_id

    def record(self, metric: Metric) -> None:
        """Store one measurement (``ValueError`` for a name or label the store refuses)."""
        point = MeasurementCreate(
            name=metric.name,
            value=float(metric.value),
            kind=MeasurementKind(metric.metric_type),
            recorded_at=metric.timestamp,
            labels=dict(metric.labels),
            project_id=self.project_id,
        )
        self.store.record_measurements([point], project_id=self.project_id)

    def counter(self, name: str, value: float = 1.0, **labels: str) -> None:
        """An increment of a counter (rates come from summing them over time)."""
        self.record(Metric(name, value, MeasurementKind.COUNTER, labels=labels))

    def gauge(self, name: str, value: float, **labels: str) -> None:
        """The current value of something (a queue length, a balance)."""
        self.record(Metric(name, value, MeasurementKind.GAUGE, labels=labels))

    def histogram(self, name: str, value: float, **labels: str) -> None:
        """One observation of a distribution (a duration): ``get_percentile`` reads these."""
        self.record(Metric(name, value, MeasurementKind.HISTOGRAM, labels=labels))

    def query(
        self,
        name: str,
        start: datetime | None = None,
        end: datetime | None = None,
        labels: dict[str, str] | None = None,
    ) -> list[MeasurementPoint]:
        """Points of ``name`` in ``[start, end)`` whose labels include ``labels``, oldest
        first (at most ``MAX_QUERY_POINTS``)."""
        points: list[MeasurementPoint] = []
        cursor = None
        while len(points) < MAX_QUERY_POINTS:
            page = self.store.query_measurements(
                name,
                since=start,
                until=end,
                labels=labels,
                limit=MAX_PAGE_SIZE,
                cursor=cursor,
                project_id=self.project_id,
            )
            points.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        return points[:MAX_QUERY_POINTS]

    def get_percentile(
        self,
        name: str,
        percentile: float = 0.5,
        hours: float = 24.0,
        labels: dict[str, str] | None = None,
    ) -> float | None:
        """The ``percentile`` (0.5, 0.95 or 0.99) of ``name`` over the last ``hours``,
        interpolated like ``percentile_cont``; None when there is no point."""
        return self.store.percentile(
            name,
            percentile,
            window=timedelta(hours=hours),
            labels=labels,
            project_id=self.project_id,
        )
