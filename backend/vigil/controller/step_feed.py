"""Wakes Server-Sent-Event subscribers when a run gets new steps.

Appends through this process notify at once; PostgreSQL's LISTEN/NOTIFY (``vigil.controller.
pg_listener``) carries appends made by other controller processes and SDK writers; a poll every
``poll_interval_s`` is the fallback that bounds latency whatever the path (SQLite across
processes included).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import UUID

from starlette.concurrency import run_in_threadpool

from vigil.models import MAX_PAGE_SIZE, Step
from vigil.storage import EventStore


class StepFeed:
    """Per-run wake-ups for stream subscribers of one event loop."""

    def __init__(self, poll_interval_s: float = 0.5, keepalive_s: float = 15.0) -> None:
        self.poll_interval_s = poll_interval_s
        self.keepalive_s = keepalive_s
        self._waiters: dict[UUID, set[asyncio.Event]] = {}

    def notify(self, run_id: UUID) -> None:
        """Wake the subscribers of ``run_id``; call from the loop's thread."""
        for event in self._waiters.get(run_id, ()):
            event.set()

    async def follow(
        self,
        store: EventStore,
        run_id: UUID,
        after_seq: int,
        is_disconnected: Callable[[], Awaitable[bool]],
    ) -> AsyncIterator[Step | None]:
        """Yield the run's steps after ``after_seq`` as they arrive, until the client leaves.

        Yields ``None`` after ``keepalive_s`` without a step, for the caller to send a ping
        (proxies close idle connections; a ping also reveals a client that left).
        """
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        self._waiters.setdefault(run_id, set()).add(event)
        last_sent = loop.time()
        try:
            while True:
                event.clear()  # before reading: a notify during the read is not lost
                steps = await run_in_threadpool(
                    store.list_steps, run_id, after_seq=after_seq, limit=MAX_PAGE_SIZE
                )
                for step in steps:
                    yield step
                    after_seq = step.seq
                if steps:
                    last_sent = loop.time()
                elif loop.time() - last_sent >= self.keepalive_s:
                    yield None
                    last_sent = loop.time()
                if len(steps) == MAX_PAGE_SIZE:
                    continue
                if await is_disconnected():
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), self.poll_interval_s)
        finally:
            waiters = self._waiters.get(run_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[run_id]
