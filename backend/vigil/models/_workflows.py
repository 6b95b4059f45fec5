"""Workflows: long-lived processes (a ticket being handled, a deployment) with a phase, a
status and the full history of how they got there."""

from enum import StrEnum
from typing import Annotated, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from vigil.models._types import (
    BoundedMetadata,
    Id,
    Identifier,
    JsonObject,
    Lax,
    Reason,
    StrictModel,
    UtcDatetime,
)


class WorkflowStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    """Blocked on something outside (a human approval, a callback)."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_WORKFLOW_STATUSES = frozenset(
    {WorkflowStatus.SUCCEEDED, WorkflowStatus.FAILED, WorkflowStatus.CANCELLED}
)

Phase = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
"""A workflow's phase: a short lowercase tag such as ``triage`` or ``awaiting_review``."""

WorkflowType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


class WorkflowCreate(StrictModel):
    correlation_id: Identifier
    """The outside id this workflow follows (a ticket, an order, a request id)."""
    workflow_type: WorkflowType
    phase: Phase
    status: Annotated[WorkflowStatus, Lax] = WorkflowStatus.PENDING
    metadata: BoundedMetadata = Field(default_factory=dict)
    project_id: Identifier | None = None
    """The project the workflow belongs to; with a project's key, that project."""


class Workflow(StrictModel):
    id: Id
    correlation_id: str
    workflow_type: str
    phase: str
    status: Annotated[WorkflowStatus, Lax]
    metadata: JsonObject
    project_id: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class WorkflowTransitionCreate(StrictModel):
    """A move to a new phase and/or status; a workflow in a terminal status cannot move."""

    # The "at least one of" rule, stated in the JSON schema too (see _types.Labels).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"phase": {"type": "string"}}, "required": ["phase"]},
                {"properties": {"status": {"type": "string"}}, "required": ["status"]},
            ]
        }
    )

    phase: Phase | None = None
    status: Annotated[WorkflowStatus, Lax] | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if self.phase is None and self.status is None:
            raise ValueError("a transition sets a phase, a status, or both")
        return self


class WorkflowTransition(StrictModel):
    """One entry of a workflow's history; the first one records its creation."""

    id: Id
    workflow_id: Id
    from_phase: str | None
    to_phase: str
    from_status: Annotated[WorkflowStatus, Lax] | None
    to_status: Annotated[WorkflowStatus, Lax]
    reason: str | None
    created_at: UtcDatetime
