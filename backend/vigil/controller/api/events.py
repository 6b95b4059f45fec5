"""Batched ingestion for SDK writers in other processes: runs started and finished, steps, logs,
measurements, spans."""

from __future__ import annotations

from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import APIRouter, Body, Header, Request, status
from starlette.concurrency import run_in_threadpool

from vigil.controller.api._deps import AUTH_RESPONSES, Store, error_responses
from vigil.controller.api._json_body import JsonBodyRoute
from vigil.controller.auth import Ingest, owned_project
from vigil.controller.event_batch import IngestBatch
from vigil.controller.step_feed import StepFeed
from vigil.models import BatchWriteResult, RunFinishEvent, StepEvent, StepRecord

_OF_A_RUN: Final = (StepRecord, StepEvent, RunFinishEvent)
"""Events without a project of their own: theirs is their run's (checked by the store)."""

router = APIRouter(
    route_class=JsonBodyRoute, prefix="/events", tags=["events"], responses=AUTH_RESPONSES
)


def _uuid_header(schema: dict[str, Any]) -> None:
    # A header is a string or absent, never JSON null: documented as ``anyOf [uuid, null]``,
    # schemathesis sent the text "null" as a schema-valid key (and got the 422).
    schema.pop("anyOf", None)
    schema.update(type="string", format="uuid")


IdempotencyKey = Annotated[
    UUID | None,
    Header(
        alias="Idempotency-Key",
        json_schema_extra=_uuid_header,
        description="A UUID the client made for this batch, the same on every retry of it: "
        "a batch whose key was stored before is not stored again, and the answer is what "
        "the first one stored (a retry after a lost answer). A malformed key is a 422.",
    ),
]


@router.post(
    "/batch",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchWriteResult,
    responses=error_responses(404, 413, 503),
)
async def write_batch(
    batch: Annotated[IngestBatch, Body()],
    store: Store,
    request: Request,
    principal: Ingest,
    idempotency_key: IdempotencyKey = None,
) -> BatchWriteResult:
    """Store a batch in one transaction: all of it, or nothing (404 if a step's run is unknown).

    Steps of runs that already ended are accepted: a writer may flush after its agent finished.
    ``run_start`` events (run ids the client made) are stored first, once per id, and
    ``run_finish`` events last; a run that already ended stays as it ended, an unknown one
    is a 404.
    With a project's key, every event belongs to that project (naming another is a 403, a
    step of another project's run a 404). Log records keep the key that sent them in
    ``ingested_by``, so they never pass for the controller's own. With an ``Idempotency-Key``
    (the SDK's ``HttpSink`` sends one per batch), a batch is stored once however often it
    is posted.
    """
    if principal.project_id is not None:  # an admin key may name any project
        for event in batch.events:
            if not isinstance(event, _OF_A_RUN):
                owned_project(principal, event.project_id)
    result = await run_in_threadpool(
        store.write_batch,
        batch.events,
        project_id=principal.project_id,
        ingested_by=principal.key_id,
        batch_id=idempotency_key,
    )
    feed: StepFeed = request.app.state.step_feed
    for run_id in batch.run_ids():
        feed.notify(run_id)
    return result
