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


def test_a_workflow_created_under_a_key_is_created_once(store: EventStore) -> None:
    """``workflow_id`` (a key the caller derived) makes creation idempotent: the second call
    returns the first record, moved on as it is, and adds no history entry; another
    project's id is a conflict."""
    key = uuid.uuid4()
    create = WorkflowCreate(
        correlation_id="temporal-wf:run", workflow_type="agent", phase="started", project_id="p1"
    )
    first = store.create_workflow(create, workflow_id=key)
    assert first.id == key
    store.transition_workflow(key, WorkflowTransitionCreate(status=WorkflowStatus.RUNNING))
    again = store.create_workflow(create, workflow_id=key)
    assert again.id == key
    assert again.status == WorkflowStatus.RUNNING
    assert len(store.list_workflow_transitions(key)) == 2
    with pytest.raises(Conflict):
        store.create_workflow(create.model_copy(update={"project_id": "p2"}), workflow_id=key)


def test_a_transition_under_a_key_is_stored_once(store: EventStore) -> None:
    """A transition repeated with its ``transition_id`` changes nothing, even once the
    workflow has ended (no Conflict: it is the same transition, already there)."""
    workflow_id = _create(store)
    key = uuid.uuid4()
    move = WorkflowTransitionCreate(phase="work", status=WorkflowStatus.RUNNING, reason="go")
    store.transition_workflow(workflow_id, move, transition_id=key)
    store.transition_workflow(workflow_id, move, transition_id=key)
    end = uuid.uuid4()
    done = WorkflowTransitionCreate(status=WorkflowStatus.SUCCEEDED)
    store.transition_workflow(workflow_id, done, transition_id=end)
    again = store.transition_workflow(workflow_id, done, transition_id=end)
    assert again.status == WorkflowStatus.SUCCEEDED
    history = store.list_workflow_transitions(workflow_id)
    assert [t.reason for t in history] == [None, "go", None]
    assert {history[1].id, history[2].id} == {key, end}
