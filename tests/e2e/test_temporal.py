"""Temporal on the live native stack: `vigil stack up` runs the dev server, an agent's worker
connects to it, its executions appear in the stack's controller, Prometheus scrapes the
worker's SDK metrics and the server's own, and `down` stops the server."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from examples.temporal.agent import Question, SupportAgent
from tests.e2e.native_stack import running_stack
from tests.e2e.polling import wait_for
from tests.integrations.temporal.harness import StackController, agent_worker, vigil_view
from vigil.integrations.temporal import temporal_runtime
from vigil.stack import Stack

pytestmark = pytest.mark.e2e


def _series(stack: Stack, query: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{stack.prometheus.url}/api/v1/query",
        params={"query": query},
        auth=stack.prometheus.credentials.pair(),
        timeout=5,
    )
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()["data"]["result"]
    return result


def test_the_stack_runs_temporal_and_prometheus_scrapes_its_metrics() -> None:
    with running_stack(scrape_interval="1s", evaluation_interval="1s", s3=False) as stack:
        temporal = stack.temporal
        pid = temporal.running_pid()
        assert pid is not None
        assert (temporal.directory / "temporal.db").is_file(), "state under the state directory"
        controller = StackController(
            stack.controller.url, stack.layout.admin_key.read_text().strip()
        )
        sdk_metrics = f"127.0.0.1:{stack.settings.temporal_sdk_metrics_port}"

        async def scenario() -> tuple[str, str]:
            runtime = temporal_runtime(sdk_metrics, service="e2e-worker")
            async with agent_worker(temporal.address, controller, runtime=runtime) as agent:
                handle = await agent.client.start_workflow(
                    SupportAgent.run,
                    Question("Where is my order?", tool_failures=1),
                    id=agent.workflow_id(),
                    task_queue=agent.task_queue,
                )
                await handle.result()
                # While the worker (and its metrics endpoint) is up: once it is gone, the
                # next scrape fails and Prometheus marks its series stale.
                sdk = '{job="temporal-sdk"}'
                for what, query in (
                    ("a completed workflow", f"temporal_workflow_completed_total{sdk}"),
                    ("a failed attempt", f"sum(temporal_activity_execution_failed_total{sdk})"),
                ):  # fmt: skip
                    await asyncio.to_thread(
                        wait_for,
                        f"{what} in the worker's SDK metrics, scraped",
                        lambda query=query: _series(stack, f"{query} >= 1") or None,
                        timeout_s=30,
                    )
                return handle.id, handle.result_run_id or ""

        workflow_id, run_id = asyncio.run(scenario())
        view = vigil_view(controller, workflow_id, run_id)
        assert view.workflow["status"] == "succeeded"
        assert [a[1] for a in view.attempts if a[0] == "lookup_order"] == [1, 2]
        server = 'up{job="temporal-server"} == 1'
        assert wait_for(
            "the Temporal server scraped", lambda: _series(stack, server) or None, timeout_s=30
        )
    assert temporal.running_pid() is None, "`down` stops the Temporal server"
