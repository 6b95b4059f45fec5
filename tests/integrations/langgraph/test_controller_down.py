"""A controller that is down never blocks or breaks the agent.

The example graph runs with its recorder posting to a real controller process
(tests/controller_process.py) that is not running yet. The invocation returns its answer
at its normal pace (the run's start, its steps and its end are queued: no round trip). What
happens to them then follows the SDK's rules (docs/sdk.md): with a spool they wait on disk
and reach the controller once it is up, run and steps; without one, they are dropped after
the writer's retries and counted as ``sink_error``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langchain_core.messages import HumanMessage
from prometheus_client import CollectorRegistry

from examples.support_agent import build_graph
from tests.controller_process import ControllerProcess
from tests.ports import free_port
from tests.sdk.conftest import sample
from vigil.integrations.langgraph import VigilCallbackHandler
from vigil.sdk import AgentRecorder, HttpSink

EVENTS_PER_RUN = 1 + 9 + 9 + 1
"""run_start, 9 steps (4 nodes, 2 model calls, 1 tool call, 2 routing decisions), their 9
``agent_step_duration_seconds`` points, run_finish."""


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[ControllerProcess]:
    process = ControllerProcess(f"sqlite:///{tmp_path}/vigil.db", tmp_path / "controller",
                                free_port())  # fmt: skip
    (tmp_path / "controller").mkdir(exist_ok=True)
    try:
        yield process
    finally:
        process.stop()


def _answer(recorder: AgentRecorder) -> tuple[str, float]:
    handler = VigilCallbackHandler(recorder, agent="support", project_id="p1")
    began = time.perf_counter()
    result = build_graph().invoke(
        {"messages": [HumanMessage("Where is order 7?")]}, {"callbacks": [handler]}
    )
    return result["answer"], time.perf_counter() - began


def test_with_a_spool_the_run_waits_and_arrives(
    controller: ControllerProcess, tmp_path: Path
) -> None:
    registry = CollectorRegistry()
    spool = tmp_path / "agent.spool"
    sink = HttpSink(controller.url, token=controller.token, timeout=2.0)
    recorder = AgentRecorder(sink, service="support", registry=registry, spool=spool,
                             max_attempts=2, retry_backoff=0.05)  # fmt: skip
    answer, elapsed = _answer(recorder)
    assert answer == "Here is what I found: order 7: shipped on 2026-11-28."
    assert elapsed < 1.0, f"the agent waited {elapsed:.2f} s for a controller that is down"
    assert recorder.flush(timeout=10)
    assert recorder.spool_depth == EVENTS_PER_RUN  # kept, nothing dropped
    assert sample(registry, "sdk_events_dropped_total", service="support", reason="sink_error") == 0
    assert recorder.close(timeout=5)

    controller.start()
    again = AgentRecorder(HttpSink(controller.url, token=controller.token), service="support",
                          registry=CollectorRegistry(), spool=spool)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while again.spool_depth and time.monotonic() < deadline:
            time.sleep(0.05)
        assert again.spool_depth == 0
    finally:
        again.close()
    runs = httpx.get(f"{controller.url}/runs", headers=controller.headers).json()["items"]
    (run,) = runs
    assert (run["status"], run["step_count"], run["agent"]) == ("succeeded", 9, "support")


def test_without_a_spool_the_run_is_dropped_and_counted(
    controller: ControllerProcess,
) -> None:
    registry = CollectorRegistry()
    sink = HttpSink(controller.url, token=controller.token, timeout=2.0)
    recorder = AgentRecorder(sink, service="support", registry=registry, max_attempts=2,
                             retry_backoff=0.05)  # fmt: skip
    answer, elapsed = _answer(recorder)
    assert answer.startswith("Here is what I found")
    assert elapsed < 1.0, f"the agent waited {elapsed:.2f} s for a controller that is down"
    assert recorder.flush(timeout=10)
    dropped = sample(registry, "sdk_events_dropped_total", service="support", reason="sink_error")
    assert dropped == EVENTS_PER_RUN
    recorder.close(timeout=5)
