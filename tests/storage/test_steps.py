"""Steps: numbered per run, atomically, even with concurrent appenders."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import sqlalchemy as sa

from vigil.models import RunCreate, RunFinish, RunStatus, Step, StepCreate, StepEvent, StepType
from vigil.storage import STEP_NOTIFY_CHANNEL, Conflict, EventStore, NotFound, open_store


def _steps(count: int, label: str = "s") -> list[StepCreate]:
    return [
        StepCreate(
            step_type=StepType.TOOL_CALL,
            name=f"{label}-{n}",
            data={"tool": "search", "args": {"q": f"{label} {n}"}},
            request_id="req-1",
            trace_id="0af7651916cd43dd8448eb211c80319c",
        )
        for n in range(count)
    ]


def test_append_and_list_steps(store: EventStore) -> None:
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))

    first = store.append_steps(run.id, _steps(3, "a"))
    second = store.append_steps(run.id, _steps(2, "b"))

    assert [s.seq for s in first + second] == [1, 2, 3, 4, 5]
    assert store.get_run(run.id).step_count == 5
    listed = store.list_steps(run.id)
    assert listed == first + second
    assert [s.seq for s in store.list_steps(run.id, after_seq=2, limit=2)] == [3, 4]
    assert store.list_steps(run.id, after_seq=5) == []
    assert listed[0].data == {"tool": "search", "args": {"q": "a 0"}}


def test_the_callers_request_id_goes_to_steps_that_name_none(store: EventStore) -> None:
    """The controller passes the id of the request that carried the steps; a step's own
    request id stays its own."""
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    own, without = _steps(1)[0], StepCreate(step_type=StepType.THOUGHT, name="t")
    stored = store.append_steps(run.id, [own, without], request_id="req-call")
    assert [s.request_id for s in stored] == ["req-1", "req-call"]
    assert store.list_steps(run.id) == stored


def test_concurrent_appenders_get_contiguous_unique_seqs(store: EventStore) -> None:
    """Eight threads appending to one run: seq is 1..N with no gap or duplicate, and each
    call's steps are numbered contiguously in the order given."""
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    threads, calls, per_call = 8, 15, 4
    barrier = threading.Barrier(threads)

    def worker(worker_id: int) -> list[list[Step]]:
        barrier.wait()
        return [
            store.append_steps(run.id, _steps(per_call, f"w{worker_id}c{call}"))
            for call in range(calls)
        ]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [batch for batches in pool.map(worker, range(threads)) for batch in batches]

    total = threads * calls * per_call
    for batch in results:
        seqs = [step.seq for step in batch]
        assert seqs == list(range(seqs[0], seqs[0] + per_call))
    stored = store.list_steps(run.id, limit=1000)
    assert [s.seq for s in stored] == list(range(1, total + 1))
    assert store.get_run(run.id).step_count == total


def test_append_to_finished_run_is_a_conflict(store: EventStore) -> None:
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    store.append_steps(run.id, _steps(1))
    store.finish_run(run.id, RunFinish(status=RunStatus.SUCCEEDED))

    with pytest.raises(Conflict):
        store.append_steps(run.id, _steps(1))

    assert store.get_run(run.id).step_count == 1
    assert len(store.list_steps(run.id)) == 1


def test_steps_of_unknown_run(store: EventStore) -> None:
    with pytest.raises(NotFound):
        store.append_steps(uuid.uuid4(), _steps(1))
    with pytest.raises(NotFound):
        store.list_steps(uuid.uuid4())


def test_batch_writers_and_appenders_share_one_sequence(store: EventStore) -> None:
    """API appends and background batches interleaved on the same runs still number each
    run's steps 1..N without gaps or duplicates."""
    runs = [store.create_run(RunCreate(name=n, agent="a", project_id="p")).id for n in "xy"]
    barrier = threading.Barrier(4)

    def appender(worker_id: int) -> None:
        barrier.wait()
        for call in range(10):
            store.append_steps(runs[call % 2], _steps(3, f"a{worker_id}"))

    def batcher(worker_id: int) -> None:
        barrier.wait()
        for _ in range(10):
            store.write_batch(
                [
                    StepEvent(run_id=runs[n % 2], step_type=StepType.THOUGHT, name=f"b{worker_id}")
                    for n in range(6)
                ]
            )

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(appender, 0), pool.submit(appender, 1)]
        futures += [pool.submit(batcher, 2), pool.submit(batcher, 3)]
        for future in futures:
            future.result()

    for run_id in runs:
        seqs = [step.seq for step in store.list_steps(run_id, limit=1000)]
        # Per run: 2 appenders x 5 calls x 3 steps + 2 batchers x 10 batches x 3 steps.
        assert seqs == list(range(1, 91))
        assert store.get_run(run_id).step_count == 90


@pytest.mark.postgres
def test_postgres_announces_runs_with_new_steps(postgres_store_url: str) -> None:
    """Committed appends and batches NOTIFY STEP_NOTIFY_CHANNEL with the run id; a failed
    batch announces nothing."""
    listener = psycopg.connect(
        sa.make_url(postgres_store_url).set(drivername="postgresql").render_as_string(False),
        autocommit=True,
    )
    with listener, open_store(postgres_store_url) as store:
        listener.execute(f"LISTEN {STEP_NOTIFY_CHANNEL}")
        first = store.create_run(RunCreate(name="a", agent="a", project_id="p"))
        second = store.create_run(RunCreate(name="b", agent="a", project_id="p"))

        store.append_steps(first.id, _steps(2))
        both = [first.id, second.id]
        store.write_batch(
            [StepEvent(run_id=run_id, step_type=StepType.THOUGHT, name="t") for run_id in both]
        )
        with pytest.raises(NotFound):
            store.write_batch(
                [
                    StepEvent(run_id=second.id, step_type=StepType.THOUGHT, name="t"),
                    StepEvent(run_id=uuid.uuid4(), step_type=StepType.THOUGHT, name="t"),
                ]
            )

        payloads = [n.payload for n in listener.notifies(timeout=0.5)]
    assert len(payloads) == 3, payloads  # none from the rolled back batch
    assert payloads[0] == str(first.id)
    assert sorted(payloads[1:]) == sorted([str(first.id), str(second.id)])
