"""log_step_later and record_later: events built on the writer thread, not the caller's."""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry

from tests.sdk.conftest import RecorderFactory, dropped
from vigil.models import MeasurementKind, Run, StepType
from vigil.sdk import StoreSink
from vigil.sdk._events import MEASUREMENT, QueuedEvent, step_item
from vigil.storage import EventStore


def test_the_data_is_built_on_the_writer_thread(
    store: EventStore, run: Run, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(StoreSink(store))
    built_on: list[str] = []

    def build() -> dict[str, object]:
        built_on.append(threading.current_thread().name)
        return {"prompt": "hello", "tokens": 3}

    assert recorder.log_step_later(run.id, "llm_generation", "model", build, trace_id="ab" * 16)
    assert recorder.flush()
    (step,) = store.list_steps(run.id)
    assert (step.data, step.trace_id) == ({"prompt": "hello", "tokens": 3}, "ab" * 16)
    assert built_on != [threading.current_thread().name]
    assert len(built_on) == 1


def test_oversized_data_becomes_a_marker_and_a_failing_build_is_invalid(
    store: EventStore, run: Run, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    recorder = make_recorder(StoreSink(store))

    def broken() -> dict[str, object]:
        raise RuntimeError("cannot read the prompt")

    recorder.log_step_later(run.id, "tool_call", "big", lambda: {"text": "x" * 70_000})
    recorder.log_step_later(run.id, "tool_call", "broken", broken)
    assert recorder.flush()
    (step,) = store.list_steps(run.id)
    assert step.name == "big"
    assert step.data["truncated"] is True
    assert step.data["serialized_bytes"] > 70_000
    assert dropped(registry, "invalid") == 1


def test_record_later_builds_several_events_on_the_writer_thread(
    store: EventStore, run: Run, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """``record_later``: ``build`` runs on the writer thread and its events are validated
    and stored like any; a build that raises, or a closed queue, costs all its events."""
    recorder = make_recorder(StoreSink(store))
    built_on: list[str] = []

    def build() -> list[QueuedEvent]:
        built_on.append(threading.current_thread().name)
        created = time.time()
        return [
            step_item(run.id, StepType.TOOL_CALL, "lookup", {"n": 1}, None, None, created),
            (MEASUREMENT, "lookup_seconds", 0.25, MeasurementKind.HISTOGRAM, {"k": "v"},
             run.id, None, created),
        ]  # fmt: skip

    def broken() -> list[QueuedEvent]:
        raise RuntimeError("cannot read the call")

    assert recorder.record_later(build, events=2)
    assert recorder.record_later(broken, events=2)
    assert recorder.flush()
    (step,) = store.list_steps(run.id)
    assert (step.name, step.data) == ("lookup", {"n": 1})
    (point,) = store.query_measurements("lookup_seconds").items
    assert (point.value, point.labels, point.run_id) == (0.25, {"k": "v"}, run.id)
    assert built_on != [threading.current_thread().name]
    assert dropped(registry, "invalid") == 2
    recorder.close()
    assert not recorder.record_later(build, events=2)
    assert dropped(registry, "closed") == 2


def test_a_later_item_that_fails_partway_costs_all_its_events(
    store: EventStore, run: Run, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """Its step encodes, its measurement does not: neither is kept, both are counted."""
    recorder = make_recorder(StoreSink(store))

    def half() -> list[QueuedEvent]:
        step = step_item(run.id, StepType.TOOL_CALL, "t", {}, None, None, time.time())
        return [step, (MEASUREMENT, "m")]  # too short: its encoder raises

    assert recorder.record_later(half, events=2)
    assert recorder.flush()
    assert store.list_steps(run.id) == []
    assert dropped(registry, "invalid") == 2
