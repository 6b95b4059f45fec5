"""The span processors Vigil adds to a TracerProvider.

A TracerProvider can gain processors but never lose one, and tracing is set up and shut down
more than once per process (a controller per test, an application's own provider kept across
restarts of Vigil's part). So Vigil adds one ``SpanRouter`` per provider, once, and routes
finished spans to its current destinations, which ``setup_tracing`` and ``shutdown_tracing``
add and remove. The router also stamps each span started inside a ``run_context`` with its
run and project, which the exporters store as columns.

``CountingBatchSpanProcessor`` is OpenTelemetry's ``BatchSpanProcessor`` with its drops
counted: when the queue is full it discards the oldest span with no metric of its own
(opentelemetry-python #3152). Vigil counts each in ``sdk_events_dropped_total`` with reason
``span_queue_full``, and logs the count at most once a second (the SDK's ``DropAccount``).
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import get_current_span

from vigil._run_context import current_project, current_run_id
from vigil.sdk._metrics import DropReason
from vigil.tracing._attributes import PROJECT_ID, RUN_ID

if TYPE_CHECKING:
    from vigil.sdk._drops import DropAccount

logger = logging.getLogger("vigil.tracing")


class SpanRouter(SpanProcessor):
    """Vigil's one processor on a TracerProvider: correlation on start, destinations on end."""

    def __init__(self) -> None:
        self._destinations: tuple[SpanProcessor, ...] = ()
        self._lock = threading.Lock()

    @property
    def destinations(self) -> tuple[SpanProcessor, ...]:
        return self._destinations

    def add(self, processor: SpanProcessor) -> None:
        with self._lock:
            self._destinations = (*self._destinations, processor)

    def remove(self, processor: SpanProcessor) -> None:
        with self._lock:
            self._destinations = tuple(p for p in self._destinations if p is not processor)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if getattr(span, "hex_ids", None) is not None:
            return  # a request span: its project is known at its end (``RequestTracer``)
        attributes = span.attributes or {}
        if RUN_ID not in attributes:
            run_id: Any = current_run_id()
            if run_id is None:  # a child of a span of a run belongs to that run
                parent = get_current_span(parent_context)
                parent_attributes = getattr(parent, "attributes", None)
                if parent_attributes:
                    run_id = parent_attributes.get(RUN_ID)
            if run_id is not None:
                span.set_attribute(RUN_ID, str(run_id))
        if PROJECT_ID not in attributes:
            project = current_project()
            if project is not None:
                span.set_attribute(PROJECT_ID, project)

    def on_end(self, span: ReadableSpan) -> None:
        for destination in self._destinations:
            destination.on_end(span)

    def shutdown(self) -> None:
        for destination in self._destinations:
            destination.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return all(d.force_flush(timeout_millis) for d in self._destinations)


class _ReportingExporter(SpanExporter):
    """The processor's exporter, which reports the drops counted since the last report after
    each export, if due: the processor's worker calls it for as long as spans come, so the
    end of a burst of drops is logged too, not only its first drop."""

    def __init__(self, exporter: SpanExporter, drops: DropAccount) -> None:
        self.exporter = exporter
        self._drops = drops

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            return self.exporter.export(spans)
        finally:
            self._drops.report_if_due()

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        # The processor passes what is left of its own timeout when the exporter takes one
        # (the SDK checks the signature): passed on only to an exporter that does.
        if "timeout_millis" in inspect.signature(self.exporter.shutdown).parameters:
            self.exporter.shutdown(timeout_millis=timeout_millis)  # type: ignore[call-arg]
        else:
            self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.exporter.force_flush(timeout_millis)


class CountingBatchSpanProcessor(BatchSpanProcessor):
    """``BatchSpanProcessor`` that counts the spans its full queue drops, and logs them at
    most once a second, the last of them at the latest on ``force_flush`` or ``shutdown``."""

    def __init__(self, exporter: SpanExporter, *, drops: DropAccount, **options: Any) -> None:
        super().__init__(_ReportingExporter(exporter, drops), **options)
        self._drops = drops
        # The queue is the SDK's own deque (opentelemetry-sdk 1.45: BatchProcessor._queue);
        # tests/tracing/test_processors.py pins this against the pinned SDK.
        batch = getattr(self, "_batch_processor", None)
        self._queue: Sequence[object] | None = getattr(batch, "_queue", None)
        self._capacity: int = getattr(batch, "_max_queue_size", 0)
        if self._queue is None or not self._capacity:
            logger.warning(
                "this OpenTelemetry SDK's BatchSpanProcessor has no queue Vigil can watch: "
                "spans it drops will not be counted"
            )

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._queue
        if queue is not None and len(queue) >= self._capacity:
            context = span.context
            if context is not None and context.trace_flags.sampled:
                self._drops.drop(DropReason.SPAN_QUEUE_FULL)
        super().on_end(span)

    def force_flush(self, timeout_millis: int | None = None) -> bool:
        try:
            return super().force_flush(timeout_millis)
        finally:
            self._drops.report_if_due(force=True)

    def shutdown(self) -> None:
        try:
            super().shutdown()  # type: ignore[no-untyped-call]  # (the SDK's is untyped)
        finally:
            self._drops.report_if_due(force=True)
