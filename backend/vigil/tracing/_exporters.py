"""Span exporters: into the event store, or onto an ``AgentRecorder``'s queue.

- ``StoreSpanExporter`` writes each batch of finished spans into the ``spans`` table with
  ``EventStore.write_spans`` (COPY on PostgreSQL), behind a ``CountingBatchSpanProcessor``.
  A store that stays unavailable through ``max_attempts`` costs the batch, counted in
  ``sdk_events_dropped_total`` (``sink_error``) and logged at most once a second.
- ``RecorderSpanExporter`` is for agents in other processes: each span becomes a queued
  event of the recorder and travels like its steps and logs (``HttpSink`` ->
  ``POST /events/batch``), with the SDK's backpressure and drop accounting. The recorder's
  queue already batches, so it sits behind a ``SimpleSpanProcessor``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Final

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from vigil.models import MAX_BATCH_EVENTS, SpanRecord
from vigil.sdk._metrics import DropReason
from vigil.storage import EventStore, StoreUnavailable
from vigil.tracing._convert import span_record

if TYPE_CHECKING:
    from vigil.sdk import AgentRecorder
    from vigil.sdk._drops import DropAccount

logger = logging.getLogger("vigil.tracing")

RETRY_BACKOFF_S: Final = 0.2


class StoreSpanExporter(SpanExporter):
    """Writes finished spans into an ``EventStore`` (the store stays the caller's)."""

    def __init__(
        self,
        store: EventStore,
        *,
        service: str,
        drops: DropAccount | None = None,
        max_attempts: int = 3,
    ) -> None:
        self.store = store
        self.service = service
        self._drops = drops
        self._max_attempts = max_attempts
        self._shutdown = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        result = SpanExportResult.SUCCESS
        for start in range(0, len(spans), MAX_BATCH_EVENTS):
            if not self._write(spans[start : start + MAX_BATCH_EVENTS]):
                result = SpanExportResult.FAILURE
        return result

    def _records(self, spans: Sequence[ReadableSpan], *, count: bool) -> Iterator[SpanRecord]:
        """Converted while the store writes (``write_spans`` reads them lazily)."""
        for span in spans:
            try:
                record = span_record(span, self.service)
            except Exception as exc:  # a malformed span must cost itself, not the batch
                if count:  # once, not again on each retry
                    self._drop(DropReason.INVALID, 1, repr(exc))
                continue
            yield record

    def _write(self, spans: Sequence[ReadableSpan]) -> bool:
        for attempt in range(1, self._max_attempts + 1):
            try:
                self.store.write_spans(self._records(spans, count=attempt == 1))
            except StoreUnavailable as exc:
                if attempt == self._max_attempts or self._shutdown:
                    self._drop(DropReason.SINK_ERROR, len(spans), str(exc))
                    return False
                time.sleep(RETRY_BACKOFF_S * attempt)
            except Exception as exc:  # refused by the database: retrying cannot help
                self._drop(DropReason.REJECTED, len(spans), f"{type(exc).__name__}: {exc}")
                return False
            else:
                return True
        return False

    def _drop(self, reason: DropReason, count: int, detail: str) -> None:
        if self._drops is not None:
            self._drops.drop(reason, count, detail)
        else:
            logger.warning("%d spans not stored (%s): %s", count, reason.value, detail)

    def shutdown(self) -> None:
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class RecorderSpanExporter(SpanExporter):
    """Queues finished spans on an ``AgentRecorder`` (as its ``service``)."""

    def __init__(self, recorder: AgentRecorder) -> None:
        self.recorder = recorder

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        recorder = self.recorder
        if recorder.in_writer_thread():
            # Spans of the sink's own calls (an instrumented HTTP client) would feed the
            # queue that the writer drains, for ever.
            return SpanExportResult.SUCCESS
        stored = True
        for span in spans:
            stored = recorder.record_span(span_record(span, recorder.service)) and stored
        return SpanExportResult.SUCCESS if stored else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.recorder.flush(timeout_millis / 1000)
