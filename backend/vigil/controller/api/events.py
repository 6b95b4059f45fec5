"""Batched ingestion for SDK writers in other processes: steps, logs, measurements, spans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, status
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from vigil.controller.api._deps import Store, error_responses
from vigil.controller.step_feed import StepFeed
from vigil.models import MAX_BATCH_EVENTS, BatchEvent, BatchWriteResult, StepEvent
from vigil.models._types import StrictModel

router = APIRouter(prefix="/events", tags=["events"])


class EventBatch(StrictModel):
    """A mixed batch; each event says its kind in ``event``."""

    events: Annotated[list[BatchEvent], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]


@router.post(
    "/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchWriteResult,
    responses=error_responses(404, 413, 503),
)
async def write_batch(batch: EventBatch, store: Store, request: Request) -> BatchWriteResult:
    """Store a batch in one transaction: all of it, or nothing (404 if a step's run is unknown).

    Steps of runs that already ended are accepted: a writer may flush after its agent finished.
    """
    result = await run_in_threadpool(store.write_batch, batch.events)
    feed: StepFeed = request.app.state.step_feed
    for run_id in {e.run_id for e in batch.events if isinstance(e, StepEvent)}:
        feed.notify(run_id)
    return result
