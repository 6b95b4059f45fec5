"""RED metrics (rate, errors, duration) for HTTP requests: the one place that knows their names.

Names and labels are a contract with ``prometheus/rules/*.yml`` and the Grafana dashboards:
``request_count`` is exposed as ``request_count_total`` and so on (prometheus_client appends
``_total`` to counters). Every label is bounded, so the series are too.

``request_duration_seconds`` is a ``LatencyHistogram`` (``latency_histogram``): a request
appends its duration to its series' deque, and the durations are put in buckets in batches
(at a scrape, or every ``FOLD_AT`` requests of a series), where prometheus_client's
``Histogram.observe`` took two locks and walked the buckets on every request. The
exposition is the one a ``Histogram`` gave.

``request_count`` and ``response_status_count`` have the duration histogram's labels and
count exactly its observations, so they are not counted a second and third time per request:
a collector (``_ObservationCounts``) reads them off the histogram's counts (and creation
times) at each scrape. The exposition is the one two ``Counter`` objects gave.

``requests_in_progress`` is a collector too (``_RequestsInProgress``): a request appends to
its (service, method) deque on entry and pops on exit, and a scrape reads the lengths.
``deque.append`` and ``pop`` are thread-safe (the ``collections`` documentation says so), one
C call each, where a ``Gauge`` child's ``inc``/``dec`` each go through three Python calls and
a lock (~9,700 instructions a request for the pair, against ~1,000). The exposition is the
one a ``Gauge`` gave.

Both collectors live in the process's memory: prometheus_client's multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, one registry over several worker processes) is not
supported; run one scrape target per process.
"""

from __future__ import annotations

import time
import weakref
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from prometheus_client import CollectorRegistry, Counter
from prometheus_client import metrics as _prometheus_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vigil.instrumentation.latency_histogram import FOLD_AT, LatencyHistogram

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
        self.request_duration_seconds = LatencyHistogram(
            "request_duration_seconds",
            "HTTP request duration, from the first byte received to the last byte sent.",
            REQUEST_LABELS,
            buckets=DURATION_BUCKETS,
        )
        registry.register(self.request_duration_seconds)
        registry.register(
            _ObservationCounts(
                self.request_duration_seconds,
                (
                    ("request_count", "HTTP requests served."),
                    ("response_status_count", "HTTP responses by status code."),
                ),
            )
        )
        self.requests_in_progress = _RequestsInProgress()
        registry.register(self.requests_in_progress)
        self.unhandled_exceptions = Counter(
            "unhandled_exceptions",
            "Exceptions that escaped the application, by type.",
            ("service", "endpoint", "exception_type"),
            registry=registry,
        )
        self._waiting: dict[tuple[str, ...], deque[float | tuple[float, str, float]]] = {}

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

    def in_progress(self, service: str, method: str) -> deque[None]:
        """The requests in progress for a (bounded) method: ``append(None)`` when one starts,
        ``pop()`` when it is done."""
        return self.requests_in_progress.of(service, bounded_method(method))

    def observe(self, service: str, observation: RequestObservation) -> None:
        """Count one finished request and record its duration."""
        method = observation.method
        key = (
            service,
            observation.endpoint,
            method if method in KNOWN_METHODS else OTHER_METHOD,  # bounded_method, inline
            str(observation.status),
            observation.project_id,
        )
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = self._waiting[key] = self.request_duration_seconds.waiting(key)
        if observation.trace_id is None:
            waiting.append(observation.duration_s)
        else:  # rendered in the OpenMetrics exposition only (prometheus_client's rule)
            waiting.append((observation.duration_s, observation.trace_id, time.time()))
        if len(waiting) >= FOLD_AT:
            self.request_duration_seconds.fold()

    def count_exception(self, service: str, endpoint: str, exc: BaseException) -> None:
        """Count an exception that escaped the application."""
        self.unhandled_exceptions.labels(service, endpoint, type(exc).__name__).inc()


class _ObservationCounts(Collector):
    """Counters that count a histogram's observations, by its labels: each family's value
    (and ``_created``) is the histogram's count (and creation time) of those labels."""

    def __init__(self, histogram: LatencyHistogram, counters: Iterable[tuple[str, str]]) -> None:
        self._histogram = histogram
        self._counters = tuple(counters)

    def describe(self) -> Iterator[Metric]:  # the names, for the registry's duplicate check
        for name, documentation in self._counters:
            yield CounterMetricFamily(name, documentation, labels=REQUEST_LABELS)

    def collect(self) -> Iterator[Metric]:
        counts = list(self._histogram.counts())
        created_series = _prometheus_metrics._use_created
        for name, documentation in self._counters:
            family = CounterMetricFamily(name, documentation, labels=REQUEST_LABELS)
            for labels, value, created in counts:
                family.add_metric(labels, value, created=created if created_series else None)
            yield family


class _RequestsInProgress(Collector):
    """The ``requests_in_progress`` gauge, by service and method: the length of a deque
    per label pair that requests append to and pop from."""

    NAME = "requests_in_progress"
    DOCUMENTATION = "HTTP requests being served."
    LABELS = ("service", "method")

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str], deque[None]] = {}

    def of(self, service: str, method: str) -> deque[None]:
        """The deque of one label pair (made on first use; setdefault keeps one per pair
        when threads race to make it)."""
        requests = self._requests.get((service, method))
        if requests is None:
            requests = self._requests.setdefault((service, method), deque())
        return requests

    def describe(self) -> Iterator[Metric]:  # the name, for the registry's duplicate check
        yield GaugeMetricFamily(self.NAME, self.DOCUMENTATION, labels=self.LABELS)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.NAME, self.DOCUMENTATION, labels=self.LABELS)
        for labels, requests in list(self._requests.items()):  # list(): one atomic copy
            family.add_metric(labels, float(len(requests)))
        yield family


def bounded_method(method: str) -> str:
    """The method label: known HTTP methods as they are, anything else ``other``."""
    return method if method in KNOWN_METHODS else OTHER_METHOD
