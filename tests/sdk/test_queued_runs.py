"""begin_run / end_run: runs queued like steps, with ids made by the SDK, no round trip."""

from __future__ import annotations

import time

import pytest
from prometheus_client import CollectorRegistry

from tests.sdk.conftest import RecorderFactory, ScriptedSink, sample
from vigil.models import RunStatus
from vigil.sdk import SinkUnavailable, StoreSink
from vigil.storage import EventStore


def test_a_queued_run_is_stored_with_its_steps(
    store: EventStore, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    recorder = make_recorder(StoreSink(store))
    run_id = recorder.begin_run("triage", agent="support", project_id="p1", metadata={"k": 1})
    assert run_id.version == 7  # a UUIDv7, like the controller's
    recorder.log_step(run_id, "graph_node", name="planner")
    assert recorder.end_run(run_id, "failed")
    assert recorder.flush()
    run = store.get_run(run_id)
    assert (run.name, run.agent, run.project_id, run.metadata) == (
        "triage",
        "support",
        "p1",
        {"k": 1},
    )
    assert (run.status, run.step_count) == (RunStatus.FAILED, 1)
    for kind in ("run_start", "run_finish"):
        assert sample(registry, "sdk_events_written_total", service="test-agent", kind=kind) == 1


def test_begin_run_never_waits_for_the_sink(
    scripted_sink: ScriptedSink, make_recorder: RecorderFactory
) -> None:
    """The sink is down: the calls return at once, the events wait in the queue."""
    scripted_sink.down = SinkUnavailable("controller down")
    recorder = make_recorder(scripted_sink, max_attempts=100)
    began = time.perf_counter()
    run_id = recorder.begin_run("r", agent="a", project_id="p1")
    assert recorder.end_run(run_id)
    assert time.perf_counter() - began < 0.05
    assert not recorder.flush(timeout=0.5)  # still retrying: nothing was taken


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"name": "", "agent": "a", "project_id": "p"}, "name"),
        ({"name": "r", "agent": "a" * 201, "project_id": "p"}, "agent"),
        ({"name": "r\x00", "agent": "a", "project_id": "p"}, "U\\+0000"),
        ({"name": "r", "agent": "\x00", "project_id": "p"}, "agent"),
        ({"name": "r", "agent": "a", "project_id": "no spaces"}, "identifier"),
        ({"name": "r", "agent": "a", "project_id": "p", "metadata": {"x": "y" * 20_000}}, "limit"),
    ],
)
def test_begin_run_checks_its_arguments(
    scripted_sink: ScriptedSink, make_recorder: RecorderFactory, arguments: dict[str, object],
    error: str,
) -> None:  # fmt: skip
    recorder = make_recorder(scripted_sink)
    with pytest.raises(ValueError, match=error):
        recorder.begin_run(**arguments)  # type: ignore[arg-type]


def test_end_run_takes_only_final_statuses(
    scripted_sink: ScriptedSink, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(scripted_sink)
    run_id = recorder.begin_run("r", agent="a", project_id="p1")
    for status in ("running", "abandoned", "done"):
        with pytest.raises(ValueError, match="a run ends as one of"):
            recorder.end_run(run_id, status)
