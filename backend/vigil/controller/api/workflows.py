"""Workflows: long-lived processes with a phase and a status, and their transition history."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status
from starlette.concurrency import run_in_threadpool

from vigil.controller.api._deps import Cursor, Limit, Store, error_responses
from vigil.models import (
    DEFAULT_PAGE_SIZE,
    Page,
    Workflow,
    WorkflowCreate,
    WorkflowStatus,
    WorkflowTransition,
    WorkflowTransitionCreate,
)

router = APIRouter(prefix="/workflows", tags=["workflows"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Workflow,
    responses=error_responses(409, 503),
)
async def create_workflow(workflow: WorkflowCreate, store: Store) -> Workflow:
    """Create a workflow in its first phase."""
    return await run_in_threadpool(store.create_workflow, workflow)


@router.get("", response_model=Page[Workflow], responses=error_responses(400, 503))
async def list_workflows(
    store: Store,
    workflow_status: Annotated[WorkflowStatus | None, Query(alias="status")] = None,
    correlation_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[Workflow]:
    """Workflows, newest first, filtered by status and/or correlation id."""
    return await run_in_threadpool(
        store.list_workflows,
        status=workflow_status,
        correlation_id=correlation_id,
        limit=limit,
        cursor=cursor,
    )


@router.get("/{workflow_id}", response_model=Workflow, responses=error_responses(404, 503))
async def get_workflow(workflow_id: UUID, store: Store) -> Workflow:
    """One workflow."""
    return await run_in_threadpool(store.get_workflow, workflow_id)


@router.post(
    "/{workflow_id}/transitions",
    response_model=Workflow,
    responses=error_responses(404, 409, 503),
)
async def transition_workflow(
    workflow_id: UUID, transition: WorkflowTransitionCreate, store: Store
) -> Workflow:
    """Move a workflow to a new phase and/or status; refused once it reached a final status."""
    return await run_in_threadpool(store.transition_workflow, workflow_id, transition)


@router.get(
    "/{workflow_id}/transitions",
    response_model=list[WorkflowTransition],
    responses=error_responses(404, 503),
)
async def list_transitions(workflow_id: UUID, store: Store) -> list[WorkflowTransition]:
    """The workflow's history, oldest first (the first entry is its creation)."""

    def read() -> list[WorkflowTransition]:
        store.get_workflow(workflow_id)  # 404 for an unknown workflow rather than []
        return store.list_workflow_transitions(workflow_id)

    return await run_in_threadpool(read)
