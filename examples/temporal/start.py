"""Ask the support agent a question: start its workflow, wait for the answer, and say where
Vigil shows it.

    python -m examples.temporal.start "Where is my order?"
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid

from temporalio.client import Client

from examples.temporal.agent import TASK_QUEUE, Question, SupportAgent
from vigil.integrations.temporal import correlation_id


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("question", nargs="?", default="Where is my order?")
    parser.add_argument("--temporal", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--tool-failures", type=int, default=1, help="failed tool attempts")
    args = parser.parse_args()
    client = await Client.connect(args.temporal)
    handle = await client.start_workflow(
        SupportAgent.run,
        Question(args.question, tool_failures=args.tool_failures),
        id=f"support-{uuid.uuid4().hex[:12]}",
        task_queue=TASK_QUEUE,
    )
    print(await handle.result())
    vigil_url = os.environ.get("VIGIL_URL", "http://127.0.0.1:8000")
    correlation = correlation_id(handle.id, handle.result_run_id or "")
    print(f"Vigil: {vigil_url}/workflows?correlation_id={correlation}")


if __name__ == "__main__":
    asyncio.run(main())
