"""``WorkflowStateTracker``: the state of long-lived processes (an ETL run, a ticket) in the
store's ``workflows`` table, with their history; the same records as ``/workflows``.

    tracker = WorkflowStateTracker("sqlite:///./data/vigil.db")
    flow = tracker.create_workflow("nightly_etl", phase="extract")
    tracker.transition(flow.id, "load", WorkflowStatus.RUNNING)
    tracker.transition(flow.id, status="succeeded", reason="all rows loaded")

A thin layer over ``EventStore.create_workflow`` / ``transition_workflow`` /
``get_workflow`` / ``list_workflows``. Ids are UUIDv7 assigned by the store; the correlation
id defaults to ``generate_correlation_id()``, the current trace id when a span is active,
which joins the workflow to its trace.
"""

from __future__ import annotations

from uuid import UUID

from vigil._run_context import as_uuid
from vigil.models import (
    MAX_PAGE_SIZE,
    JsonObject,
    Workflow,
    WorkflowCreate,
    WorkflowStatus,
    WorkflowTransition,
    WorkflowTransitionCreate,
)
from vigil.observability._store import StoreUser
from vigil.storage import EventStore
from vigil.tracing import generate_correlation_id


class WorkflowStateTracker(StoreUser):
    """Creates, moves and reads workflows; ``store`` is a URL (migrated here) or an open
    ``EventStore``. ``project_id`` is stored on what it creates and restricts what it reads."""

    def __init__(self, store: str | EventStore, *, project_id: str | None = None) -> None:
        super().__init__(store)
        self.project_id = project_id

    def create_workflow(
        self,
        workflow_type: str,
        correlation_id: str | None = None,
        *,
        phase: str = "created",
        status: WorkflowStatus | str = WorkflowStatus.PENDING,
        metadata: JsonObject | None = None,
    ) -> Workflow:
        """A new workflow; ``correlation_id`` defaults to the current trace id (or a new
        random one)."""
        return self.store.create_workflow(
            WorkflowCreate(
                correlation_id=correlation_id or generate_correlation_id(),
                workflow_type=workflow_type,
                phase=phase,
                status=WorkflowStatus(status),
                metadata=metadata or {},
                project_id=self.project_id,
            )
        )

    def transition(
        self,
        workflow_id: UUID | str,
        new_phase: str | None = None,
        status: WorkflowStatus | str | None = None,
        *,
        reason: str | None = None,
    ) -> Workflow:
        """Move to a new phase and/or status, recorded in the history (``Conflict`` from a
        terminal status)."""
        change = WorkflowTransitionCreate(
            phase=new_phase,
            status=None if status is None else WorkflowStatus(status),
            reason=reason,
        )
        return self.store.transition_workflow(
            as_uuid(workflow_id), change, project_id=self.project_id
        )

    def get_workflow(self, workflow_id: UUID | str) -> Workflow:
        """The workflow's current state (``NotFound`` if unknown)."""
        return self.store.get_workflow(as_uuid(workflow_id), project_id=self.project_id)

    def list_workflows(
        self,
        status: WorkflowStatus | str | None = None,
        limit: int = 100,
        *,
        correlation_id: str | None = None,
    ) -> list[Workflow]:
        """The most recent workflows first, at most ``limit`` (1..1000)."""
        page = self.store.list_workflows(
            status=None if status is None else WorkflowStatus(status),
            correlation_id=correlation_id,
            limit=min(limit, MAX_PAGE_SIZE),
            project_id=self.project_id,
        )
        return page.items

    def history(self, workflow_id: UUID | str) -> list[WorkflowTransition]:
        """Every transition, oldest first (the first is the creation)."""
        workflow = self.get_workflow(workflow_id)  # NotFound, and the project's rule
        return self.store.list_workflow_transitions(workflow.id)
