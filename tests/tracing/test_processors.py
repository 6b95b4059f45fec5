"""``CountingBatchSpanProcessor``: OpenTelemetry's BatchSpanProcessor discards its oldest
span when its queue is full and counts nothing (opentelemetry-python #3152); Vigil counts
each drop and logs the count at most once a second."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry

from vigil.sdk._drops import DropAccount
from vigil.sdk._metrics import SdkMetrics
from vigil.tracing import CountingBatchSpanProcessor

SERVICE = "drops"


class StalledExporter(SpanExporter):
    """Holds its first export until released, so the processor's queue fills up."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.release.wait(10)
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


def test_the_sdks_queue_is_where_vigil_looks() -> None:
    """The attributes the counting relies on exist in the pinned opentelemetry-sdk."""
    processor = BatchSpanProcessor(StalledExporter(), max_queue_size=7, max_export_batch_size=5)
    try:
        batch = processor._batch_processor
        assert batch._max_queue_size == 7
        assert len(batch._queue) == 0
    finally:
        processor.shutdown()


def test_spans_dropped_by_a_full_queue_are_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    drops = DropAccount(SdkMetrics.for_registry(registry), SERVICE)
    exporter = StalledExporter()
    processor = CountingBatchSpanProcessor(
        exporter, drops=drops, max_queue_size=10, max_export_batch_size=5,
        schedule_delay_millis=10,
    )  # fmt: skip
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("test")
    with caplog.at_level(logging.WARNING, logger="vigil.sdk"):
        tracer.start_span("first").end()  # taken by the worker, which then stalls
        deadline = threading.Event()
        while len(processor._batch_processor._queue) and not deadline.wait(0.01):
            pass
        for n in range(40):
            tracer.start_span(f"span-{n}").end()
    exporter.release.set()
    provider.shutdown()

    dropped = registry.get_sample_value(
        "sdk_events_dropped_total", {"service": SERVICE, "reason": "span_queue_full"}
    )
    # 40 more spans into a queue of 10 while the exporter stalls: 30 of them were dropped.
    assert dropped == 30
    assert exporter.exported == 1 + 10
    summaries = [r for r in caplog.records if r.name == "vigil.sdk"]
    assert summaries, "the drops are reported in the log"
    assert len(summaries) <= 2  # at most once a second (the first drop, then the rest)
    assert summaries[0].__dict__["dropped_events"]["span_queue_full"] >= 1
    # Every drop is in the log by the end (only the first of the burst was, before).
    logged = sum(r.__dict__["dropped_events"]["span_queue_full"] for r in summaries)
    assert logged == dropped


class TimedShutdownExporter(SpanExporter):
    """An exporter whose shutdown takes a timeout, as OTLP's does."""

    def __init__(self) -> None:
        self.shutdown_timeouts: list[float] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        self.shutdown_timeouts.append(timeout_millis)


def test_an_exporters_shutdown_gets_what_is_left_of_the_processors_timeout() -> None:
    """The processor hands its exporter the remaining timeout when it takes one: Vigil's
    wrapper (which reports drops after each export) passes it on."""
    exporter = TimedShutdownExporter()
    drops = DropAccount(SdkMetrics.for_registry(CollectorRegistry()), SERVICE)
    processor = CountingBatchSpanProcessor(exporter, drops=drops)
    processor.shutdown()
    (timeout,) = exporter.shutdown_timeouts
    assert 0 < timeout < 30_000  # the processor's remaining time, not the exporter's default
