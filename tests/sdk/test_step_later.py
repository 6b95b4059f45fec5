"""log_step_later: a step whose data is built on the writer thread, not the caller's."""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry

from tests.sdk.conftest import RecorderFactory, dropped
from vigil.models import Run
from vigil.sdk import StoreSink
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
