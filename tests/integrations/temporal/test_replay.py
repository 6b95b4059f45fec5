"""Recording never breaks replay: a history the interceptor recorded (retries, a signal)
replays with the SDK's ``Replayer``, with and without the interceptor, and a replay reports
nothing (it was all reported when it happened)."""

from __future__ import annotations

import asyncio

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from examples.temporal.agent import Question, SupportAgent
from tests.controller_process import ControllerProcess
from tests.integrations.temporal.harness import agent_worker, recorder_for, vigil_view
from tests.integrations.temporal.temporal_server import TemporalServer
from vigil.integrations.temporal import VigilInterceptor


def test_a_recorded_history_replays_and_reports_nothing(
    temporal: TemporalServer, controller: ControllerProcess
) -> None:
    async def record() -> tuple[str, str, WorkflowHistory]:
        async with agent_worker(temporal.address, controller) as agent:
            handle = await agent.client.start_workflow(
                SupportAgent.run,
                Question("Where is my order?", tool_failures=1),
                id=agent.workflow_id(),
                task_queue=agent.task_queue,
            )
            await handle.signal(SupportAgent.add_note, "replay me")
            await handle.result()
            return handle.id, handle.result_run_id or "", await handle.fetch_history()

    workflow_id, run_id, history = asyncio.run(record())
    before = vigil_view(controller, workflow_id, run_id)
    assert "signal add_note" in before.reasons
    with recorder_for(controller) as replaying:
        for interceptors in ([VigilInterceptor(replaying)], []):
            replayer = Replayer(workflows=[SupportAgent], interceptors=interceptors)
            result = asyncio.run(replayer.replay_workflow(history))  # raises on nondeterminism
            assert result.replay_failure is None
        assert replaying.flush()
        assert replaying.events == []
    after = vigil_view(controller, workflow_id, run_id)
    assert after.transitions == before.transitions
    assert after.steps == before.steps
