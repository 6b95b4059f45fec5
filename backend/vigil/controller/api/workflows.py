"""Workflows: long-lived processes with a phase and a status, and their transition history."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from starlette.concurrency import run_in_threadpool

from vigil.controller.api._deps import (
    AUTH_RESPONSES,
    Cursor,
    IdentifierFilter,
    Limit,
    RecordKey,
    Store,
    error_responses,
)
from vigil.controller.api._json_body import JsonBodyRoute
from vigil.controller.auth import Ingest, Read, owned_project, project_filter
from vigil.models import (
    DEFAULT_PAGE_SIZE,
    Page,
    Workflow,
    WorkflowCreate,
    WorkflowStatus,
    WorkflowTransition,
    WorkflowTransitionCreate,
)
from vigil.storage import NotFound

router = APIRouter(
    route_class=JsonBodyRoute, prefix="/workflows", tags=["workflows"], responses=AUTH_RESPONSES
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Workflow,
    responses={
        200: {"model": Workflow, "description": "Created before (same Idempotency-Key)"},
        **error_responses(409, 503),
    },
)
async def create_workflow(
    workflow: WorkflowCreate,
    store: Store,
    principal: Ingest,
    response: Response,
    idempotency_key: RecordKey = None,
) -> Workflow:
    """Create a workflow in its first phase (of the key's project). With an
    ``Idempotency-Key`` (the workflow's id) a repeated call answers 200 and the workflow as
    it is now (409: the id is another project's)."""
    project_id = owned_project(principal, workflow.project_id)
    if project_id != workflow.project_id:
        workflow = workflow.model_copy(update={"project_id": project_id})
    if idempotency_key is None:
        return await run_in_threadpool(store.create_workflow, workflow)
    key = idempotency_key

    def create_once() -> tuple[Workflow, bool]:
        try:
            existing = store.get_workflow(key)
        except NotFound:
            # Two first calls racing: the store keeps one, both get it (the second a 201).
            return store.create_workflow(workflow, workflow_id=key), True
        if existing.project_id != workflow.project_id:
            return store.create_workflow(workflow, workflow_id=key), True  # the store's 409
        return existing, False

    stored, created = await run_in_threadpool(create_once)
    if not created:
        response.status_code = status.HTTP_200_OK
    return stored


@router.get("", response_model=Page[Workflow], responses=error_responses(400, 503))
async def list_workflows(
    store: Store,
    principal: Read,
    workflow_status: Annotated[WorkflowStatus | None, Query(alias="status")] = None,
    correlation_id: IdentifierFilter = None,
    project_id: IdentifierFilter = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[Workflow]:
    """Workflows, newest first, filtered by status, correlation id and project."""
    return await run_in_threadpool(
        store.list_workflows,
        status=workflow_status,
        correlation_id=correlation_id,
        limit=limit,
        cursor=cursor,
        project_id=project_filter(principal, project_id),
    )


@router.get("/{workflow_id}", response_model=Workflow, responses=error_responses(404, 503))
async def get_workflow(workflow_id: UUID, store: Store, principal: Read) -> Workflow:
    """One workflow."""
    return await run_in_threadpool(store.get_workflow, workflow_id, project_id=principal.project_id)


@router.post(
    "/{workflow_id}/transitions",
    response_model=Workflow,
    responses=error_responses(404, 409, 503),
)
async def transition_workflow(
    workflow_id: UUID,
    transition: WorkflowTransitionCreate,
    store: Store,
    principal: Ingest,
    idempotency_key: RecordKey = None,
) -> Workflow:
    """Move a workflow to a new phase and/or status; refused once it reached a final status.
    With an ``Idempotency-Key`` (the transition's id), a transition stored before is not
    stored again: the answer is the workflow as it is."""
    return await run_in_threadpool(
        store.transition_workflow,
        workflow_id,
        transition,
        project_id=principal.project_id,
        transition_id=idempotency_key,
    )


@router.get(
    "/{workflow_id}/transitions",
    response_model=list[WorkflowTransition],
    responses=error_responses(404, 503),
)
async def list_transitions(
    workflow_id: UUID, store: Store, principal: Read
) -> list[WorkflowTransition]:
    """The workflow's history, oldest first (the first entry is its creation)."""

    def read() -> list[WorkflowTransition]:
        # 404 for an unknown workflow (or another project's) rather than []
        store.get_workflow(workflow_id, project_id=principal.project_id)
        return store.list_workflow_transitions(workflow_id)

    return await run_in_threadpool(read)
