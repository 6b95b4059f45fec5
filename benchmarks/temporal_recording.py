"""What recording costs a Temporal worker: the example agent's workflows with and without
``VigilInterceptor``, on the same dev server, alternated.

Starts the Temporal dev server (tests/integrations/temporal/temporal_server.py, the stack's
own component) and the controller (``vigil serve``, SQLite) as subprocesses on free ports.
Then, ``--rounds`` times, runs ``--workflows`` executions of the example support agent (three
activities each, run ``--concurrency`` at a time) on a worker in this process: once bare, once
with ``VigilInterceptor`` recording over HTTP into the controller. Prints the executions per
second of each (median of the rounds) and their ratio; then checks that every recorded
execution is in the controller with its three steps (the recording kept up). The machine's
load average before and after is printed too (the machine is shared: say how busy it was).

``--sink discard`` records into a sink that keeps nothing: the worker process's own cost,
without the controller's share of the same CPUs.

Usage: python benchmarks/temporal_recording.py [--rounds 3] [--workflows 60] [--concurrency 10]
       [--sink http|discard]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402
from tests.controller_process import ControllerProcess  # noqa: E402
from tests.integrations.temporal.temporal_server import temporal_server  # noqa: E402
from tests.ports import free_port  # noqa: E402

from examples.temporal.agent import (  # noqa: E402
    STEP_TYPES,
    Question,
    SupportAgent,
    call_model,
    lookup_order,
)
from vigil.integrations.temporal import (  # noqa: E402
    TemporalRecorder,
    VigilInterceptor,
    correlation_id,
)
from vigil.sdk import EventSink, HttpSink  # noqa: E402


class DiscardingSink(EventSink):
    """Takes every call and stores nothing: what recording costs the worker's own process
    (interceptor, queue, the recorder's thread), without the controller's share of the CPU."""

    def write(self, events: Any, *, batch_id: Any = None) -> Any:
        return None

    def create_run(self, run: Any, *, run_id: Any = None) -> Any:
        return None

    def finish_run(self, run_id: Any, finish: Any) -> Any:
        return None

    def create_workflow(self, workflow: Any, *, workflow_id: Any = None) -> Any:
        return None

    def transition_workflow(self, workflow_id: Any, transition: Any, **_: Any) -> Any:
        return None


async def _round(
    address: str, interceptors: list[Any], workflows: int, concurrency: int
) -> tuple[float, list[tuple[str, str]]]:
    client = await Client.connect(address, interceptors=interceptors)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    limit = asyncio.Semaphore(concurrency)
    done: list[tuple[str, str]] = []

    async def one() -> None:
        async with limit:
            handle = await client.start_workflow(
                SupportAgent.run,
                Question("Where is my order?"),
                id=f"bench-{uuid.uuid4().hex}",
                task_queue=queue,
            )
            await handle.result()
            done.append((handle.id, handle.result_run_id or ""))

    async with Worker(
        client,
        task_queue=queue,
        workflows=[SupportAgent],
        activities=[call_model, lookup_order],
        graceful_shutdown_timeout=timedelta(seconds=0),
    ):
        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(workflows)))
        elapsed = time.perf_counter() - began
    return workflows / elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workflows", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument(
        "--sink",
        choices=["http", "discard"],
        default="http",
        help="record into the controller over HTTP, or into a sink that keeps nothing",
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    data = Path(tempfile.mkdtemp(prefix="vigil-bench-temporal-"))
    controller = ControllerProcess(f"sqlite:///{data / 'vigil.db'}", data, free_port())
    controller.start()
    bare: list[float] = []
    recorded: list[float] = []
    lags: list[float] = []
    dropped = 0
    executions: list[tuple[str, str]] = []
    try:
        with temporal_server() as server:
            for _ in range(args.rounds):
                rate, _ = asyncio.run(_round(server.address, [], args.workflows, args.concurrency))
                bare.append(rate)
                sink: EventSink = (
                    HttpSink(controller.url, token=controller.token)
                    if args.sink == "http"
                    else DiscardingSink()
                )
                recorder = TemporalRecorder(sink, project_id="bench", step_types=STEP_TYPES)
                rate, done = asyncio.run(
                    _round(
                        server.address,
                        [VigilInterceptor(recorder)],
                        args.workflows,
                        args.concurrency,
                    )
                )
                recorded.append(rate)
                began = time.perf_counter()
                if not recorder.flush(60):
                    raise SystemExit("the recorder did not catch up within 60 s")
                lags.append(time.perf_counter() - began)
                dropped += recorder.dropped
                recorder.close()
                if args.sink == "http":
                    executions.extend(done)
        missing = 0
        with httpx.Client(base_url=controller.url, headers=controller.headers) as http:
            for workflow_id, run_id in executions:
                found = http.get(
                    "/workflows", params={"correlation_id": correlation_id(workflow_id, run_id)}
                ).json()["items"]
                if not found or found[0]["status"] != "succeeded":
                    missing += 1
                    continue
                run = found[0]["metadata"]["run_id"]
                if len(http.get(f"/runs/{run}/steps").json()["items"]) != 3:
                    missing += 1
    finally:
        controller.stop()
        shutil.rmtree(data, ignore_errors=True)
    print(f"executions/s without recording: {statistics.median(bare):.1f} ({bare})")
    print(f"executions/s with VigilInterceptor: {statistics.median(recorded):.1f} ({recorded})")
    print(f"ratio (recorded / bare): {statistics.median(recorded) / statistics.median(bare):.2f}")
    print(f"recorder still writing after the last execution: {max(lags):.2f} s at most")
    print(f"recorded executions checked: {len(executions)}, incomplete: {missing}, "
          f"events dropped: {dropped}")  # fmt: skip
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
