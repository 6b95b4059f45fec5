"""write_batch with runs in it: started with ids the client made, finished, once each."""

import uuid

import pytest

from vigil.models import (
    RunCreate,
    RunFinish,
    RunFinishEvent,
    RunStartEvent,
    RunStatus,
    StepEvent,
    StepType,
    new_id,
)
from vigil.storage import EventStore, NotFound


def _start(run_id: uuid.UUID, project: str = "p") -> RunStartEvent:
    return RunStartEvent(id=run_id, name="triage", agent="support", project_id=project,
                         metadata={"thread_id": "t1"})  # fmt: skip


def test_a_batch_starts_steps_and_finishes_a_run(store: EventStore) -> None:
    """Start, steps and finish in one batch, in any order: the run is stored with its steps
    and ends as the batch says (an agent whose controller was down for the whole run)."""
    run_id = new_id()
    events = [
        RunFinishEvent(run_id=run_id, status=RunStatus.FAILED),
        StepEvent(run_id=run_id, step_type=StepType.GRAPH_NODE, name="planner"),
        _start(run_id),
        StepEvent(run_id=run_id, step_type=StepType.TOOL_CALL, name="lookup"),
    ]
    result = store.write_batch(events)
    assert (result.runs_started, result.steps, result.runs_finished) == (1, 2, 1)
    run = store.get_run(run_id)
    assert (run.status, run.step_count, run.metadata) == (RunStatus.FAILED, 2, {"thread_id": "t1"})
    assert run.finished_at is not None
    assert [s.name for s in store.list_steps(run_id)] == ["planner", "lookup"]


def test_a_start_sent_again_changes_nothing(store: EventStore) -> None:
    run_id = new_id()
    assert store.write_batch([_start(run_id)]).runs_started == 1
    store.write_batch([StepEvent(run_id=run_id, step_type=StepType.THOUGHT, name="t")])
    again = store.write_batch([_start(run_id)])
    assert again.runs_started == 0
    assert store.get_run(run_id).step_count == 1


def test_a_finish_of_an_ended_run_changes_nothing(store: EventStore) -> None:
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    store.finish_run(run.id, RunFinish(status=RunStatus.SUCCEEDED))
    result = store.write_batch([RunFinishEvent(run_id=run.id, status=RunStatus.FAILED)])
    assert result.runs_finished == 0
    assert store.get_run(run.id).status is RunStatus.SUCCEEDED


def test_finishing_an_unknown_run_stores_nothing(store: EventStore) -> None:
    started = new_id()
    with pytest.raises(NotFound):
        store.write_batch(
            [_start(started), RunFinishEvent(run_id=new_id(), status=RunStatus.SUCCEEDED)]
        )
    with pytest.raises(NotFound):
        store.get_run(started)


def test_a_projects_batch_finishes_only_its_runs(store: EventStore) -> None:
    """With a project (a project's key), another project's run is unknown."""
    other = new_id()
    store.write_batch([_start(other, project="other")])
    with pytest.raises(NotFound):
        store.write_batch(
            [RunFinishEvent(run_id=other, status=RunStatus.CANCELLED)], project_id="p"
        )
    assert store.get_run(other).status is RunStatus.RUNNING


def test_a_batch_with_runs_sent_twice_answers_the_same(store: EventStore) -> None:
    run_id, batch_id = new_id(), uuid.uuid4()
    events = [_start(run_id), RunFinishEvent(run_id=run_id, status=RunStatus.SUCCEEDED)]
    first = store.write_batch(events, batch_id=batch_id)
    second = store.write_batch(events, batch_id=batch_id)
    assert first == second
    assert (second.runs_started, second.runs_finished) == (1, 1)
