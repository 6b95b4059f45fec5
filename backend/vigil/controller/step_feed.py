"""Live step streams: wake-ups, one shared poll, and the bounds that keep streams cheap.

Appends through this process notify at once; PostgreSQL's LISTEN/NOTIFY (``vigil.controller.
pg_listener``) carries appends made by other controller processes and SDK writers. What
neither carries (SQLite writers in other processes, a run finished elsewhere) the feed's
**one** poll finds: every ``poll_interval_s`` a single query reads the step count and status
of every run that has a subscriber and wakes those whose run moved. Before, each stream polled
the steps of its run on its own: 1,000 idle streams made 2,000 queries a second and took
``GET /runs`` from 5 ms to 866 ms (issue 10).

Bounds (issue 10: streams were unbounded and never ended):

- at most ``max_open`` streams in all and ``max_per_key`` per API key (:meth:`admit`; the
  API answers 429 beyond);
- a stream ends once its run has finished and every step was sent (``event: end``), and after
  ``max_duration_s`` in any case; a client reconnects with ``Last-Event-ID`` and misses
  nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from vigil.controller.threads import finish_in_thread
from vigil.models import MAX_PAGE_SIZE, TERMINAL_RUN_STATUSES, RunStatus, Step
from vigil.storage import EventStore


class TooManyStreams(Exception):  # noqa: N818  (a domain name, mapped to HTTP 429)
    """No stream may open now: the controller's or the key's limit is reached."""


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last event of a stream whose run finished: every step was sent."""

    status: RunStatus


class StreamTicket:
    """One admitted stream; :meth:`release` (idempotent) gives its place back."""

    def __init__(self, feed: StepFeed, key: str) -> None:
        self._feed = feed
        self._key = key
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._feed._release(self._key)


class StepFeed:
    """The live streams of one controller process (one event loop)."""

    def __init__(
        self,
        poll_interval_s: float = 0.5,
        keepalive_s: float = 15.0,
        *,
        max_open: int = 200,
        max_per_key: int = 20,
        max_duration_s: float = 300.0,
    ) -> None:
        self.poll_interval_s = poll_interval_s
        self.keepalive_s = keepalive_s
        self.max_open = max_open
        self.max_per_key = max_per_key
        self.max_duration_s = max_duration_s
        self._waiters: dict[UUID, set[asyncio.Event]] = {}
        self._progress: dict[UUID, tuple[int, RunStatus]] = {}
        self._per_key: Counter[str] = Counter()
        self._poller: asyncio.Task[None] | None = None

    # Admission -----------------------------------------------------------------------

    @property
    def open_streams(self) -> int:
        return sum(self._per_key.values())

    def admit(self, key: str) -> StreamTicket:
        """A place for one more stream of ``key``, or ``TooManyStreams``."""
        if self.open_streams >= self.max_open:
            raise TooManyStreams(f"{self.max_open} streams are open on this controller")
        if self._per_key[key] >= self.max_per_key:
            raise TooManyStreams(f"this API key has {self.max_per_key} streams open")
        self._per_key[key] += 1
        return StreamTicket(self, key)

    def _release(self, key: str) -> None:
        self._per_key[key] -= 1
        if self._per_key[key] <= 0:
            del self._per_key[key]

    # Wake-ups --------------------------------------------------------------------------

    def notify(self, run_id: UUID, status: RunStatus | None = None) -> None:
        """Wake the subscribers of ``run_id`` (call from the loop's thread); ``status``: the
        run just finished with it."""
        if status is not None and run_id in self._progress:
            self._progress[run_id] = (self._progress[run_id][0], status)
        for event in self._waiters.get(run_id, ()):
            event.set()

    async def _poll(self, store: EventStore) -> None:
        """Wake the subscribers of every run whose step count or status changed."""
        while self._waiters:
            await asyncio.sleep(self.poll_interval_s)
            watched = list(self._waiters)
            with contextlib.suppress(Exception):  # a store hiccup: the next poll tries again
                progress = await finish_in_thread(store.run_progress, watched)
                for run_id, now in progress.items():
                    if self._progress.get(run_id) != now:
                        self._progress[run_id] = now
                        self.notify(run_id)
        self._poller = None

    def _subscribe(self, store: EventStore, run_id: UUID, event: asyncio.Event) -> None:
        self._waiters.setdefault(run_id, set()).add(event)
        if self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(
                self._poll(store), name="vigil-step-feed-poll"
            )

    def _unsubscribe(self, run_id: UUID, event: asyncio.Event) -> None:
        waiters = self._waiters.get(run_id)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[run_id]
                self._progress.pop(run_id, None)

    # Following a run -------------------------------------------------------------------

    async def follow(
        self,
        store: EventStore,
        run_id: UUID,
        after_seq: int,
        is_disconnected: Callable[[], Awaitable[bool]],
        status: RunStatus = RunStatus.RUNNING,
    ) -> AsyncIterator[Step | StreamEnd | None]:
        """Yield the run's steps after ``after_seq`` as they arrive; ``None`` after
        ``keepalive_s`` without a step (the caller sends a ping: proxies close idle
        connections, and a ping reveals a client that left); a :class:`StreamEnd` once the
        run has finished and everything was sent. Ends after ``max_duration_s`` too."""
        loop = asyncio.get_running_loop()
        started = last_sent = loop.time()
        event = asyncio.Event()
        self._progress.setdefault(run_id, (after_seq, status))
        self._subscribe(store, run_id, event)
        try:
            while True:
                event.clear()  # before reading: a wake-up during the read is not lost
                steps = await finish_in_thread(
                    store.list_steps, run_id, after_seq=after_seq, limit=MAX_PAGE_SIZE
                )
                for step in steps:
                    yield step
                    after_seq = step.seq
                if len(steps) == MAX_PAGE_SIZE:
                    continue
                now = loop.time()
                if steps:
                    last_sent = now
                finished = self._progress.get(run_id, (0, status))[1]
                if finished in TERMINAL_RUN_STATUSES:
                    if steps:
                        continue  # read again: the end comes after a read that found nothing
                    yield StreamEnd(finished)
                    return
                if now - started >= self.max_duration_s or await is_disconnected():
                    return
                if now - last_sent >= self.keepalive_s:
                    yield None
                    last_sent = now
                timeout = min(self.keepalive_s, self.max_duration_s - (now - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), max(timeout, 0.0))
        finally:
            self._unsubscribe(run_id, event)
