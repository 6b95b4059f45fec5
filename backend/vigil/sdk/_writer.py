"""The writer thread: drains the queue in batches, builds the models, hands them to the sink.

Batching is size- and time-triggered: the writer wakes every ``flush_interval`` seconds, or
as soon as a batch's worth of events (or a marker) is queued, and then writes until the queue
is empty, in batches of at most ``batch_size``. Under load it never sleeps, so batches grow to
``batch_size`` by themselves; when idle an event waits at most ``flush_interval``.

One thread, on purpose: a builder/sender pipeline (the next batch validated while the sink
waits on PostgreSQL) was measured here and gained nothing, as the process is bound by the
GIL rather than by waiting, and the extra thread cost 2-3 us of CPU per event.

Every batch gets an id (``uuid4``) that it keeps through its retries, and its halves when
split (derived with ``uuid5``, so a batch split again names its halves the same): the store
keeps a batch once per id, so a retry after a lost answer is not stored twice. Random rather
than UUIDv7 because the store's table of batch ids is shared by every project: an id one
agent could predict, another could claim first.

Failures never stop the thread and never lose an event silently:
- an event failing its model's validation is dropped as ``invalid``;
- ``SinkUnavailable`` is retried with exponential backoff and jitter, ``max_attempts`` calls
  in all; then the batch (and the parts of it still pending) is dropped as ``sink_error``;
- ``SinkRejected`` splits the batch in halves to isolate the offending events, which are
  dropped as ``rejected``; at most ``MAX_SPLIT_CALLS`` extra calls per batch, so a batch made
  only of bad events cannot occupy the writer for thousands of calls.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Final
from uuid import UUID, uuid4, uuid5

from prometheus_client import Counter

from vigil.models import BatchEvent, BatchWriteResult
from vigil.sdk._drops import DropAccount
from vigil.sdk._events import build_batch
from vigil.sdk._metrics import DropReason, EventKind, SdkMetrics
from vigil.sdk._queue import EventQueue
from vigil.sdk._sink import EventSink, SinkRejected, SinkUnavailable

logger = logging.getLogger("vigil.sdk")

MAX_BACKOFF_S: Final = 5.0
MAX_SPLIT_CALLS: Final = 64

Part = tuple[UUID, list[BatchEvent]]
"""A batch, or a half of one, with its id."""


def half_ids(batch_id: UUID) -> tuple[UUID, UUID]:
    """The ids of a batch's two halves: the same every time the batch is split."""
    return uuid5(batch_id, "first half"), uuid5(batch_id, "second half")


class BatchWriter:
    """Owns the writer thread of one recorder."""

    def __init__(
        self,
        events: EventQueue,
        sink: EventSink,
        *,
        service: str,
        batch_size: int,
        flush_interval: float,
        max_attempts: int,
        retry_backoff: float,
        metrics: SdkMetrics,
        drops: DropAccount,
    ) -> None:
        self._events = events
        self._sink = sink
        self._service = service
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._drops = drops
        self._queue_depth = metrics.queue_depth.labels(service)
        self._write_seconds = metrics.batch_write_seconds.labels(service)
        self._written: dict[EventKind, Counter] = {
            kind: metrics.events_written.labels(service, kind.value) for kind in EventKind
        }
        self._abandon = threading.Event()
        self._logged_unexpected = False
        self._thread = threading.Thread(
            target=self._run, name=f"vigil-sdk-writer[{service}]", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def owns_current_thread(self) -> bool:
        return threading.get_ident() == self._thread.ident

    def join(self, timeout: float | None) -> bool:
        """Wait for the thread to end; True if it did within ``timeout``."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def abandon(self) -> None:
        """Stop retrying and drop what is left: the caller gave up waiting (``close``)."""
        self._abandon.set()

    # The thread --------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                self._events.wakeup.wait(self._flush_interval)
                self._events.wakeup.clear()
                if self._drain():
                    return
                self._drops.report_if_due()
        except Exception:  # a bug here; every known failure is handled per batch
            logger.exception("agent SDK writer thread failed; queued events are dropped")
        finally:
            self._events.finish()
            self._queue_depth.set(0)
            self._drops.report_if_due(force=True)

    def _drain(self) -> bool:
        """Write everything queued; True once the stop marker was reached."""
        while True:
            if self._abandon.is_set():
                return True  # ``finish`` drops the rest as ``closed``, without sink calls
            batch, marker = self._events.take(self._batch_size)
            self._queue_depth.set(len(self._events))
            if batch:
                events, errors = build_batch(batch, self._service)
                if errors:
                    self._drops.drop(DropReason.INVALID, len(errors), errors[-1])
                if events:
                    self._deliver(events)
            if marker is not None:
                if marker.stops:
                    return True  # ``finish`` signals it, after the final sweep
                marker.signal()
            elif len(batch) < self._batch_size:
                return False

    def _deliver(self, events: list[BatchEvent]) -> None:
        pending: list[Part] = [(uuid4(), events)]
        split_calls = 0
        while pending:
            part_id, part = pending.pop()
            try:
                self._count_written(self._write_with_retries(part_id, part))
            except SinkRejected as exc:
                if len(part) == 1 or split_calls >= MAX_SPLIT_CALLS:
                    self._drops.drop(DropReason.REJECTED, len(part), str(exc))
                    continue
                split_calls += 2
                middle = len(part) // 2
                first, second = half_ids(part_id)
                # A stack: the first half is written first.
                pending += [(second, part[middle:]), (first, part[:middle])]
            except SinkUnavailable as exc:
                # Retries are exhausted: the sink is down, the rest of this batch goes too.
                lost = len(part) + sum(len(rest) for _, rest in pending)
                pending.clear()
                self._drops.drop(DropReason.SINK_ERROR, lost, str(exc))
            except Exception as exc:  # a bug in a sink must not kill the writer
                if not self._logged_unexpected:
                    self._logged_unexpected = True
                    logger.exception("agent SDK sink %r failed unexpectedly", self._sink)
                self._drops.drop(DropReason.SINK_ERROR, len(part), repr(exc))

    def _write_with_retries(self, batch_id: UUID, events: list[BatchEvent]) -> BatchWriteResult:
        delay = self._retry_backoff
        attempt = 1
        while True:
            started = time.perf_counter()
            try:
                return self._sink.write(events, batch_id=batch_id)
            except SinkUnavailable:
                if attempt >= self._max_attempts or self._abandon.is_set():
                    raise
            finally:
                self._write_seconds.observe(time.perf_counter() - started)
            # Jitter spreads the retries of many agents after a controller restart.
            pause = delay * random.uniform(0.5, 1.5)  # noqa: S311  (not cryptographic)
            if self._abandon.wait(pause):
                raise SinkUnavailable("recorder closed while the sink was unavailable")
            delay = min(delay * 2, MAX_BACKOFF_S)
            attempt += 1

    def _count_written(self, result: BatchWriteResult) -> None:
        written = self._written
        for kind, count in (
            (EventKind.STEP, result.steps),
            (EventKind.LOG, result.logs),
            (EventKind.MEASUREMENT, result.measurements),
            (EventKind.SPAN, result.spans),
        ):
            if count:
                written[kind].inc(count)
