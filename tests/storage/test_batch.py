"""write_batch: the SDK background writer's mixed batches, stored all or nothing."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from vigil.models import (
    BatchEvent,
    LogCreate,
    LogLevel,
    MeasurementCreate,
    MeasurementKind,
    RunCreate,
    RunFinish,
    RunStatus,
    SpanCreate,
    StepEvent,
    StepType,
)
from vigil.storage import EventStore, NotFound

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _span(span_id: str, parent: str | None = None) -> SpanCreate:
    return SpanCreate(
        trace_id=TRACE,
        span_id=span_id,
        parent_span_id=parent,
        name="llm.call",
        service="agent",
        start_time=T0,
        end_time=T0 + timedelta(milliseconds=250),
        attributes={"gen_ai.request.model": "m"},
    )


def test_mixed_batch_is_stored(store: EventStore) -> None:
    run_a = store.create_run(RunCreate(name="a", agent="x", project_id="p"))
    run_b = store.create_run(RunCreate(name="b", agent="x", project_id="p"))
    events: list[BatchEvent] = []
    for n in range(5):
        events.append(StepEvent(run_id=run_a.id, step_type=StepType.THOUGHT, name=f"a{n}"))
        events.append(StepEvent(run_id=run_b.id, step_type=StepType.MESSAGE, name=f"b{n}"))
        events.append(
            LogCreate(
                timestamp=T0 + timedelta(seconds=n),
                level=LogLevel.INFO,
                logger="agent",
                message=f"log {n}",
                service="agent",
                run_id=run_a.id,
            )
        )
        events.append(
            MeasurementCreate(
                name="tokens_total",
                value=float(n),
                kind=MeasurementKind.COUNTER,
                recorded_at=T0 + timedelta(seconds=n),
                labels={"model": "m"},
                run_id=run_a.id,
            )
        )
    events += [_span("00f067aa0ba902b7"), _span("00f067aa0ba902b8", "00f067aa0ba902b7")]

    result = store.write_batch(events)

    assert (result.steps, result.logs, result.measurements, result.spans) == (10, 5, 5, 2)
    assert [s.name for s in store.list_steps(run_a.id)] == [f"a{n}" for n in range(5)]
    assert [s.seq for s in store.list_steps(run_b.id)] == [1, 2, 3, 4, 5]
    assert [log.message for log in store.query_logs(run_id=run_a.id).items] == [
        f"log {n}" for n in range(5)
    ]
    points = store.query_measurements("tokens_total").items
    assert [p.value for p in points] == [0.0, 1.0, 2.0, 3.0, 4.0]
    trace = store.get_trace(TRACE)
    assert [s.span_id for s in trace] == ["00f067aa0ba902b7", "00f067aa0ba902b8"]
    assert trace[1].parent_span_id == "00f067aa0ba902b7"


def test_batch_naming_an_unknown_run_stores_nothing(store: EventStore) -> None:
    run = store.create_run(RunCreate(name="a", agent="x", project_id="p"))
    events: list[BatchEvent] = [
        StepEvent(run_id=run.id, step_type=StepType.THOUGHT, name="kept?"),
        LogCreate(level=LogLevel.INFO, logger="l", message="m", service="s", request_id="r1"),
        StepEvent(run_id=uuid.uuid4(), step_type=StepType.THOUGHT, name="orphan"),
    ]
    with pytest.raises(NotFound):
        store.write_batch(events)
    assert store.list_steps(run.id) == []
    assert store.get_run(run.id).step_count == 0
    assert store.query_logs(request_id="r1").items == []


def test_batches_of_every_shape_number_each_runs_steps_in_turn(store: EventStore) -> None:
    """The sequence-number statement is kept per shape (runs named, project filter): batches
    of the same shape with other runs and counts, and of more runs than are kept, each get
    their own numbers; a project's batch naming another project's run stores nothing."""
    made = [store.create_run(RunCreate(name=f"r{n}", agent="x", project_id="p")) for n in range(20)]
    other = store.create_run(RunCreate(name="o", agent="x", project_id="q"))
    expected = {run.id: 0 for run in made}
    for size, project in [
        (1, None),
        (3, "p"),
        (1, "p"),
        (3, None),
        (20, "p"),
        (3, "p"),
        (20, None),
    ]:
        chosen = made[-size:] if size == 3 and project is None else made[:size]
        events: list[BatchEvent] = []
        for n, run in enumerate(chosen):
            events += [StepEvent(run_id=run.id, step_type=StepType.THOUGHT, name="s")] * (n + 1)
            expected[run.id] += n + 1
        store.write_batch(events, project_id=project)
    for run in made:
        steps = store.list_steps(run.id, limit=500)
        assert [step.seq for step in steps] == list(range(1, expected[run.id] + 1))
        assert store.get_run(run.id).step_count == expected[run.id]
    foreign = [StepEvent(run_id=run.id, step_type=StepType.THOUGHT, name="s") for run in made[:2]]
    with pytest.raises(NotFound):
        store.write_batch([*foreign, StepEvent(run_id=other.id, step_type=StepType.THOUGHT,
                                               name="s")], project_id="p")  # fmt: skip
    with pytest.raises(NotFound):
        store.write_batch(foreign, project_id="q")
    assert store.get_run(other.id).step_count == 0
    assert [store.get_run(run.id).step_count for run in made[:2]] == [
        expected[run.id] for run in made[:2]
    ]


def test_batch_accepts_late_steps_of_a_finished_run(store: EventStore) -> None:
    """The writer may flush after the agent finished its run: those steps are facts."""
    run = store.create_run(RunCreate(name="a", agent="x", project_id="p"))
    store.finish_run(run.id, RunFinish(status=RunStatus.SUCCEEDED))
    store.write_batch([StepEvent(run_id=run.id, step_type=StepType.ERROR, name="late")])
    assert [s.name for s in store.list_steps(run.id)] == ["late"]


def test_spans_sent_twice_are_stored_once(store: EventStore) -> None:
    store.write_batch([_span("00f067aa0ba902b7")])
    result = store.write_batch([_span("00f067aa0ba902b7"), _span("00f067aa0ba902b9")])
    assert result.spans == 2
    assert len(store.get_trace(TRACE)) == 2


def test_empty_batch(store: EventStore) -> None:
    assert store.write_batch([]).total == 0


def test_batch_size_limit(store: EventStore) -> None:
    events = [LogCreate(level=LogLevel.INFO, logger="l", message="m", service="s")] * 10_001
    with pytest.raises(ValueError, match="at most"):
        store.write_batch(events)


def test_a_copy_replayed_after_its_run_is_gone_answers_what_was_stored(
    store: EventStore, store_url: str
) -> None:
    """The id is checked after the events are written (one statement, last): a copy whose
    run no longer exists answers what the first copy stored, not 404; a batch never stored
    still gets the 404, and nothing of it is left behind."""
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    batch = [StepEvent(run_id=run.id, step_type=StepType.THOUGHT, name=f"s{n}") for n in range(3)]
    batch_id = uuid.uuid4()
    first = store.write_batch(batch, batch_id=batch_id)
    schema = "observability" if store_url.startswith("postgresql") else None
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as conn:  # the run removed behind the store's back
            conn.execute(sa.delete(sa.table("runs", schema=schema)))
        assert store.write_batch(batch, batch_id=batch_id) == first
        with pytest.raises(NotFound):
            store.write_batch(batch, batch_id=uuid.uuid4())
        with engine.connect() as conn:
            ids = sa.select(sa.func.count()).select_from(
                sa.table("ingested_batches", schema=schema)
            )
            assert conn.execute(ids).scalar_one() == 1
    finally:
        engine.dispose()


def test_a_batch_sent_twice_with_its_id_is_stored_once(store: EventStore) -> None:
    """A writer that lost the answer sends the batch again under the same id: the second call
    stores nothing and answers what the first stored, also when both arrive at once."""
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    batch = [StepEvent(run_id=run.id, step_type=StepType.THOUGHT, name=f"s{n}") for n in range(5)]
    batch_id = uuid.uuid4()
    first = store.write_batch(batch, batch_id=batch_id)
    again = store.write_batch(batch, batch_id=batch_id)
    assert first == again
    assert first.steps == 5
    assert len(store.list_steps(run.id)) == 5

    racing_id = uuid.uuid4()
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(store.write_batch(batch, batch_id=racing_id))
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert {r.steps for r in results} == {5}
    assert len(store.list_steps(run.id)) == 10
