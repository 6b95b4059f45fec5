"""StepFeed: steps as they arrive, and keepalive markers while a run is quiet."""

from __future__ import annotations

import asyncio

from vigil.controller.step_feed import StepFeed
from vigil.models import RunCreate, Step, StepCreate, StepType
from vigil.storage import EventStore


async def never_disconnected() -> bool:
    return False


def test_quiet_run_yields_keepalive_markers(store: EventStore) -> None:
    run = store.create_run(RunCreate(name="quiet", agent="bot", project_id="p"))
    feed = StepFeed(poll_interval_s=0.05, keepalive_s=0.2)

    async def first_items(n: int) -> list[Step | None]:
        items: list[Step | None] = []
        stream = feed.follow(store, run.id, 0, never_disconnected)
        async for item in stream:
            items.append(item)
            if len(items) == n:
                break
        await stream.aclose()
        return items

    store.append_steps(run.id, [StepCreate(step_type=StepType.THOUGHT, name="only")])
    started = asyncio.run(asyncio.wait_for(first_items(3), timeout=5))
    first, *pings = started
    assert isinstance(first, Step)
    assert first.name == "only"
    assert pings == [None, None]


class CountingStore:
    """A real store that counts the queries the feed makes."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.calls: dict[str, int] = {"list_steps": 0, "run_progress": 0}

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self.store, name)
        if name in self.calls:

            def counted(*args: object, **kwargs: object) -> object:
                self.calls[name] += 1
                return attribute(*args, **kwargs)

            return counted
        return attribute


def test_idle_streams_share_one_poll(store: EventStore) -> None:
    """Finding: every stream polled its run on its own (1,000 idle streams, 2,000 queries a
    second). 20 idle streams over 1 s at a 0.1 s poll: one progress query per poll for all of
    them, and the steps of each run read once."""
    runs = [store.create_run(RunCreate(name=f"r{n}", agent="a", project_id="p")) for n in range(20)]
    counting = CountingStore(store)
    feed = StepFeed(poll_interval_s=0.1, keepalive_s=30)

    async def watch() -> None:
        streams = [feed.follow(counting, run.id, 0, never_disconnected) for run in runs]  # type: ignore[arg-type]
        tasks = [asyncio.create_task(anext(stream, None)) for stream in streams]
        await asyncio.sleep(1.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for stream in streams:
            await stream.aclose()

    asyncio.run(watch())
    assert counting.calls["list_steps"] == len(runs)
    assert 5 <= counting.calls["run_progress"] <= 11
