"""Run the support agent's Temporal worker, recording into Vigil.

    python -m examples.temporal.worker                      # VIGIL_URL, VIGIL_API_KEY
    python -m examples.temporal.worker --database-url sqlite:///./data/vigil.db

Connects to Temporal at ``--temporal`` (``vigil stack up`` prints it; default
127.0.0.1:7233), serves the SDK's metrics for Prometheus at ``--metrics`` (the stack scrapes
127.0.0.1:9464), sends spans through Temporal's OpenTelemetry interceptor on Vigil's tracing,
and runs until SIGTERM or Ctrl-C, writing what it queued before it exits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from contextlib import ExitStack

from temporalio.client import Client
from temporalio.worker import Worker

from examples.temporal.agent import STEP_TYPES, TASK_QUEUE, SupportAgent, call_model, lookup_order
from vigil.integrations.temporal import (
    TemporalRecorder,
    VigilInterceptor,
    temporal_runtime,
    tracing_interceptor,
)
from vigil.sdk import AgentRecorder, EventSink, HttpSink
from vigil.tracing import shutdown_tracing


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--temporal", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    parser.add_argument("--metrics", default="127.0.0.1:9464", help="host:port of /metrics")
    parser.add_argument("--project", default="support", help="the Vigil project")
    parser.add_argument("--service", default="support-agent-worker")
    parser.add_argument(
        "--database-url", help="write into this store instead of the controller at VIGIL_URL"
    )
    return parser.parse_args()


def _sink(args: argparse.Namespace) -> EventSink:
    if args.database_url is None:
        return HttpSink()
    from vigil.sdk import StoreSink
    from vigil.storage import open_store, upgrade

    upgrade(args.database_url)
    return StoreSink(open_store(args.database_url))


async def main() -> None:
    args = _arguments()
    with ExitStack() as resources:
        sink = _sink(args)
        recorder = TemporalRecorder(sink, project_id=args.project, step_types=STEP_TYPES)
        resources.callback(recorder.close)
        spans = AgentRecorder(sink, service=args.service)  # the spans, batched like steps
        resources.callback(spans.close)
        resources.callback(shutdown_tracing)
        client = await Client.connect(
            args.temporal,
            runtime=temporal_runtime(args.metrics, service=args.service),
            interceptors=[tracing_interceptor(args.service, recorder=spans),
                          VigilInterceptor(recorder)],
        )  # fmt: skip
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with Worker(
            client,
            task_queue=args.task_queue,
            workflows=[SupportAgent],
            activities=[call_model, lookup_order],
        ):
            print(f"worker: polling {args.task_queue} at {args.temporal}", flush=True)
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
