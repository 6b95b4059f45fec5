"""Workflows and their transition history."""

from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Connection,
    select,
    update,
)

from vigil.models import (
    DEFAULT_PAGE_SIZE,
    TERMINAL_WORKFLOW_STATUSES,
    Page,
    Workflow,
    WorkflowCreate,
    WorkflowStatus,
    WorkflowTransition,
    WorkflowTransitionCreate,
    new_id,
    utc_now,
)
from vigil.storage._cursor import (
    decode_id_cursor,
)
from vigil.storage._schema import (
    workflow_transitions,
    workflows,
)
from vigil.storage._sql_base import (
    SqlStoreBase,
    check_limit,
    found,
    page_of,
    to_model,
)
from vigil.storage.errors import Conflict


class WorkflowQueries(SqlStoreBase):
    def create_workflow(
        self, workflow: WorkflowCreate, *, workflow_id: UUID | None = None
    ) -> Workflow:
        now = utc_now()
        row = {
            "id": workflow_id or new_id(),
            "correlation_id": workflow.correlation_id,
            "workflow_type": workflow.workflow_type,
            "phase": workflow.phase,
            "status": workflow.status.value,
            "metadata": workflow.metadata,
            "project_id": workflow.project_id,
            "created_at": now,
            "updated_at": now,
        }
        with self._write() as conn:
            if workflow_id is not None:
                inserted = conn.execute(
                    self._backend.insert(workflows)
                    .on_conflict_do_nothing(index_elements=[workflows.c.id])
                    .returning(workflows.c.id),
                    row,
                ).first()
                if inserted is None:  # created before: the same key gets the same record
                    return self._existing_workflow(conn, workflow_id, workflow.project_id)
            else:
                conn.execute(workflows.insert(), row)
            conn.execute(
                workflow_transitions.insert(),
                {
                    "id": new_id(),
                    "workflow_id": row["id"],
                    "from_phase": None,
                    "to_phase": workflow.phase,
                    "from_status": None,
                    "to_status": workflow.status.value,
                    "reason": None,
                    "created_at": now,
                },
            )
        return Workflow.model_validate(row)

    @staticmethod
    def _existing_workflow(conn: Connection, workflow_id: UUID, project_id: str | None) -> Workflow:
        row = conn.execute(select(workflows).where(workflows.c.id == workflow_id)).one()
        if row.project_id != project_id:
            raise Conflict(f"workflow {workflow_id} exists in another project")
        return to_model(Workflow, row)

    def transition_workflow(
        self,
        workflow_id: UUID,
        transition: WorkflowTransitionCreate,
        *,
        project_id: str | None = None,
        transition_id: UUID | None = None,
    ) -> Workflow:
        now = utc_now()
        with self._write() as conn:
            if transition_id is not None and conn.scalar(
                select(workflow_transitions.c.workflow_id).where(
                    workflow_transitions.c.id == transition_id
                )
            ):
                # Recorded before (a retry after a lost answer, a recorder running the same
                # event again): the workflow as it is now, and no second history entry.
                existing = conn.execute(
                    select(workflows).where(*_the_workflow(workflow_id, project_id))
                ).first()
                return to_model(Workflow, found(existing, "workflow", workflow_id))
            current = conn.execute(
                select(workflows.c.phase, workflows.c.status)
                .where(*_the_workflow(workflow_id, project_id))
                .with_for_update()
            ).first()
            current = found(current, "workflow", workflow_id)
            if WorkflowStatus(current.status) in TERMINAL_WORKFLOW_STATUSES:
                raise Conflict(f"workflow {workflow_id} has ended as {current.status}")
            phase = transition.phase if transition.phase is not None else current.phase
            status = transition.status.value if transition.status is not None else current.status
            row = conn.execute(
                update(workflows)
                .where(workflows.c.id == workflow_id)
                .values(phase=phase, status=status, updated_at=now)
                .returning(*workflows.c)
            ).one()
            conn.execute(
                workflow_transitions.insert(),
                {
                    "id": transition_id or new_id(),
                    "workflow_id": workflow_id,
                    "from_phase": current.phase,
                    "to_phase": phase,
                    "from_status": current.status,
                    "to_status": status,
                    "reason": transition.reason,
                    "created_at": now,
                },
            )
        return to_model(Workflow, row)

    def get_workflow(self, workflow_id: UUID, *, project_id: str | None = None) -> Workflow:
        with self._read() as conn:
            query = select(workflows).where(*_the_workflow(workflow_id, project_id))
            row = conn.execute(query).first()
        return to_model(Workflow, found(row, "workflow", workflow_id))

    def list_workflows(
        self,
        *,
        status: WorkflowStatus | None = None,
        correlation_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        project_id: str | None = None,
    ) -> Page[Workflow]:
        check_limit(limit)
        query = select(workflows).order_by(workflows.c.id.desc()).limit(limit + 1)
        if project_id is not None:
            query = query.where(workflows.c.project_id == project_id)
        if status is not None:
            query = query.where(workflows.c.status == status.value)
        if correlation_id is not None:
            query = query.where(workflows.c.correlation_id == correlation_id)
        if cursor is not None:
            query = query.where(workflows.c.id < decode_id_cursor("workflows", cursor))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return page_of(Workflow, rows, limit, "workflows", lambda workflow: (workflow.id,))

    def list_workflow_transitions(self, workflow_id: UUID) -> list[WorkflowTransition]:
        with self._read() as conn:
            rows = conn.execute(
                select(workflow_transitions)
                .where(workflow_transitions.c.workflow_id == workflow_id)
                # In the order they were stored: a transition's id may be a key its client
                # derived (Idempotency-Key), which says nothing of when it happened.
                .order_by(workflow_transitions.c.created_at, workflow_transitions.c.id)
            ).all()
            if not rows:
                self._require(conn, workflows, workflow_id, "workflow")
        return [to_model(WorkflowTransition, row) for row in rows]


def _the_workflow(workflow_id: UUID, project_id: str | None) -> list[ColumnElement[bool]]:
    """One workflow; given ``project_id``, only if it belongs to that project."""
    conditions = [workflows.c.id == workflow_id]
    if project_id is not None:
        conditions.append(workflows.c.project_id == project_id)
    return conditions
