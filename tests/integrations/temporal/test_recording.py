"""Executions of the example agent on a real Temporal dev server, recorded through a real
controller and read back with ``GET /workflows?correlation_id=``: the state of each, its
transitions, one step per activity attempt; the failure, cancel and timeout paths; and the
same events recorded twice stored once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle

from examples.temporal.agent import Question, SupportAgent
from tests.controller_process import ControllerProcess
from tests.integrations.temporal.harness import (
    agent_worker,
    recorder_for,
    vigil_view,
)
from tests.integrations.temporal.temporal_server import TemporalServer


async def _wait_until_started(handle: WorkflowHandle[Any, Any], activity: str) -> None:
    """Until the workflow's history shows an attempt of ``activity`` running."""
    for _ in range(100):
        description = await handle.describe()
        pending = description.raw_description.pending_activities
        if any(p.activity_type.name == activity for p in pending):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{activity} never started")


def test_an_execution_is_a_workflow_whose_attempts_are_steps(
    temporal: TemporalServer, controller: ControllerProcess
) -> None:
    """The tool fails twice and succeeds on its third attempt; a signal arrives meanwhile.
    Vigil shows the execution under ``<workflow id>:<run id>`` as succeeded, with a
    transition per attempt's start and end and the signal, and one step per attempt."""

    async def scenario() -> tuple[str, str, str]:
        async with agent_worker(temporal.address, controller) as agent:
            handle = await agent.client.start_workflow(
                SupportAgent.run,
                Question("Where is my order?", tool_failures=2),
                id=agent.workflow_id(),
                task_queue=agent.task_queue,
            )
            await handle.signal(SupportAgent.add_note, "customer called twice")
            answer = await handle.result()
            assert handle.result_run_id is not None
            return handle.id, handle.result_run_id, answer

    workflow_id, run_id, answer = asyncio.run(scenario())
    assert "shipped" in answer
    assert "customer called twice" in answer
    view = vigil_view(controller, workflow_id, run_id)
    assert view.workflow["status"] == "succeeded"
    assert view.workflow["phase"] == "completed"
    assert view.workflow["workflow_type"] == "supportagent"
    temporal_ids = view.workflow["metadata"]["temporal"]
    assert (temporal_ids["workflow_id"], temporal_ids["run_id"]) == (workflow_id, run_id)
    assert view.run["status"] == "succeeded"
    assert view.attempts == [
        ("call_model", 1, "completed"),
        ("lookup_order", 1, "failed"),
        ("lookup_order", 2, "failed"),
        ("lookup_order", 3, "completed"),
        ("call_model", 1, "completed"),
    ]
    assert [s["step_type"] for s in view.steps] == [
        "llm_generation", "tool_call", "tool_call", "tool_call", "llm_generation",
    ]  # fmt: skip
    failed = view.steps[1]["data"]["temporal"]
    assert failed["will_retry"] is True
    assert "order service timed out (attempt 1)" in failed["error"]
    reasons = view.reasons
    assert reasons[0] == ""  # the creation
    assert "activity lookup_order attempt 2 started (a retry)" in reasons
    assert any(r.startswith("activity lookup_order attempt 1 failed") and
               r.endswith("Temporal retries it") for r in reasons)  # fmt: skip
    assert "activity lookup_order attempt 3 completed" in reasons
    assert reasons.count("signal add_note") == 1
    assert reasons[-1] == "workflow completed"
    assert view.transitions[-1]["to_status"] == "succeeded"
    # Each transition and each step once: 2 per attempt (start, end), the signal, the close.
    assert len(reasons) == 1 + 2 * 5 + 1 + 1


def test_a_failing_tool_fails_the_workflow(
    temporal: TemporalServer, controller: ControllerProcess
) -> None:
    """A non-retryable tool error: one failed attempt, no retry, the workflow failed with the
    tool's error as its reason, the run failed."""

    async def scenario() -> tuple[str, str]:
        async with agent_worker(temporal.address, controller) as agent:
            handle = await agent.client.start_workflow(
                SupportAgent.run,
                Question("Where is my order?", tool_broken=True),
                id=agent.workflow_id(),
                task_queue=agent.task_queue,
            )
            with pytest.raises(WorkflowFailureError):
                await handle.result()
            assert handle.result_run_id is not None
            return handle.id, handle.result_run_id

    view = vigil_view(controller, *asyncio.run(scenario()))
    assert view.workflow["status"] == "failed"
    assert view.workflow["phase"] == "failed"
    assert view.run["status"] == "failed"
    assert view.attempts == [("call_model", 1, "completed"), ("lookup_order", 1, "failed")]
    assert view.steps[1]["data"]["temporal"]["will_retry"] is False
    assert "order service refused the call" in view.reasons[-1]
    assert view.reasons[-1].startswith("ActivityError")


def test_cancelled_and_timed_out_executions(
    temporal: TemporalServer, controller: ControllerProcess
) -> None:
    """A cancel while the tool runs ends the workflow cancelled (seen by the worker); an
    execution timeout ends it timed out, which only the server sees: recorded when the
    client reads the result."""

    async def scenario() -> list[tuple[str, str]]:
        async with agent_worker(temporal.address, controller) as agent:
            cancelled = await agent.client.start_workflow(
                SupportAgent.run,
                Question("Cancel me", tool_delay_s=5),
                id=agent.workflow_id(),
                task_queue=agent.task_queue,
            )
            await _wait_until_started(cancelled, "lookup_order")
            await cancelled.cancel()
            with pytest.raises(WorkflowFailureError):
                await cancelled.result()
            timed_out = await agent.client.start_workflow(
                SupportAgent.run,
                Question("Too slow", tool_delay_s=5),
                id=agent.workflow_id(),
                task_queue=agent.task_queue,
                execution_timeout=timedelta(seconds=1),
            )
            with pytest.raises(WorkflowFailureError):
                await timed_out.result()
            return [(h.id, h.result_run_id or "") for h in (cancelled, timed_out)]

    cancelled, timed_out = (vigil_view(controller, *ids) for ids in asyncio.run(scenario()))
    assert (cancelled.workflow["status"], cancelled.workflow["phase"]) == (
        "cancelled",
        "cancelled",
    )
    assert cancelled.run["status"] == "cancelled"
    assert (timed_out.workflow["status"], timed_out.workflow["phase"]) == ("failed", "timed_out")
    assert timed_out.reasons[-1] == "workflow timed_out"


def test_recording_the_same_events_again_stores_nothing_new(
    temporal: TemporalServer, controller: ControllerProcess
) -> None:
    """What a worker that crashed and was replaced reports again (the same execution, the
    same attempts): a second recorder, with nothing cached, given every event of an execution
    once more, adds no workflow, no transition and no step."""

    async def scenario() -> tuple[str, str, list[Any]]:
        async with agent_worker(temporal.address, controller) as agent:
            handle = await agent.client.start_workflow(
                SupportAgent.run,
                Question("Where is my order?", tool_failures=1),
                id=agent.workflow_id(),
                task_queue=agent.task_queue,
            )
            await handle.signal(SupportAgent.add_note, "a note")
            await handle.result()
            events = list(agent.recorder.events)
        return handle.id, handle.result_run_id or "", events

    workflow_id, run_id, events = asyncio.run(scenario())
    before = vigil_view(controller, workflow_id, run_id)
    with recorder_for(controller) as again:
        for event in events:
            assert again.record(event)
        assert again.flush()
        assert again.dropped == 0
    after = vigil_view(controller, workflow_id, run_id)
    assert after.workflow == before.workflow
    assert after.transitions == before.transitions
    assert after.steps == before.steps
    assert len(after.steps) == 4
