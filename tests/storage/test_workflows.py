"""Workflows: transitions of phase and status, their history, and terminal statuses."""

import uuid

import pytest

from vigil.models import WorkflowCreate, WorkflowStatus, WorkflowTransitionCreate
from vigil.storage import Conflict, EventStore, NotFound


def _create(store: EventStore, correlation_id: str = "ticket-42") -> uuid.UUID:
    workflow = store.create_workflow(
        WorkflowCreate(
            correlation_id=correlation_id,
            workflow_type="support_ticket",
            phase="triage",
            metadata={"priority": "high"},
        )
    )
    return workflow.id


def test_transitions_and_history(store: EventStore) -> None:
    workflow_id = _create(store)
    created = store.get_workflow(workflow_id)
    assert (created.phase, created.status) == ("triage", WorkflowStatus.PENDING)

    store.transition_workflow(workflow_id, WorkflowTransitionCreate(status=WorkflowStatus.RUNNING))
    store.transition_workflow(
        workflow_id, WorkflowTransitionCreate(phase="awaiting_review", reason="draft ready")
    )
    done = store.transition_workflow(
        workflow_id,
        WorkflowTransitionCreate(phase="closed", status=WorkflowStatus.SUCCEEDED),
    )

    assert (done.phase, done.status) == ("closed", WorkflowStatus.SUCCEEDED)
    assert done.updated_at >= created.updated_at
    assert done.created_at == created.created_at
    assert done.metadata == {"priority": "high"}
    pending, running, succeeded = (
        WorkflowStatus.PENDING,
        WorkflowStatus.RUNNING,
        WorkflowStatus.SUCCEEDED,
    )
    history = [
        (t.from_phase, t.to_phase, t.from_status, t.to_status, t.reason)
        for t in store.list_workflow_transitions(workflow_id)
    ]
    assert history == [
        (None, "triage", None, pending, None),
        ("triage", "triage", pending, running, None),
        ("triage", "awaiting_review", running, running, "draft ready"),
        ("awaiting_review", "closed", running, succeeded, None),
    ]


def test_terminal_workflow_cannot_move(store: EventStore) -> None:
    workflow_id = _create(store)
    store.transition_workflow(
        workflow_id, WorkflowTransitionCreate(status=WorkflowStatus.CANCELLED)
    )
    with pytest.raises(Conflict):
        store.transition_workflow(workflow_id, WorkflowTransitionCreate(phase="reopened"))
    assert len(store.list_workflow_transitions(workflow_id)) == 2


def test_list_by_status_and_correlation_id(store: EventStore) -> None:
    first = _create(store, "ticket-1")
    second = _create(store, "ticket-2")
    third = _create(store, "ticket-2")
    store.transition_workflow(second, WorkflowTransitionCreate(status=WorkflowStatus.RUNNING))

    assert [w.id for w in store.list_workflows(status=WorkflowStatus.PENDING).items] == [
        third,
        first,
    ]
    assert [w.id for w in store.list_workflows(correlation_id="ticket-2").items] == [third, second]
    page = store.list_workflows(limit=2)
    rest = store.list_workflows(limit=2, cursor=page.next_cursor)
    assert [w.id for w in page.items + rest.items] == [third, second, first]
    assert rest.next_cursor is None


def test_unknown_workflow(store: EventStore) -> None:
    missing = uuid.uuid4()
    with pytest.raises(NotFound):
        store.get_workflow(missing)
    with pytest.raises(NotFound):
        store.transition_workflow(missing, WorkflowTransitionCreate(phase="x"))
    with pytest.raises(NotFound):
        store.list_workflow_transitions(missing)
