"""What the interceptors report: one small frozen record per thing that happened.

The workflow interceptor runs inside the workflow sandbox and hands these across to the
recorder through an extern function (``temporalio.workflow.extern_functions``), the SDK's
path out of deterministic code; so they hold plain values only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    """How an activity attempt or a workflow execution ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    TERMINATED = "terminated"
    CONTINUED_AS_NEW = "continued_as_new"


@dataclass(frozen=True)
class Execution:
    """One Temporal workflow execution (a run of a workflow id)."""

    namespace: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str


@dataclass(frozen=True)
class ExecutionStarted:
    execution: Execution


@dataclass(frozen=True)
class SignalReceived:
    execution: Execution
    signal: str
    history_length: int
    """Where in the history the signal was handled: the same on every replay, so the key."""


@dataclass(frozen=True)
class ExecutionClosed:
    execution: Execution
    outcome: Outcome
    reason: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One attempt of one activity of an execution (Temporal numbers them from 1)."""

    execution: Execution
    activity_id: str
    activity_type: str
    number: int


@dataclass(frozen=True)
class AttemptStarted:
    attempt: Attempt

    @property
    def execution(self) -> Execution:
        return self.attempt.execution


@dataclass(frozen=True)
class AttemptFinished:
    attempt: Attempt
    outcome: Outcome
    duration_ms: float
    started_at: datetime
    error: str | None = None
    will_retry: bool = False
    trace_id: str | None = None

    @property
    def execution(self) -> Execution:
        return self.attempt.execution


ExecutionEvent = (
    ExecutionStarted | SignalReceived | ExecutionClosed | AttemptStarted | AttemptFinished
)
