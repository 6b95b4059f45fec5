"""The SDK's own metrics: the one place that knows their names.

``sdk_events_dropped`` is exposed as ``sdk_events_dropped_total`` (prometheus_client appends
``_total`` to counters; likewise ``sdk_events_spooled_total``, ``sdk_events_replayed_total``);
alert rules and dashboards must use the exposed names. Metrics are registered once per
registry (the controller passes its own, agents default to the global one), so several
recorders in one process share them instead of failing on duplicates.
"""

from __future__ import annotations

import threading
import weakref
from enum import StrEnum
from typing import ClassVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

# A batch of 1,000 events takes ~20 ms into SQLite and ~50 ms into PostgreSQL here; retries
# and timeouts land in the upper buckets.
WRITE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class DropReason(StrEnum):
    """Why the SDK gave up on an event; the ``reason`` label of ``sdk_events_dropped_total``."""

    QUEUE_FULL = "queue_full"
    """The queue stayed full for ``put_timeout`` (the sink is slower than the producers)."""
    SPAN_QUEUE_FULL = "span_queue_full"
    """The queue of a tracing exporter (OpenTelemetry's ``BatchSpanProcessor``) was full, so
    it discarded its oldest span (``vigil.tracing``)."""
    INVALID = "invalid"
    """The event failed the model's validation in the writer thread (a field over a limit)."""
    REJECTED = "rejected"
    """The sink refused the event as invalid (an unknown run, an HTTP 4xx)."""
    SINK_ERROR = "sink_error"
    """The sink stayed unavailable through every retry (database down, HTTP 5xx), and no
    spool is configured (or the sink failed in a way that is not "unavailable")."""
    SPOOL_FULL = "spool_full"
    """The sink was unavailable and the spool could not take the batch: its ``max_bytes``
    would be passed (or the disk is full)."""
    CLOSED = "closed"
    """Recorded after ``close()``, or still queued when ``close()`` gave up waiting."""


class EventKind(StrEnum):
    """The ``kind`` label of ``sdk_events_written_total``: the ``event`` field of a batch."""

    STEP = "step"
    LOG = "log"
    MEASUREMENT = "measurement"
    SPAN = "span"
    RUN_START = "run_start"
    RUN_FINISH = "run_finish"


class SdkMetrics:
    """The SDK metrics of one registry; use :meth:`for_registry` to get the shared instance."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_dropped = Counter(
            "sdk_events_dropped",
            "Events the agent SDK gave up on, by reason.",
            ("service", "reason"),
            registry=registry,
        )
        self.events_written = Counter(
            "sdk_events_written",
            "Events the agent SDK's writer stored through its sink, by kind.",
            ("service", "kind"),
            registry=registry,
        )
        self.queue_depth = Gauge(
            "sdk_queue_depth",
            "Events waiting in the agent SDK's queue (sampled by the writer thread).",
            ("service",),
            registry=registry,
        )
        self.spool_events = Gauge(
            "sdk_spool_events",
            "Events the agent SDK keeps in its spool file until its sink takes them again.",
            ("service",),
            registry=registry,
        )
        self.spool_bytes = Gauge(
            "sdk_spool_bytes",
            "JSON bytes the agent SDK keeps in its spool file (bounded by spool_max_bytes).",
            ("service",),
            registry=registry,
        )
        self.events_spooled = Counter(
            "sdk_events_spooled",
            "Events the agent SDK put in its spool because its sink was unavailable.",
            ("service",),
            registry=registry,
        )
        self.events_replayed = Counter(
            "sdk_events_replayed",
            "Events the agent SDK sent from its spool and its sink stored.",
            ("service",),
            registry=registry,
        )
        self.batch_write_seconds = Histogram(
            "sdk_batch_write_seconds",
            "Duration of each call of the agent SDK's writer to its sink, failed ones included.",
            ("service",),
            buckets=WRITE_BUCKETS,
            registry=registry,
        )

    _by_registry: ClassVar[weakref.WeakKeyDictionary[CollectorRegistry, SdkMetrics]] = (
        weakref.WeakKeyDictionary()
    )
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def for_registry(cls, registry: CollectorRegistry | None = None) -> SdkMetrics:
        """The SDK metrics registered in ``registry`` (default: the global one), created on
        first use."""
        registry = REGISTRY if registry is None else registry
        with cls._lock:  # two recorders starting in two threads must not register twice
            metrics = cls._by_registry.get(registry)
            if metrics is None:
                metrics = cls._by_registry[registry] = cls(registry)
            return metrics
