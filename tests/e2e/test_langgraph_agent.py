"""The demo: the example LangGraph agent against the live native stack (`make up`).

The agent runs as its own process with what an operator exports (VIGIL_URL, VIGIL_API_KEY,
VIGIL_DATABASE_URL with the controller's role `vigil`): its run and steps arrive at the
controller over HTTP, and its state is checkpointed by LangGraph's PostgresSaver in the
stack's PostgreSQL (schema `langgraph`, which that role owns but could not create). Then an
agent stopped at its interrupt is killed with SIGKILL and a new process resumes the thread
from that PostgreSQL.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest

from tests.e2e.native_stack import StackUnderTest
from tests.integrations.langgraph.conftest import ROOT, agent_env, run_agent, start_agent

pytestmark = pytest.mark.e2e


def test_the_example_agent_records_into_the_stack(
    stack_under_test: StackUnderTest, controller: httpx.Client
) -> None:
    native = stack_under_test.native
    if native is None:
        pytest.skip("needs the native stack: the agent reads its PostgreSQL URL")
    database_url = native.postgres.database_url
    env = agent_env(
        VIGIL_URL=stack_under_test.controller,
        VIGIL_API_KEY=stack_under_test.api_key,
        VIGIL_DATABASE_URL=database_url,
    )
    result = subprocess.run(
        [sys.executable, "examples/support_agent.py", "Where is order 7?", "--thread", "e2e"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "Here is what I found: order 7: shipped on 2026-11-28.\n"
    (run,) = controller.get("/runs", params={"limit": 1}).json()["items"]
    assert (run["name"], run["agent"], run["status"]) == ("support", "support", "succeeded")
    assert run["metadata"]["thread_id"] == "e2e"
    steps = controller.get(f"/runs/{run['id']}/steps").json()["items"]
    assert [s["step_type"] for s in steps].count("graph_node") == 4
    assert len(steps) == 9

    paused = start_agent("pause", "--checkpoints", database_url, "--thread", "e2e-resume")
    try:
        assert paused.stdout is not None
        assert paused.stdout.readline() == 'PAUSED ["tools"]\n'
        paused.send_signal(signal.SIGKILL)
        paused.wait(timeout=10)
    finally:
        if paused.poll() is None:
            paused.kill()
            paused.wait()
        paused.communicate()  # closes its pipes
    final = json.loads(run_agent("resume", "--checkpoints", database_url, "--thread", "e2e-resume"))
    assert final["answer"] == "Here is what I found: order 7: shipped on 2026-11-28."
