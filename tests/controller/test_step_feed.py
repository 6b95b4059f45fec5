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
