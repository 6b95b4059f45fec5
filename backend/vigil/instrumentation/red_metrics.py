"""RED metrics (rate, errors, duration) for HTTP requests: the one place that knows their names.

Names and labels are a contract with ``prometheus/rules/*.yml`` and the Grafana dashboards:
``request_count`` is exposed as ``request_count_total`` and so on (prometheus_client appends
``_total`` to counters). Label children are cached per label tuple: ``labels()`` costs ~2 us, a
cached child ~0.5 us, and every label is bounded so the cache is too.

``request_count`` and ``response_status_count`` have the duration histogram's labels and
count exactly its observations, so they are not counted a second and third time per request:
a collector (``_ObservationCounts``) reads them off the histogram's ``_count`` (and
``_created``) samples at each scrape. The exposition is the one two ``Counter`` objects gave.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

REQUEST_LABELS = ("service", "endpoint", "method", "status", "project_id")

# 1 ms to 10 s: fine resolution where API latency lives, and the 1 s edge the p99 alert needs.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Methods outside this set (clients may send anything) share one label value.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
OTHER_METHOD = "other"


@dataclass(slots=True)
class RequestObservation:
    """What one finished HTTP request looked like, as the telemetry middleware saw it.

    Not ``frozen``: a frozen dataclass sets each field through ``object.__setattr__``, ~1 us
    more per request; nobody changes it after the middleware made it."""

    method: str
    path: str
    endpoint: str
    status: int
    duration_s: float
    project_id: str
    client: str | None
    trace_id: str | None = None
    """The request's sampled trace, when tracing is on: the latency exemplar's label."""


class RedMetrics:
    """The request metrics of one registry; use :meth:`for_registry` to get the shared instance."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.request_duration_seconds = Histogram(
            "request_duration_seconds",
            "HTTP request duration, from the first byte received to the last byte sent.",
            REQUEST_LABELS,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        registry.register(
            _ObservationCounts(
                self.request_duration_seconds,
                (
                    ("request_count", "HTTP requests served."),
                    ("response_status_count", "HTTP responses by status code."),
                ),
            )
        )
        self.requests_in_progress = Gauge(
            "requests_in_progress",
            "HTTP requests being served.",
            ("service", "method"),
            registry=registry,
        )
        self.unhandled_exceptions = Counter(
            "unhandled_exceptions",
            "Exceptions that escaped the application, by type.",
            ("service", "endpoint", "exception_type"),
            registry=registry,
        )
        self._children: dict[tuple[str, ...], Histogram] = {}
        self._in_progress: dict[tuple[str, str], Gauge] = {}

    _by_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, RedMetrics]] = (
        weakref.WeakKeyDictionary()
    )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> RedMetrics:
        """The RED metrics registered in ``registry``, created on first use.

        Several instrumented apps in one process (tests, sub-apps) share one set of metrics per
        registry instead of failing on duplicate registration.
        """
        metrics = cls._by_registry.get(registry)
        if metrics is None:
            metrics = cls._by_registry[registry] = cls(registry)
        return metrics

    def in_progress(self, service: str, method: str) -> Gauge:
        """The in-progress gauge child for a (bounded) method."""
        key = (service, bounded_method(method))
        gauge = self._in_progress.get(key)
        if gauge is None:
            gauge = self._in_progress[key] = self.requests_in_progress.labels(*key)
        return gauge

    def observe(self, service: str, observation: RequestObservation) -> None:
        """Count one finished request and record its duration."""
        key = (
            service,
            observation.endpoint,
            bounded_method(observation.method),
            str(observation.status),
            observation.project_id,
        )
        duration = self._children.get(key)
        if duration is None:
            duration = self._children[key] = self.request_duration_seconds.labels(*key)
        if observation.trace_id is None:
            duration.observe(observation.duration_s)
        else:  # rendered in the OpenMetrics exposition only (prometheus_client's rule)
            duration.observe(observation.duration_s, {"trace_id": observation.trace_id})

    def count_exception(self, service: str, endpoint: str, exc: BaseException) -> None:
        """Count an exception that escaped the application."""
        self.unhandled_exceptions.labels(service, endpoint, type(exc).__name__).inc()


class _ObservationCounts(Collector):
    """Counters that count a histogram's observations, by its labels: each family's value
    (and ``_created``) is the histogram's ``_count`` (and ``_created``) of those labels."""

    def __init__(self, histogram: Histogram, counters: Iterable[tuple[str, str]]) -> None:
        self._histogram = histogram
        self._counters = tuple(counters)

    def describe(self) -> Iterator[Metric]:  # the names, for the registry's duplicate check
        for name, documentation in self._counters:
            yield CounterMetricFamily(name, documentation, labels=REQUEST_LABELS)

    def collect(self) -> Iterator[Metric]:
        counts: dict[tuple[str, ...], float] = {}
        created: dict[tuple[str, ...], float] = {}
        for metric in self._histogram.collect():
            for sample in metric.samples:
                if sample.name.endswith("_count"):
                    counts[tuple(sample.labels[label] for label in REQUEST_LABELS)] = sample.value
                elif sample.name.endswith("_created"):
                    created[tuple(sample.labels[label] for label in REQUEST_LABELS)] = sample.value
        for name, documentation in self._counters:
            family = CounterMetricFamily(name, documentation, labels=REQUEST_LABELS)
            for labels, value in counts.items():
                family.add_metric(labels, value, created=created.get(labels))
            yield family


def bounded_method(method: str) -> str:
    """The method label: known HTTP methods as they are, anything else ``other``."""
    return method if method in KNOWN_METHODS else OTHER_METHOD
