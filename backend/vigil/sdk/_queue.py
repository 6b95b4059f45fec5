"""The bounded in-process queue between producer calls and the writer thread.

A ``deque`` rather than ``queue.Queue``: ``append`` and ``popleft`` are atomic under the GIL
and cost ~70 ns together, while ``Queue.put`` takes a lock and notifies a condition on every
call. Only the rare paths take locks: a producer finding the queue full waits on a condition
(``put_timeout``), and the writer notifies it after each take. The bound is checked before
the append, so concurrent producers can overshoot ``maxsize`` by at most one event each.

Markers (``flush``, ``close``) travel in the same FIFO: the writer signals a marker once it
has handled every event queued before it, which is exactly ``flush``'s promise.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from typing import Final

from vigil.sdk._drops import DropAccount
from vigil.sdk._events import QueuedEvent, events_in
from vigil.sdk._metrics import DropReason


class Marker:
    """A point in the queue; signalled once every event queued before it is handled
    (written, or dropped and counted)."""

    __slots__ = ("_done", "_futures", "_lock", "stops")

    def __init__(self, *, stops: bool = False) -> None:
        self.stops: Final = stops
        """True for the marker ``close`` queues: the writer stops after it."""
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def signal(self) -> None:
        with self._lock:
            self._done.set()
            futures, self._futures = self._futures, []
        for loop, future in futures:
            # RuntimeError: that event loop is closed, so nobody waits any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future)

    def wait(self, timeout: float | None) -> bool:
        return self._done.wait(timeout)

    async def wait_async(self, timeout: float | None) -> bool:  # noqa: ASYNC109  (as wait)
        """Like ``wait``, without blocking the event loop (no thread is parked either)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._done.is_set():
                return True
            self._futures.append((loop, future))
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return False
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class EventQueue:
    """Bounded FIFO of queued events and markers, with the backpressure policy.

    When full, ``put`` waits up to ``put_timeout`` seconds for the writer to make room
    (0: not at all), then drops the event and counts it as ``queue_full``.
    """

    def __init__(
        self, *, maxsize: int, wake_size: int, put_timeout: float, drops: DropAccount
    ) -> None:
        self.maxsize = maxsize
        self.put_timeout = put_timeout
        self.wakeup = threading.Event()
        """Set when the writer should run before its next tick (a batch is ready, a marker)."""
        self._wake_size = wake_size
        self._drops = drops
        self._items: deque[QueuedEvent | Marker] = deque()
        self._space = threading.Condition(threading.Lock())
        self._space_waiters = 0
        self._closed = False
        self._finished = False
        self._closed_detail: str | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: QueuedEvent, *, wait: bool = True) -> bool:
        """Queue an event; False if it was dropped (and counted)."""
        if self._closed:
            self._drops.drop(DropReason.CLOSED, events_in(item), self._closed_detail)
            return False
        items = self._items
        if len(items) >= self.maxsize and not self._wait_for_space(wait):
            self._drops.drop(DropReason.QUEUE_FULL, events_in(item))
            return False
        items.append(item)
        if len(items) >= self._wake_size and not self.wakeup.is_set():
            self.wakeup.set()
        if self._finished:
            # The writer stopped while this producer was between its closed check and the
            # append: nobody will take the event, so count it here (see ``finish``).
            self.sweep()
        return True

    def put_marker(self, marker: Marker) -> None:
        """Queue a marker; markers ignore the bound (a flush is never dropped)."""
        self._items.append(marker)
        self.wakeup.set()
        if self._finished:
            self.sweep()

    def _wait_for_space(self, wait: bool) -> bool:
        if not wait or self.put_timeout <= 0:
            return False
        deadline = time.monotonic() + self.put_timeout
        with self._space:
            self._space_waiters += 1
            try:
                while len(self._items) >= self.maxsize:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._closed:
                        return False
                    self._space.wait(remaining)
            finally:
                self._space_waiters -= 1
        return True

    def take(self, limit: int) -> tuple[list[QueuedEvent], Marker | None]:
        """Pop up to ``limit`` events, stopping early after a marker (returned with them)."""
        batch: list[QueuedEvent] = []
        popleft = self._items.popleft
        marker: Marker | None = None
        try:
            while len(batch) < limit:
                item = popleft()
                if isinstance(item, Marker):
                    marker = item
                    break
                batch.append(item)
        except IndexError:
            pass
        # A waiter registers under the lock before checking the length, and this read
        # follows the pops: a producer either sees the room or is woken here.
        if self._space_waiters and batch:
            with self._space:
                self._space.notify_all()
        return batch, marker

    def close(self) -> None:
        """Refuse new events (counted as ``closed``); queued ones stay for the writer."""
        self._closed = True
        with self._space:
            self._space.notify_all()

    def finish(self) -> None:
        """Called by the writer as it stops: whatever is still queued is dropped as
        ``closed`` and every marker is signalled, now and for any late ``put``."""
        self._closed = True
        self._finished = True  # before the sweep: see the comment in ``put``
        self.sweep()

    def refuse_after_fork(self, detail: str) -> None:
        """In a forked child, where no writer runs: what is queued is the parent's (its writer
        writes it), so it is let go uncounted; every later event is dropped and counted as
        ``closed`` (with ``detail`` in the drop log), every marker signalled at once."""
        self._closed_detail = detail
        self._items.clear()
        self._space = threading.Condition(threading.Lock())  # it may have been held at fork
        self._space_waiters = 0
        self.finish()

    def sweep(self) -> None:
        dropped = 0
        popleft = self._items.popleft
        try:
            while True:
                item = popleft()
                if isinstance(item, Marker):
                    item.signal()
                else:
                    dropped += events_in(item)
        except IndexError:
            pass
        self._drops.drop(DropReason.CLOSED, dropped)
