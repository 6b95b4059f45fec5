"""A support agent as a Temporal workflow: each model call and each tool call is an activity,
so Temporal retries them and a worker that dies mid-way is replaced without losing the run.

The model is a fake one (no API key, the same answer every time): it first asks for the
order, then answers from what the tool returned. ``Question`` also carries knobs the tests and
the demo turn: a tool that fails its first attempts (retries), one that is slow (time to kill
the worker), one that always fails (the failure path).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

TASK_QUEUE = "vigil-support-agent"
MAX_TURNS = 4
STEP_TYPES = {"call_model": "llm_generation", "lookup_order": "tool_call"}
"""How Vigil records each activity's attempts (``TemporalRecorder(step_types=...)``)."""


@dataclass
class Question:
    text: str
    order_id: str = "A-1001"
    tool_failures: int = 0
    """The tool fails its first N attempts (Temporal retries it; Vigil shows each attempt)."""
    tool_delay_s: float = 0.0
    """The tool takes this long."""
    tool_timeout_s: float = 10.0
    """An attempt that has not answered by then is retried (a worker killed mid-call)."""
    tool_broken: bool = False
    """The tool refuses every call (non-retryable): the workflow fails."""


@dataclass
class ModelTurn:
    tool: str | None
    argument: str
    text: str


@activity.defn
async def call_model(question: Question, observation: str | None) -> ModelTurn:
    """The fake LLM: a tool call first, then the answer built from its result."""
    order = question.order_id
    if observation is None:
        return ModelTurn("lookup_order", order, f"Looking order {order} up.")
    return ModelTurn(None, "", f"About {question.text!r}: order {observation}.")


@activity.defn
async def lookup_order(question: Question, order_id: str) -> str:
    """The tool: the order's status from the (pretend) order service."""
    attempt = activity.info().attempt
    if question.tool_broken:
        raise ApplicationError("order service refused the call", type="OrderRefused",
                               non_retryable=True)  # fmt: skip
    if attempt <= question.tool_failures:
        raise ApplicationError(f"order service timed out (attempt {attempt})", type="Timeout")
    if question.tool_delay_s:
        await asyncio.sleep(question.tool_delay_s)
    return f"{order_id}: shipped on 2026-11-30"


@workflow.defn
class SupportAgent:
    """Model, tool, model ... until the model answers; notes arrive as signals."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    @workflow.signal
    def add_note(self, note: str) -> None:
        self.notes.append(note)

    @workflow.run
    async def run(self, question: Question) -> str:
        observation: str | None = None
        for _ in range(MAX_TURNS):
            turn = await workflow.execute_activity(
                call_model,
                args=[question, observation],
                start_to_close_timeout=timedelta(seconds=10),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
            if turn.tool is None:
                return turn.text + "".join(f" Note: {note}." for note in self.notes)
            observation = await workflow.execute_activity(
                lookup_order,
                args=[question, turn.argument],
                start_to_close_timeout=timedelta(seconds=question.tool_timeout_s),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(milliseconds=200),
                    backoff_coefficient=1.0,
                    maximum_attempts=5,
                ),
            )
        raise ApplicationError("the model gave no answer", type="NoAnswer", non_retryable=True)
