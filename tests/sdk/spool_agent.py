"""An agent process for the fault tests: records steps through ``HttpSink`` with a spool.

python -m tests.sdk.spool_agent record URL TOKEN SPOOL RUN_ID COUNT
    records COUNT steps (data {"i": 0..COUNT-1}) of RUN_ID; once all of them are in the
    spool (the controller is down) prints "spooled <n>" and waits to be killed.
python -m tests.sdk.spool_agent deliver URL TOKEN SPOOL
    opens a recorder on SPOOL, waits until the spool is empty, closes, prints
    "delivered <n>" (the events the spool held at start).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from uuid import UUID

from prometheus_client import CollectorRegistry

from vigil.sdk import AgentRecorder, HttpSink

TIMEOUT_S = 60.0


def recorder(url: str, token: str, spool: str) -> AgentRecorder:
    return AgentRecorder(
        HttpSink(url, token=token, timeout=5.0),
        service="spool-agent",
        spool=spool,
        retry_backoff=0.05,
        registry=CollectorRegistry(),
    )


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def record(url: str, token: str, spool: str, run_id: str, count: str) -> None:
    agent = recorder(url, token, spool)
    total = int(count)
    for i in range(total):
        agent.log_step(UUID(run_id), "tool_call", name="search", data={"i": i})
    wait_for(lambda: agent.spool_depth == total and agent.queue_depth == 0, "the spool")
    print(f"spooled {agent.spool_depth}", flush=True)
    time.sleep(3600)  # killed with SIGKILL here: no close, no atexit


def deliver(url: str, token: str, spool: str) -> None:
    agent = recorder(url, token, spool)
    held = agent.spool_depth
    wait_for(lambda: agent.spool_depth == 0, "the spool to drain")
    agent.close()
    print(f"delivered {held}", flush=True)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"record": record, "deliver": deliver}[command](*args)
