"""Artifacts: records of files a run produced, tied to the run and optionally a step."""

import uuid

import pytest

from vigil.models import ArtifactCreate, RunCreate, StepCreate, StepEvent, StepType
from vigil.storage import Conflict, EventStore, NotFound

SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _artifact(step_id: uuid.UUID | None = None, name: str = "report") -> ArtifactCreate:
    return ArtifactCreate(
        step_id=step_id,
        uri=f"s3://vigil-artifacts/runs/{name}.json",
        name=f"{name}.json",
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
    assert store.list_artifacts(run.id).items == [first, second]


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
    assert store.list_artifacts(run.id).items == []


def test_listing_is_paged_and_restricted_to_the_runs_project(store: EventStore) -> None:
    """Oldest first, one page at a time; another project's key sees neither the run's
    listing nor its artifacts (NotFound, as for runs)."""
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    made = [store.create_artifact(run.id, _artifact(name=f"a{i}")) for i in range(5)]

    first = store.list_artifacts(run.id, limit=2)
    second = store.list_artifacts(run.id, limit=2, cursor=first.next_cursor)
    last = store.list_artifacts(run.id, limit=2, cursor=second.next_cursor)
    assert [*first.items, *second.items, *last.items] == made
    assert last.next_cursor is None

    assert store.list_artifacts(run.id, project_id="p").items == made
    with pytest.raises(NotFound, match="run"):
        store.list_artifacts(run.id, project_id="other")
    with pytest.raises(NotFound, match="artifact"):
        store.get_artifact(made[0].id, project_id="other")
    with pytest.raises(NotFound, match="run"):
        store.create_artifact(run.id, _artifact(), project_id="other")
    assert store.get_artifact(made[0].id, project_id="p") == made[0]


def test_a_proposed_id_is_kept_once(store: EventStore) -> None:
    """An artifact may be created with an id chosen before its upload (what a step links to
    while the upload runs); the same id again is a Conflict."""
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    wanted = uuid.uuid4()
    record = store.create_artifact(run.id, _artifact(), artifact_id=wanted)
    assert record.id == wanted
    with pytest.raises(Conflict):
        store.create_artifact(run.id, _artifact(), artifact_id=wanted)
    assert store.recorded_artifacts([wanted, uuid.uuid4()]) == {wanted: record.uri}


def test_steps_show_the_artifacts_they_name_and_produced(store: EventStore) -> None:
    """A step names artifacts stored before it or after it (the batch path too); one
    uploaded naming the step shows as well; an id of another run's artifact, or of one that
    was never stored, shows nothing."""
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    other = store.create_run(RunCreate(name="o", agent="a", project_id="p"))
    before = store.create_artifact(run.id, _artifact(name="before"))
    foreign = store.create_artifact(other.id, _artifact(name="foreign"))
    later_id, never = uuid.uuid4(), uuid.uuid4()

    (step,) = store.append_steps(
        run.id,
        [
            StepCreate(
                step_type=StepType.TOOL_RESULT,
                name="render",
                artifact_ids=[before.id, later_id, foreign.id, never, before.id],
            )
        ],
    )
    assert [link.id for link in step.artifacts] == [before.id]
    assert step.artifacts[0].uri == before.uri
    assert step.artifacts[0].content_url == f"/artifacts/{before.id}/content"

    later = store.create_artifact(run.id, _artifact(name="later"), artifact_id=later_id)
    produced = store.create_artifact(run.id, _artifact(step.id, "produced"))
    store.write_batch(
        [StepEvent(run_id=run.id, step_type=StepType.MESSAGE, name="m", artifact_ids=[later.id])]
    )

    first, second = store.list_steps(run.id)
    assert [link.id for link in first.artifacts] == sorted([before.id, later.id, produced.id])
    assert [link.id for link in second.artifacts] == [later.id]
    assert {link.name for link in first.artifacts} == {"before.json", "later.json", "produced.json"}
