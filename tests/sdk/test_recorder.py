"""AgentRecorder against real stores: nothing accepted is lost, drops are counted, and the
producer side never waits on the database."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.sdk.conftest import SERVICE, RecorderFactory, dropped, sample
from vigil.models import (
    MAX_STEP_DATA_BYTES,
    LogLevel,
    MeasurementKind,
    Run,
    RunCreate,
    RunStatus,
    SpanStatus,
    StepType,
    new_id,
)
from vigil.sdk import StoreSink, current_run_id
from vigil.storage import EventStore, open_store, upgrade
from vigil.tracing import setup_tracing

PRODUCERS = 8
EVENTS_PER_PRODUCER = 5_000


def test_concurrent_producers_lose_nothing(
    store: EventStore, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """8 threads x 5,000 steps, then flush: every step is stored, in each producer's order."""
    runs = [
        store.create_run(RunCreate(name=f"producer-{n}", agent="a", project_id="p1"))
        for n in range(PRODUCERS)
    ]
    recorder = make_recorder(StoreSink(store), put_timeout=30.0)
    start = threading.Barrier(PRODUCERS)

    def produce(run: Run) -> None:
        start.wait()
        for i in range(EVENTS_PER_PRODUCER):
            assert recorder.log_step(run.id, StepType.TOOL_CALL, name="search", data={"i": i})

    threads = [threading.Thread(target=produce, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60.0)

    assert recorder.flush(timeout=60.0)
    for run in runs:
        assert store.get_run(run.id).step_count == EVENTS_PER_PRODUCER
        steps = store.list_steps(run.id, after_seq=EVENTS_PER_PRODUCER - 3, limit=10)
        assert [step.data["i"] for step in steps] == [4_997, 4_998, 4_999]
    assert sample(registry, "sdk_events_written_total", kind="step") == PRODUCERS * 5_000
    assert all(dropped(registry, reason) == 0 for reason in ("queue_full", "closed"))


def test_close_writes_everything_accepted(
    store: EventStore, run: Run, make_recorder: RecorderFactory
) -> None:
    """No flush: close alone drains the queue before stopping the writer."""
    recorder = make_recorder(StoreSink(store), flush_interval=10.0)
    for i in range(2_500):
        recorder.log_step(run.id, "thought", data={"i": i})

    assert recorder.close(timeout=30.0)

    assert store.get_run(run.id).step_count == 2_500


def test_close_is_idempotent_and_later_events_are_counted(
    store: EventStore, run: Run, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """A second close returns at once; events recorded after close are dropped as closed."""
    recorder = make_recorder(StoreSink(store))
    recorder.log_step(run.id, "thought")
    assert recorder.close()
    assert recorder.close()
    with recorder:  # __exit__ closes once more
        assert recorder.log_step(run.id, "thought") is False
    assert recorder.flush(timeout=1.0)  # nothing pending: returns at once

    assert store.get_run(run.id).step_count == 1
    assert dropped(registry, "closed") == 1


@pytest.mark.usefixtures("fresh_tracing")
def test_steps_logs_measurements_and_spans_are_stored(
    store: EventStore, run: Run, make_recorder: RecorderFactory
) -> None:
    """Every producer call lands in its table, with the run and the span's trace attached:
    the recorder's spans are OpenTelemetry spans, queued back onto it by tracing."""
    recorder = make_recorder(StoreSink(store))
    setup_tracing(SERVICE, recorder=recorder, langfuse=False)
    with recorder.span("tool.search", attributes={"tool": "search"}, run_id=run.id) as span:
        recorder.log_step(run.id, StepType.TOOL_CALL, name="search", data={"q": "refund"})
        recorder.log(LogLevel.INFO, "searching", run_id=run.id, attributes={"hits": 3})
        with recorder.span("db.query") as child:
            pass
    recorder.measure("tokens_total", 42, MeasurementKind.COUNTER, {"model": "m"}, run_id=run.id)
    assert recorder.flush()

    (step,) = store.list_steps(run.id)
    assert (step.step_type, step.name, step.data) == (StepType.TOOL_CALL, "search", {"q": "refund"})
    assert step.trace_id == span.trace_id
    (log,) = store.query_logs(run_id=run.id).items
    assert (log.message, log.service, log.attributes) == ("searching", SERVICE, {"hits": 3})
    assert (log.trace_id, log.span_id) == (span.trace_id, span.span_id)
    (point,) = store.query_measurements("tokens_total").items
    assert (point.value, point.labels, point.run_id) == (42.0, {"model": "m"}, run.id)
    trace = {s.span_id: s for s in store.get_trace(span.trace_id)}
    assert trace[child.span_id].parent_span_id == span.span_id
    assert trace[child.span_id].run_id == run.id
    assert trace[span.span_id].attributes == {"tool": "search"}


@pytest.mark.usefixtures("fresh_tracing")
def test_a_failing_span_is_marked_error(
    store: EventStore, run: Run, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(StoreSink(store))
    setup_tracing(SERVICE, recorder=recorder, langfuse=False)
    with pytest.raises(RuntimeError), recorder.span("tool.call", run_id=run.id) as span:
        raise RuntimeError("tool crashed")
    assert recorder.flush()

    (stored,) = store.get_trace(span.trace_id)
    assert stored.status == SpanStatus.ERROR
    assert stored.status_message == "RuntimeError: tool crashed"


def test_run_block_starts_attributes_and_finishes_the_run(
    store: EventStore, make_recorder: RecorderFactory
) -> None:
    """``recorder.run`` finishes the run succeeded, or failed when the block raises."""
    recorder = make_recorder(StoreSink(store))
    with recorder.run("ok", agent="a", project_id="p1") as ok:
        assert current_run_id() == ok.id
        recorder.log_step(None, "message", data={"text": "hi"})
    with (
        pytest.raises(ValueError, match="boom"),
        recorder.run("ko", agent="a", project_id="p1") as ko,
    ):
        raise ValueError("boom")
    assert current_run_id() is None
    assert recorder.flush()

    assert store.get_run(ok.id).status == RunStatus.SUCCEEDED
    assert store.get_run(ok.id).step_count == 1
    assert store.get_run(ko.id).status == RunStatus.FAILED


def test_wrong_arguments_raise_at_the_call_site(
    run: Run, make_recorder: RecorderFactory, store: EventStore
) -> None:
    """Mistakes a caller can make are ValueError/TypeError now, not silent drops later."""
    recorder = make_recorder(StoreSink(store))
    with pytest.raises(ValueError, match="unknown step_type"):
        recorder.log_step(run.id, "thinking")
    with pytest.raises(ValueError, match="no run_context"):
        recorder.log_step(None, "thought")
    with pytest.raises(ValueError, match="badly formed"):
        recorder.log_step("not-a-uuid", "thought")
    with pytest.raises(TypeError):
        recorder.log_step(run.id, "thought", data={"when": object()})
    with pytest.raises(ValueError, match="limit"):
        recorder.log_step(run.id, "thought", data={"text": "x" * MAX_STEP_DATA_BYTES})
    with pytest.raises(ValueError, match="name"):
        recorder.log_step(run.id, "thought", name="")
    with pytest.raises(ValueError, match="unknown log level"):
        recorder.log("loud", "hello")
    with pytest.raises(ValueError, match="unknown measurement kind"):
        recorder.measure("latency_seconds", 1.0, "summary")
    with pytest.raises(ValueError, match="name"):
        recorder.measure("latency-seconds", 1.0)
    with pytest.raises(ValueError, match="finite"):
        recorder.measure("latency_seconds", float("nan"))
    assert recorder.queue_depth == 0


def test_an_invalid_event_is_dropped_alone(
    store: EventStore,
    run: Run,
    make_recorder: RecorderFactory,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What only the model's full validation catches is dropped as invalid, counted and
    logged; the rest of the batch is stored."""
    recorder = make_recorder(StoreSink(store))
    recorder.log_step(run.id, "thought", name="ok-1")
    recorder.log_step(run.id, "thought", name="bad", trace_id="not-a-trace-id")
    recorder.log_step(run.id, "thought", name="ok-2")
    assert recorder.close()

    assert [step.name for step in store.list_steps(run.id)] == ["ok-1", "ok-2"]
    assert dropped(registry, "invalid") == 1
    assert "invalid=1" in caplog.text
    assert "trace_id" in str([r.__dict__.get("drop_details") for r in caplog.records])


def test_a_rejected_batch_is_split_and_the_valid_events_kept(
    store: EventStore, run: Run, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """Steps of an unknown run make write_batch fail (NotFound) for the whole batch: the
    writer splits it, stores the valid events and drops the others as rejected."""
    recorder = make_recorder(StoreSink(store), flush_interval=10.0)
    unknown = new_id()
    for i in range(40):
        recorder.log_step(unknown if i in (7, 30) else run.id, "thought", data={"i": i})
    assert recorder.flush()

    stored = [step.data["i"] for step in store.list_steps(run.id)]
    assert stored == [i for i in range(40) if i not in (7, 30)]
    assert dropped(registry, "rejected") == 2


def test_metrics_exist_before_the_first_drop(
    make_recorder: RecorderFactory, registry: CollectorRegistry, store: EventStore
) -> None:
    """Every drop reason's series is exported at 0 from the start, and a second recorder on
    the same registry shares the metrics instead of failing to register them."""
    make_recorder(StoreSink(store))
    make_recorder(StoreSink(store))
    for reason in ("queue_full", "invalid", "rejected", "sink_error", "closed"):
        assert (
            registry.get_sample_value(
                "sdk_events_dropped_total", {"service": SERVICE, "reason": reason}
            )
            == 0.0
        )


def test_the_atexit_hook_writes_what_a_script_forgot_to_close(tmp_path: Path) -> None:
    """A program that never calls close still gets its events stored when it exits."""
    url = f"sqlite:///{tmp_path}/vigil.db"
    upgrade(url)
    script = textwrap.dedent(
        f"""
        from vigil.models import RunCreate
        from vigil.sdk import AgentRecorder, StoreSink
        from vigil.storage import open_store

        store = open_store({url!r})
        recorder = AgentRecorder(StoreSink(store), flush_interval=60.0)
        run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
        for i in range(3000):
            recorder.log_step(run.id, "thought", data={{"i": i}})
        print(run.id)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )

    with open_store(url) as store:
        runs = store.list_runs().items
        assert [r.step_count for r in runs] == [3000]
        assert str(runs[0].id) == result.stdout.strip()


def test_producer_calls_do_not_wait_for_the_sink(
    store: EventStore, run: Run, make_recorder: RecorderFactory
) -> None:
    """While a batch is being written, producers keep queueing at memory speed."""
    recorder = make_recorder(StoreSink(store))
    started = time.perf_counter()
    for i in range(20_000):
        recorder.log_step(run.id, "thought", data={"i": i})
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0  # ~1-3 us per call; the store takes ~20 us per event
    assert recorder.flush(timeout=60.0)


def test_a_run_block_survives_a_sink_that_cannot_finish_it(
    store: EventStore, make_recorder: RecorderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Finishing a run that was finished meanwhile (409-like) is logged, not raised: the
    block's own exception is the one the caller sees."""
    recorder = make_recorder(StoreSink(store))
    runs: list[Run] = []

    def agent() -> None:
        with recorder.run("r", agent="a", project_id="p1") as run:
            runs.append(run)
            recorder.finish_run(run.id, RunStatus.CANCELLED)
            raise KeyError("the agent's own error")

    with pytest.raises(KeyError, match="the agent's own error"):
        agent()
    assert store.get_run(runs[0].id).status == RunStatus.CANCELLED
    assert "could not finish run" in caplog.text
