"""What the Temporal tests share: a worker of the example agent recording into a real
controller, and reads of what the controller then shows.

    async with agent_worker(server.address, controller) as agent:
        handle = await agent.client.start_workflow(SupportAgent.run, question,
                                                   id=..., task_queue=agent.task_queue)
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import httpx
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.worker import Worker

from examples.temporal.agent import STEP_TYPES, SupportAgent, call_model, lookup_order
from vigil.integrations.temporal import TemporalRecorder, VigilInterceptor, correlation_id
from vigil.integrations.temporal._events import ExecutionEvent
from vigil.sdk import HttpSink

PROJECT = "temporal-tests"


class Controller(Protocol):
    """A running controller: ``tests.controller_process.ControllerProcess``, a stack's."""

    @property
    def url(self) -> str: ...

    @property
    def token(self) -> str: ...

    @property
    def headers(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class StackController:
    """The controller of a native stack, as a ``Controller``."""

    url: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class CapturingRecorder(TemporalRecorder):
    """A ``TemporalRecorder`` that also keeps every event it was given (to give them again)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[ExecutionEvent] = []

    def record(self, event: ExecutionEvent) -> bool:
        self.events.append(event)
        return super().record(event)


def recorder_for(controller: Controller) -> CapturingRecorder:
    sink = HttpSink(controller.url, token=controller.token)
    return CapturingRecorder(sink, project_id=PROJECT, step_types=STEP_TYPES, retry_backoff=0.05)


@dataclass
class AgentWorker:
    client: Client
    recorder: CapturingRecorder
    task_queue: str = field(default_factory=lambda: f"agent-{uuid.uuid4().hex[:8]}")

    def workflow_id(self) -> str:
        return f"support-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def agent_worker(
    address: str,
    controller: Controller,
    *,
    interceptors: Iterable[Any] = (),
    runtime: Runtime | None = None,
) -> AsyncIterator[AgentWorker]:
    """The example agent's worker in this process, recording through the controller; the
    recorder is flushed and closed when the block ends."""
    recorder = recorder_for(controller)
    try:
        client = await Client.connect(
            address,
            interceptors=[*interceptors, VigilInterceptor(recorder)],
            runtime=runtime,
        )
        agent = AgentWorker(client, recorder)
        async with Worker(
            client,
            task_queue=agent.task_queue,
            workflows=[SupportAgent],
            activities=[call_model, lookup_order],
            graceful_shutdown_timeout=timedelta(seconds=0),
        ):
            yield agent
    finally:
        flushed = recorder.flush(30)
        recorder.close()
    assert flushed, "the recorder did not write what it queued within 30 s"


@dataclass
class VigilView:
    """What the controller shows of one Temporal execution."""

    workflow: dict[str, Any]
    transitions: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    run: dict[str, Any]

    @property
    def reasons(self) -> list[str]:
        return [t["reason"] or "" for t in self.transitions]

    @property
    def attempts(self) -> list[tuple[str, int, str]]:
        """(activity type, attempt, outcome) of each step, in order."""
        return [
            (s["name"], s["data"]["temporal"]["attempt"], s["data"]["temporal"]["outcome"])
            for s in self.steps
        ]


def vigil_view(controller: Controller, workflow_id: str, run_id: str) -> VigilView:
    """The Vigil workflow of that execution (found by correlation id), its history, its run
    and the run's steps, through the controller's API."""
    with httpx.Client(base_url=controller.url, headers=controller.headers, timeout=10) as http:
        found = http.get(
            "/workflows", params={"correlation_id": correlation_id(workflow_id, run_id)}
        )
        found.raise_for_status()
        [workflow] = found.json()["items"]
        transitions = http.get(f"/workflows/{workflow['id']}/transitions").json()
        run_id_vigil = workflow["metadata"]["run_id"]
        run = http.get(f"/runs/{run_id_vigil}").json()
        steps = http.get(f"/runs/{run_id_vigil}/steps", params={"limit": 1000}).json()["items"]
    return VigilView(workflow, transitions, steps, run)
