"""``TemporalRecorder`` against a real controller that goes away: what it queued while the
controller was down is written when it is back, in order; a controller that stays down costs
the events (counted), never the worker."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from tests.controller_process import ControllerProcess
from tests.integrations.temporal.harness import PROJECT, vigil_view
from tests.ports import free_port
from vigil.integrations.temporal import TemporalRecorder
from vigil.integrations.temporal._events import (
    Attempt,
    AttemptStarted,
    Execution,
    ExecutionStarted,
)
from vigil.sdk import HttpSink


def _execution() -> Execution:
    return Execution("default", f"wf-{uuid.uuid4().hex[:8]}", str(uuid.uuid4()), "Agent", "q")


def test_events_queued_while_the_controller_is_down_are_written_when_it_is_back(
    tmp_path: Path,
) -> None:
    controller = ControllerProcess(f"sqlite:///{tmp_path / 'vigil.db'}", tmp_path, free_port())
    controller.start()
    try:
        sink = HttpSink(controller.url, token=controller.token, timeout=2)
        with TemporalRecorder(sink, project_id=PROJECT, retry_backoff=0.5) as recorder:
            execution = _execution()
            controller.kill()
            began = time.monotonic()
            assert recorder.record(ExecutionStarted(execution))
            assert recorder.record(AttemptStarted(Attempt(execution, "1", "lookup", 1)))
            assert time.monotonic() - began < 0.1, "record never waits on the sink"
            time.sleep(1.0)
            controller.start()
            assert recorder.flush(30)
            assert recorder.dropped == 0
        view = vigil_view(controller, execution.workflow_id, execution.run_id)
        assert view.reasons == ["", "activity lookup attempt 1 started"]
    finally:
        controller.stop()


def test_a_controller_that_stays_down_costs_the_events_counted(tmp_path: Path) -> None:
    sink = HttpSink(f"http://127.0.0.1:{free_port()}", token="nobody", timeout=1)
    with TemporalRecorder(sink, project_id=PROJECT, max_attempts=2, retry_backoff=0.01) as rec:
        execution = _execution()
        rec.record(ExecutionStarted(execution))
        rec.record(AttemptStarted(Attempt(execution, "1", "lookup", 1)))
        assert rec.flush(10)
        assert rec.dropped == 2
