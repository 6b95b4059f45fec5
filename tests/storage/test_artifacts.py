"""Artifacts: records of files a run produced, tied to the run and optionally a step."""

import uuid

import pytest

from vigil.models import ArtifactCreate, RunCreate, StepCreate, StepType
from vigil.storage import EventStore, NotFound

SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _artifact(step_id: uuid.UUID | None = None, name: str = "report") -> ArtifactCreate:
    return ArtifactCreate(
        step_id=step_id,
        uri=f"s3://vigil-artifacts/runs/{name}.json",
        kind="report",
        content_type="application/json",
        size_bytes=1234,
        sha256=SHA,
    )


def test_create_get_list(store: EventStore) -> None:
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    (step,) = store.append_steps(run.id, [StepCreate(step_type=StepType.TOOL_RESULT, name="t")])

    first = store.create_artifact(run.id, _artifact(step.id, "one"))
    second = store.create_artifact(run.id, _artifact(None, "two"))

    assert store.get_artifact(first.id) == first
    assert first.step_id == step.id
    assert first.run_id == run.id
    assert store.list_artifacts(run.id) == [first, second]


def test_artifact_needs_its_run_and_step(store: EventStore) -> None:
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    other = store.create_run(RunCreate(name="o", agent="a", project_id="p"))
    (foreign,) = store.append_steps(other.id, [StepCreate(step_type=StepType.THOUGHT, name="t")])

    with pytest.raises(NotFound, match="run"):
        store.create_artifact(uuid.uuid4(), _artifact())
    with pytest.raises(NotFound, match="step"):
        store.create_artifact(run.id, _artifact(foreign.id))
    with pytest.raises(NotFound, match="step"):
        store.create_artifact(run.id, _artifact(uuid.uuid4()))
    with pytest.raises(NotFound):
        store.get_artifact(uuid.uuid4())
    with pytest.raises(NotFound):
        store.list_artifacts(uuid.uuid4())
    assert store.list_artifacts(run.id) == []
