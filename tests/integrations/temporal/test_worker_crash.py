"""``kill -9`` of the worker mid-workflow: a new worker process finishes the execution, and
Vigil holds every attempt once, including the one the dead worker never finished."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from temporalio.client import Client

from examples.temporal.agent import Question, SupportAgent
from tests.controller_process import ControllerProcess
from tests.integrations.temporal.harness import PROJECT, vigil_view
from tests.integrations.temporal.temporal_server import TemporalServer
from tests.ports import free_port
from vigil.integrations.temporal import correlation_id

ROOT = Path(__file__).resolve().parents[3]


def _worker(temporal: TemporalServer, controller: ControllerProcess, queue: str,
            log: Path) -> subprocess.Popen[bytes]:  # fmt: skip
    """The example's worker as its own process (``python -m examples.temporal.worker``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env |= {"VIGIL_URL": controller.url, "VIGIL_API_KEY": controller.token,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'backend'}"}  # fmt: skip
    argv = [sys.executable, "-m", "examples.temporal.worker", "--temporal", temporal.address,
            "--task-queue", queue, "--project", PROJECT,
            "--metrics", f"127.0.0.1:{free_port()}"]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _attempt_started(controller: ControllerProcess, correlation: str, reason: str) -> bool:
    with httpx.Client(base_url=controller.url, headers=controller.headers, timeout=5) as http:
        items = http.get("/workflows", params={"correlation_id": correlation}).json()["items"]
        if not items:
            return False
        transitions = http.get(f"/workflows/{items[0]['id']}/transitions").json()
        return any(t["reason"] == reason for t in transitions)


def test_a_killed_worker_is_replaced_without_duplicate_steps(
    temporal: TemporalServer, controller: ControllerProcess, tmp_path: Path
) -> None:
    """The tool takes 1.5 s and Temporal gives an attempt 3 s. The worker is killed (SIGKILL)
    once the tool's first attempt started; a second worker process replays the history and,
    when attempt 1 times out, runs attempt 2 and the rest. Vigil shows the first model call
    once (the dead worker's), no step for attempt 1 (it never finished), attempt 2 once."""
    queue = f"crash-{os.getpid()}-{time.monotonic_ns()}"
    log = tmp_path / "workers.log"
    first = _worker(temporal, controller, queue, log)

    async def start() -> tuple[str, str]:
        client = await Client.connect(temporal.address)
        handle = await client.start_workflow(
            SupportAgent.run,
            Question("Where is my order?", tool_delay_s=1.5, tool_timeout_s=3.0),
            id=f"crash-{time.monotonic_ns()}",
            task_queue=queue,
        )
        return handle.id, handle.result_run_id or ""

    workflow_id, run_id = asyncio.run(start())
    correlation = correlation_id(workflow_id, run_id)
    second = None
    try:
        deadline = time.monotonic() + 30
        started = "activity lookup_order attempt 1 started"
        while not _attempt_started(controller, correlation, started):
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"attempt 1 never recorded\n{log.read_text()}"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        second = _worker(temporal, controller, queue, log)

        async def result() -> str:
            client = await Client.connect(temporal.address)
            return str(await client.get_workflow_handle(workflow_id).result())

        assert "shipped" in asyncio.run(asyncio.wait_for(result(), timeout=30))
        deadline = time.monotonic() + 10
        while vigil_view(controller, workflow_id, run_id).workflow["status"] != "succeeded":
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
    view = vigil_view(controller, workflow_id, run_id)
    assert view.attempts == [
        ("call_model", 1, "completed"),
        ("lookup_order", 2, "completed"),
        ("call_model", 1, "completed"),
    ]
    # Each once; call_model is two activities (ids 1 and 3), each with its attempt 1.
    assert view.reasons == [
        "",
        "activity call_model attempt 1 started",
        "activity call_model attempt 1 completed",
        "activity lookup_order attempt 1 started",
        "activity lookup_order attempt 2 started (a retry)",
        "activity lookup_order attempt 2 completed",
        "activity call_model attempt 1 started",
        "activity call_model attempt 1 completed",
        "workflow completed",
    ]
    assert view.run["status"] == "succeeded"
    # Spans: the worker's TracingInterceptor on Vigil's tracing, sent with its records; the
    # step names the trace of its attempt's span.
    trace_id = view.steps[-1]["trace_id"]
    assert trace_id
    trace = httpx.get(f"{controller.url}/traces/{trace_id}", headers=controller.headers, timeout=5)
    assert trace.status_code == 200, trace.text
    assert "RunActivity:call_model" in trace.text
