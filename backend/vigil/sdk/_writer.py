"""The writer thread: drains the queue in batches, builds the models, hands them to the sink.

Batching is size- and time-triggered: the writer wakes every ``flush_interval`` seconds, or
as soon as a batch's worth of events (or a marker) is queued, and then writes until the queue
is empty, in batches of at most ``batch_size``. Under load it never sleeps, so batches grow to
``batch_size`` by themselves; when idle an event waits at most ``flush_interval``.

One thread, on purpose: a builder/sender pipeline (the next batch validated while the sink
waits on PostgreSQL) was measured here and gained nothing, as the process is bound by the
GIL rather than by waiting, and the extra thread cost 2-3 us of CPU per event.

Every batch gets an id (``uuid4``) that it keeps through its retries, its halves when split
(derived with ``uuid5``, so a batch split again after a restart names its halves the same)
and its stay in the spool: the store keeps a batch once per id, so a retry after a lost
answer is not stored twice. Random rather than UUIDv7 because the store's table of batch ids
is shared by every project: an id one agent could predict, another could claim first.

Failures never stop the thread and never lose an event silently:
- an event failing its model's validation is dropped as ``invalid``;
- ``SinkUnavailable`` is retried with exponential backoff and jitter, ``max_attempts`` calls
  in all; then the batch (and the parts of it still pending) goes into the spool, or without
  one is dropped as ``sink_error``;
- ``SinkRejected`` splits the batch in halves to isolate the offending events, which are
  dropped as ``rejected`` (never spooled: they would be refused again); at most
  ``MAX_SPLIT_CALLS`` extra calls per batch, so a batch made only of bad events cannot occupy
  the writer for thousands of calls.

While the spool holds anything, order comes first: a new batch is sent only once every
spooled batch is, otherwise it is spooled behind them. The spool is replayed oldest first,
one call per batch, on every turn of the loop (also when the agent is idle), with the same
backoff between failed attempts; the spool is written only while the sink is failing.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from typing import Final
from uuid import UUID, uuid4, uuid5

from prometheus_client import Counter
from pydantic import ValidationError

from vigil.models import BatchItem, BatchWriteResult
from vigil.sdk._drops import DropAccount
from vigil.sdk._events import build_batch, first_error
from vigil.sdk._metrics import DropReason, EventKind, SdkMetrics
from vigil.sdk._queue import EventQueue
from vigil.sdk._sink import EventSink, SinkRejected, SinkUnavailable
from vigil.sdk._spool import EventSpool, SpooledBatch

logger = logging.getLogger("vigil.sdk")

MAX_BACKOFF_S: Final = 5.0
MAX_SPLIT_CALLS: Final = 64

Part = tuple[UUID, list[BatchItem]]
"""A batch, or a half of one, with its id."""


def half_ids(batch_id: UUID) -> tuple[UUID, UUID]:
    """The ids of a batch's two halves: the same every time the batch is split."""
    return uuid5(batch_id, "first half"), uuid5(batch_id, "second half")


class BatchWriter:
    """Owns the writer thread of one recorder (and its spool, if any)."""

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
        spool: EventSpool | None = None,
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
        self._records = sink.takes_records
        self._spool = spool
        self._spool_events = metrics.spool_events.labels(service)
        self._spool_bytes = metrics.spool_bytes.labels(service)
        self._spooled = metrics.events_spooled.labels(service)
        self._replayed = metrics.events_replayed.labels(service)
        # A replay that makes the queue half full yields to it: its batches go into the
        # spool first, so a long replay does not make producers drop (see ``_replay``).
        self._yield_at = max(events.maxsize // 2, batch_size)
        self._replay_at = 0.0
        self._replay_delay = retry_backoff
        self._last_unavailable = ""
        self._abandon = threading.Event()
        self._logged_unexpected = False
        self._thread = threading.Thread(
            target=self._run, name=f"vigil-sdk-writer[{service}]", daemon=True
        )
        if spool is not None:
            self._spool_gauges()
            if spool.events:
                logger.warning(
                    "agent SDK spool %s holds %d events from before; sending them first",
                    spool.path,
                    spool.events,
                    extra={"sdk_service": service},
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
        """Stop retrying: the caller gave up waiting (``close``). What is left is kept in
        the spool, or without one dropped."""
        self._abandon.set()

    # The thread --------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                self._events.wakeup.wait(self._flush_interval)
                self._events.wakeup.clear()
                if self._drain():
                    return
                if self._spool is not None and self._spool.events:
                    self._replay()  # the agent may be idle: the spool must not wait for it
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
                self._spool_the_rest()
                return True  # without a spool, ``finish`` drops the rest as ``closed``
            batch, marker = self._events.take(self._batch_size)
            self._queue_depth.set(len(self._events))
            if batch:
                events, errors = build_batch(batch, self._service, records=self._records)
                if errors:
                    self._drops.drop(DropReason.INVALID, len(errors), errors[-1])
                if events:
                    self._deliver(events)
            if marker is not None:
                if marker.stops:
                    if self._spool is not None and self._spool.events:
                        self._replay(now=True)  # one more try before the spool is left
                    return True  # ``finish`` signals it, after the final sweep
                marker.signal()
            elif len(batch) < self._batch_size:
                return False

    def _deliver(self, events: list[BatchItem]) -> None:
        batch_id = uuid4()
        spool = self._spool
        if spool is not None and spool.events:
            self._replay()
            if spool.events:  # the sink is still failing: this batch waits its turn
                self._keep([(batch_id, events)])
                return
        left, _ = self._write(batch_id, events, self._max_attempts)
        if not left:
            return
        if spool is None:
            lost = sum(len(part) for _, part in left)
            self._drops.drop(DropReason.SINK_ERROR, lost, self._last_unavailable)
        else:
            self._keep(left)
            self._schedule_replay()

    def _write(
        self, batch_id: UUID, events: list[BatchItem], attempts: int
    ) -> tuple[list[Part], int]:
        """Write a batch, splitting it on rejection. Returns the parts left because the sink
        is unavailable (in order; the last error is in ``_last_unavailable``) and the number
        of events the sink stored."""
        pending: list[Part] = [(batch_id, events)]
        split_calls = 0
        written = 0
        while pending:
            part_id, part = pending.pop()
            try:
                written += self._count_written(self._write_with_retries(part_id, part, attempts))
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
                # Retries are exhausted: the sink is down, the rest of this batch waits too.
                self._last_unavailable = str(exc)
                pending.append((part_id, part))
                pending.reverse()
                return pending, written
            except Exception as exc:  # a bug in a sink must not kill the writer
                if not self._logged_unexpected:
                    self._logged_unexpected = True
                    logger.exception("agent SDK sink %r failed unexpectedly", self._sink)
                self._drops.drop(DropReason.SINK_ERROR, len(part), repr(exc))
        return [], written

    def _write_with_retries(
        self, batch_id: UUID, events: list[BatchItem], attempts: int
    ) -> BatchWriteResult:
        delay = self._retry_backoff
        attempt = 1
        while True:
            started = time.perf_counter()
            try:
                return self._sink.write(events, batch_id=batch_id)
            except SinkUnavailable:
                if attempt >= attempts or self._abandon.is_set():
                    raise
            finally:
                self._write_seconds.observe(time.perf_counter() - started)
            # Jitter spreads the retries of many agents after a controller restart.
            pause = delay * random.uniform(0.5, 1.5)  # noqa: S311  (not cryptographic)
            if self._abandon.wait(pause):
                raise SinkUnavailable("recorder closed while the sink was unavailable")
            delay = min(delay * 2, MAX_BACKOFF_S)
            attempt += 1

    def _count_written(self, result: BatchWriteResult) -> int:
        written = self._written
        total = 0
        for kind, count in (
            (EventKind.STEP, result.steps),
            (EventKind.LOG, result.logs),
            (EventKind.MEASUREMENT, result.measurements),
            (EventKind.SPAN, result.spans),
            (EventKind.RUN_START, result.runs_started),
            (EventKind.RUN_FINISH, result.runs_finished),
        ):
            if count:
                written[kind].inc(count)
                total += count
        return total

    # The spool ---------------------------------------------------------------------------

    def _keep(self, parts: list[Part]) -> None:
        """Spool the parts in order; what does not fit is dropped as ``spool_full``."""
        spool = self._spool
        assert spool is not None  # noqa: S101  (only called with a spool)
        was_empty = not spool.events
        for batch_id, events in parts:
            try:
                kept = spool.append(batch_id, events)
                detail = f"spool {spool.path} holds {spool.bytes:,} of {spool.max_bytes:,} bytes"
            except sqlite3.Error as exc:  # the disk is full, an I/O error
                kept, detail = False, f"spool {spool.path}: {type(exc).__name__}: {exc}"
            if kept:
                self._spooled.inc(len(events))
            else:
                self._drops.drop(DropReason.SPOOL_FULL, len(events), detail)
        self._spool_gauges()
        if was_empty and spool.events:
            logger.warning(
                "agent SDK sink unavailable (%s); keeping its batches in the spool %s",
                self._last_unavailable,
                spool.path,
                extra={"sdk_service": self._service},
            )

    def _replay(self, *, now: bool = False) -> None:
        """Send the spooled batches, oldest first, until the spool is empty, the sink fails
        (the next try waits the backoff; ``now`` skips that wait once), the recorder is
        abandoned, or the queue is half full: then its batches are spooled first, and the
        replay goes on from the next turn. The sink's pace, not the queue, bounds a replay.

        A batch leaves the spool once all of it is stored or rejected; a batch that failed
        half-way is sent again whole under its id, and its halves that were stored are
        recognized by theirs."""
        spool = self._spool
        assert spool is not None  # noqa: S101  (only called with a spool)
        if not now and time.monotonic() < self._replay_at:
            return
        while spool.events and not self._abandon.is_set():
            if len(self._events) >= self._yield_at:
                return
            try:
                head = spool.head()
                if head is None:
                    break
                events = self._spooled_events(head)
                if events is not None:
                    left, written = self._write(head.batch_id, events, attempts=1)
                    if left:
                        self._schedule_replay()
                        return
                    self._replayed.inc(written)
                spool.remove(head)  # if this fails, the batch is sent again: stored once
            except sqlite3.Error as exc:  # the file cannot be read: try again later
                logger.warning(
                    "agent SDK spool %s failed: %s: %s",
                    spool.path,
                    type(exc).__name__,
                    exc,
                    extra={"sdk_service": self._service},
                )
                self._schedule_replay()
                return
            self._replay_delay = self._retry_backoff
            self._spool_gauges()
            if not spool.events:
                logger.info(
                    "agent SDK sink is back; its spool %s is empty again",
                    spool.path,
                    extra={"sdk_service": self._service},
                )

    def _spooled_events(self, head: SpooledBatch) -> list[BatchItem] | None:
        try:
            return list(head.events())
        except ValueError as exc:  # kept by an SDK with other rules: cannot be sent
            detail = first_error(exc) if isinstance(exc, ValidationError) else repr(exc)
            self._drops.drop(DropReason.INVALID, head.count, f"spooled batch: {detail}")
            return None

    def _schedule_replay(self) -> None:
        pause = self._replay_delay * random.uniform(0.5, 1.5)  # noqa: S311  (not cryptographic)
        self._replay_at = time.monotonic() + pause
        self._replay_delay = min(self._replay_delay * 2, MAX_BACKOFF_S)

    def _spool_the_rest(self) -> None:
        """On ``abandon``: what is still queued goes into the spool, without sink calls."""
        if self._spool is None:
            return
        while True:
            batch, marker = self._events.take(self._batch_size)
            if batch:
                events, errors = build_batch(batch, self._service, records=self._records)
                if errors:
                    self._drops.drop(DropReason.INVALID, len(errors), errors[-1])
                if events:
                    self._keep([(uuid4(), events)])
            if marker is not None:
                if marker.stops:
                    return
                marker.signal()
            elif not batch:
                return

    def _spool_gauges(self) -> None:
        spool = self._spool
        assert spool is not None  # noqa: S101  (only called with a spool)
        self._spool_events.set(spool.events)
        self._spool_bytes.set(spool.bytes)
