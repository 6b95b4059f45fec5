"""Agent runs and their steps, including a live stream of new steps (Server-Sent Events)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from vigil.controller.api._deps import (
    AUTH_RESPONSES,
    MAX_SEQ,
    Cursor,
    IdentifierFilter,
    Limit,
    RecordKey,
    Store,
    error_responses,
)
from vigil.controller.api._json_body import JsonBodyRoute
from vigil.controller.auth import Ingest, Read, owned_project, project_filter
from vigil.controller.sse import STREAM_HEADERS, EventStream, step_events
from vigil.controller.step_feed import StepFeed, TooManyStreams
from vigil.instrumentation import current_request_id
from vigil.models import (
    DEFAULT_PAGE_SIZE,
    MAX_STEPS_PER_APPEND,
    MAX_TRACE_SPANS,
    Page,
    Run,
    RunCreate,
    RunFinish,
    RunStatus,
    RunTrace,
    Span,
    Step,
    StepCreate,
)
from vigil.models._types import StrictModel
from vigil.sdk import run_context
from vigil.storage import NotFound

router = APIRouter(
    route_class=JsonBodyRoute, prefix="/runs", tags=["runs"], responses=AUTH_RESPONSES
)


def _string_header(schema: dict[str, Any]) -> None:
    # A header is a string or absent, never JSON null: documented as ``anyOf [string, null]``,
    # schemathesis sent the text "null" (a 422) once a run it could stream existed.
    options = schema.pop("anyOf", [])
    schema.update(next((o for o in options if o.get("type") == "string"), {"type": "string"}))


SSE_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["step", "end"]},
        "data": {"type": "string", "description": "JSON: a step, or the run's final status"},
        "id": {"type": "string", "description": "the step's seq"},
        "retry": {"type": "integer"},
    },
}


class StepBatch(StrictModel):
    """Steps to append, in order; one or many."""

    steps: Annotated[list[StepCreate], Field(min_length=1, max_length=MAX_STEPS_PER_APPEND)]


class StepList(StrictModel):
    """Steps in ``seq`` order; ``next_after_seq`` continues the listing."""

    items: list[Step]
    next_after_seq: int | None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Run,
    responses={
        200: {"model": Run, "description": "Created before (same Idempotency-Key)"},
        **error_responses(409, 503),
    },
)
async def create_run(
    run: RunCreate,
    store: Store,
    principal: Ingest,
    response: Response,
    idempotency_key: RecordKey = None,
) -> Run:
    """Start a run (status ``running``) of the key's project. With an ``Idempotency-Key``
    (the run's id) a repeated call answers 200 and the run as stored (409: the id is
    another project's)."""
    owned_project(principal, run.project_id)
    if idempotency_key is None:
        return await run_in_threadpool(store.create_run, run)
    key = idempotency_key

    def create_once() -> tuple[Run, bool]:
        try:
            return store.get_run(key, project_id=run.project_id), False
        except NotFound:
            # Two first calls racing: the store keeps one, both get it (the second a 201).
            return store.create_run(run, run_id=key), True

    stored, created = await run_in_threadpool(create_once)
    if not created:
        response.status_code = status.HTTP_200_OK
    return stored


@router.get("", response_model=Page[Run], responses=error_responses(400, 401, 403, 503))
async def list_runs(
    store: Store,
    principal: Read,
    run_status: Annotated[RunStatus | None, Query(alias="status")] = None,
    project_id: IdentifierFilter = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[Run]:
    """Runs, newest first, one page at a time (a project's key sees its project's)."""
    return await run_in_threadpool(
        store.list_runs,
        status=run_status,
        project_id=project_filter(principal, project_id),
        limit=limit,
        cursor=cursor,
    )


@router.get("/{run_id}", response_model=Run, responses=error_responses(404, 503))
async def get_run(run_id: UUID, store: Store, principal: Read) -> Run:
    """One run."""
    return await run_in_threadpool(store.get_run, run_id, project_id=principal.project_id)


@router.post("/{run_id}/finish", response_model=Run, responses=error_responses(404, 409, 503))
async def finish_run(
    run_id: UUID, finish: RunFinish, store: Store, request: Request, principal: Ingest
) -> Run:
    """End a running run as succeeded, failed or cancelled."""
    with run_context(run_id):
        finished = await run_in_threadpool(
            store.finish_run, run_id, finish, project_id=principal.project_id
        )
    feed: StepFeed = request.app.state.step_feed
    feed.notify(run_id, finished.status)
    return finished


@router.post(
    "/{run_id}/steps",
    status_code=status.HTTP_201_CREATED,
    response_model=StepList,
    responses=error_responses(404, 409, 503),
)
async def append_steps(
    run_id: UUID, batch: StepBatch, store: Store, request: Request, principal: Ingest
) -> StepList:
    """Append steps to a running run; each gets the next ``seq``."""
    with run_context(run_id):
        steps = await run_in_threadpool(
            store.append_steps,
            run_id,
            batch.steps,
            project_id=principal.project_id,
            request_id=current_request_id(),  # for the steps that name none
        )
    feed: StepFeed = request.app.state.step_feed
    feed.notify(run_id)
    return StepList(items=steps, next_after_seq=steps[-1].seq if steps else None)


@router.get("/{run_id}/steps", response_model=StepList, responses=error_responses(404, 503))
async def list_steps(
    run_id: UUID,
    store: Store,
    principal: Read,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> StepList:
    """Steps with ``seq`` above ``after_seq``, in order."""

    def read() -> list[Step]:
        # 404 for an unknown run (or another project's) rather than an empty list
        store.get_run(run_id, project_id=principal.project_id)
        return store.list_steps(run_id, after_seq=after_seq, limit=limit)

    steps = await run_in_threadpool(read)
    return StepList(items=steps, next_after_seq=steps[-1].seq if len(steps) == limit else None)


@router.get("/{run_id}/trace", response_model=RunTrace, responses=error_responses(404, 503))
async def get_run_trace(run_id: UUID, store: Store, principal: Read) -> RunTrace:
    """The spans recorded for a run (its agent's ``recorder.span`` blocks, and their
    children), as one tree per trace, oldest first. At most ``MAX_TRACE_SPANS`` (10,000):
    ``truncated`` says more exist. 404 for an unknown run (or another project's)."""

    def read() -> list[Span]:
        store.get_run(run_id, project_id=principal.project_id)
        return store.list_run_spans(
            run_id, project_id=principal.project_id, limit=MAX_TRACE_SPANS + 1
        )

    spans = await run_in_threadpool(read)
    return RunTrace.of(run_id, spans[:MAX_TRACE_SPANS], truncated=len(spans) > MAX_TRACE_SPANS)


async def existing_run(run_id: UUID, store: Store, principal: Read) -> Run:
    """The run, once it is known to exist: a 404 must leave before a stream starts."""
    return await run_in_threadpool(store.get_run, run_id, project_id=principal.project_id)


@router.get(
    "/{run_id}/stream",
    response_class=EventStream,
    responses={
        200: {
            "description": "`event: step` per new step; `: ping` comments while idle; "
            "`event: end` once the run has finished and every step was sent",
            # Before OpenAPI 3.2 an event stream's `schema` describes one event.
            "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
        },
        **error_responses(404, 429, 503),
    },
)
async def stream_steps(
    run: Annotated[Run, Depends(existing_run)],
    store: Store,
    request: Request,
    principal: Read,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    last_event_id: Annotated[
        str | None,
        Header(
            pattern=r"^[0-9]{1,10}$",
            description="the last seq received",
            json_schema_extra=_string_header,
        ),
    ] = None,
) -> EventStream:
    """New steps of a run as Server-Sent Events (``event: step``, ``id``: the step's seq).

    Starts after ``after_seq`` (or the ``Last-Event-ID`` a reconnecting browser sends). A
    subscriber sees a new step within a second, whichever controller process stored it. The
    stream ends with ``event: end`` once the run has finished, and after
    ``VIGIL_STREAM_MAX_DURATION_S`` in any case (reconnect with ``Last-Event-ID``). Beyond
    ``VIGIL_STREAM_MAX_OPEN`` streams, or ``VIGIL_STREAM_MAX_PER_KEY`` of one key: 429.
    """
    if last_event_id is not None:
        after_seq = max(after_seq, min(int(last_event_id), MAX_SEQ))
    feed: StepFeed = request.app.state.step_feed
    try:
        ticket = feed.admit(principal.key_id)
    except TooManyStreams as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": "5"}
        ) from None
    steps = feed.follow(store, run.id, after_seq, request.is_disconnected, run.status)
    return EventStream(step_events(steps), headers=STREAM_HEADERS, on_close=ticket.release)
