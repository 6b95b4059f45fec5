"""The recorder from coroutines: producer calls are plain calls, and aflush/aclose await
without blocking the event loop."""

from __future__ import annotations

import asyncio

from tests.sdk.conftest import RecorderFactory, ScriptedSink
from vigil.models import Run, RunStatus, new_id
from vigil.sdk import StoreSink, current_run_id, run_context
from vigil.storage import EventStore


def test_coroutines_record_and_flush(
    store: EventStore, run: Run, make_recorder: RecorderFactory
) -> None:
    """Many tasks record steps concurrently; aflush waits for all of them to be stored."""
    recorder = make_recorder(StoreSink(store))

    async def agent(task: int) -> None:
        for i in range(200):
            recorder.log_step(run.id, "thought", data={"task": task, "i": i})
            if i % 50 == 0:
                await asyncio.sleep(0)

    async def main() -> bool:
        await asyncio.gather(*(agent(task) for task in range(10)))
        return await recorder.aflush(timeout=30.0)

    assert asyncio.run(main())
    assert store.get_run(run.id).step_count == 2_000


def test_aflush_does_not_block_the_event_loop(
    scripted_sink: ScriptedSink, make_recorder: RecorderFactory
) -> None:
    """While aflush waits on a slow sink, other tasks keep running; it times out cleanly."""
    recorder = make_recorder(scripted_sink)
    scripted_sink.gate.clear()

    async def main() -> tuple[bool, int, bool]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        recorder.log_step(run_id, "thought")
        ticking = asyncio.create_task(ticker())
        timed_out = await recorder.aflush(timeout=0.3)
        ticks_during_wait = ticks
        scripted_sink.gate.set()
        flushed = await recorder.aflush(timeout=5.0)
        ticking.cancel()
        return timed_out, ticks_during_wait, flushed

    run_id = new_id()
    timed_out, ticks, flushed = asyncio.run(main())
    assert timed_out is False
    assert ticks >= 10
    assert flushed


def test_arun_and_aclose(store: EventStore, make_recorder: RecorderFactory) -> None:
    """``async with recorder.arun(...)`` scopes the run to the task; aclose drains."""
    recorder = make_recorder(StoreSink(store))

    async def main() -> Run:
        async with recorder.arun("async", agent="a", project_id="p1") as run:
            assert current_run_id() == run.id
            recorder.log_step(None, "message", data={"text": "hi"})
        await recorder.aclose()
        return run

    run = asyncio.run(main())
    stored = store.get_run(run.id)
    assert (stored.status, stored.step_count) == (RunStatus.SUCCEEDED, 1)


def test_run_context_is_per_task() -> None:
    """A run_context entered in one task does not leak into a sibling task."""
    run_id = new_id()

    async def inside() -> object:
        async with run_context(run_id):
            await asyncio.sleep(0.02)
            return current_run_id()

    async def outside() -> object:
        await asyncio.sleep(0.01)
        return current_run_id()

    async def main() -> list[object]:
        return list(await asyncio.gather(inside(), outside()))

    assert asyncio.run(main()) == [run_id, None]
