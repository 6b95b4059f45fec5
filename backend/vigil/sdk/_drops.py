"""Drop accounting: every event the SDK gives up on is counted, and logged at a bounded rate.

A stalled sink can make producers drop thousands of events per second; one warning line per
event would flood the log (and, through ``ExecutionLogHandler``, the queue that is full).
Drops are counted in ``sdk_events_dropped_total`` at once and summarized in the log at most
once per ``interval`` seconds: the writer thread calls :meth:`DropAccount.report_if_due`
on every turn, so the last drops of a burst are reported too.
"""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import Counter

from vigil.sdk._metrics import DropReason, SdkMetrics

logger = logging.getLogger("vigil.sdk")


class DropAccount:
    """Counts drops of one recorder and reports them in the log, rate-limited."""

    def __init__(self, metrics: SdkMetrics, service: str, interval: float = 1.0) -> None:
        self.service = service
        self.interval = interval
        # Children of every known reason exist from the start: Prometheus sees the series at
        # 0 before the first drop, so rate() and increase() work on the first one.
        self._counters: dict[DropReason, Counter] = {
            reason: metrics.events_dropped.labels(service, reason.value) for reason in DropReason
        }
        self._lock = threading.Lock()
        self._pending: dict[DropReason, int] = {}
        self._last_detail: dict[DropReason, str] = {}
        self._last_report = 0.0

    def reset_after_fork(self) -> None:
        """In a forked child: a lock another thread held at the fork would stay held, and
        the drops waiting for the next report are the parent's (it reports them); the
        child's first drop is reported at once (no writer thread runs there to report it
        later)."""
        self._lock = threading.Lock()
        self._pending = {}
        self._last_detail = {}
        self._last_report = 0.0

    def drop(self, reason: DropReason, count: int = 1, detail: str | None = None) -> None:
        """Count ``count`` dropped events; log a summary if none was logged for a while."""
        if count <= 0:
            return
        self._counters[reason].inc(count)
        with self._lock:
            self._pending[reason] = self._pending.get(reason, 0) + count
            if detail is not None:
                self._last_detail[reason] = detail
        self.report_if_due()

    def report_if_due(self, *, force: bool = False) -> None:
        """Log the drops counted since the last line, if ``interval`` has passed (or ``force``)."""
        now = time.monotonic()
        with self._lock:
            if not self._pending or (not force and now - self._last_report < self.interval):
                return
            pending, self._pending = self._pending, {}
            details, self._last_detail = self._last_detail, {}
            self._last_report = now
        counts = {reason.value: count for reason, count in sorted(pending.items())}
        logger.warning(
            "agent SDK dropped %d events since the last report: %s",
            sum(counts.values()),
            ", ".join(f"{reason}={count}" for reason, count in counts.items()),
            extra={
                "sdk_service": self.service,
                "dropped_events": counts,
                "drop_details": {reason.value: text for reason, text in details.items()},
            },
        )
