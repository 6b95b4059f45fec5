"""``VigilInterceptor``: a Temporal client and worker interceptor that reports each workflow
execution to a ``TemporalRecorder``.

Where each thing is seen, and why there:

- **activity attempts**, in the activity inbound interceptor: plain (non-deterministic) code,
  run once per attempt, which knows the attempt number, the retry policy and the outcome;
- **the execution starting, its signals and how it ended**, in the workflow inbound
  interceptor, which runs inside deterministic workflow code. It does no I/O: when the
  workflow is not replaying (``workflow.unsafe.is_replaying()``) it hands a plain record to an
  extern function (``workflow.extern_functions()``, the SDK's way out of the sandbox, as its
  own OpenTelemetry interceptor does), which only queues it. It issues no command and reads
  nothing that changes between runs, so a history replays with or without it
  (tests/integrations/temporal/test_replay.py runs the SDK's ``Replayer``);
- **a start by this client**, in the client outbound interceptor (the execution is created in
  Vigil at once, before a worker picks it up);
- **timed out and terminated**, which no worker code sees (the server closes the execution),
  in the client's history reads: ``handle.result()`` reads the closing event.

A worker killed mid-task and replaced replays the history (nothing is reported again) and
runs what was not finished; what the first worker reported of that is reported again under
the same derived ids, which the store keeps once (``_keys.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import temporalio.activity
import temporalio.api.enums.v1
import temporalio.api.history.v1
import temporalio.client
import temporalio.exceptions
import temporalio.worker
import temporalio.workflow

from vigil.integrations.temporal._events import (
    Attempt,
    AttemptFinished,
    AttemptStarted,
    Execution,
    ExecutionClosed,
    ExecutionEvent,
    ExecutionStarted,
    Outcome,
    SignalReceived,
)
from vigil.integrations.temporal._recorder import TemporalRecorder
from vigil.tracing import current_trace_ids

EXTERN_RECORD: Final = "__vigil_temporal_record"
UNKNOWN: Final = "unknown"
CANCELLATIONS: Final = (asyncio.CancelledError, temporalio.exceptions.CancelledError)
MAX_ERROR_CHARS: Final = 500
EventType = temporalio.api.enums.v1.EventType
CLOSING_EVENTS: Final = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: Outcome.TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: Outcome.TERMINATED,
}


class VigilInterceptor(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Records workflow executions, activity attempts and signals in Vigil.

        recorder = TemporalRecorder(HttpSink(), project_id="support")
        client = await Client.connect(address, interceptors=[VigilInterceptor(recorder)])
        worker = Worker(client, task_queue="agents", workflows=[...], activities=[...])

    Given to ``Client.connect``, it intercepts the client and every worker built on that
    client (as the SDK's own interceptors do); give it to a ``Worker`` only when the worker's
    client does not have it. Put it after ``TracingInterceptor`` in the list, so each step
    carries the trace id of its activity's span.
    """

    def __init__(self, recorder: TemporalRecorder) -> None:
        self.recorder = recorder

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _ClientOutbound(next, self.recorder)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return _ActivityInbound(next, self.recorder)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        input.unsafe_extern_functions[EXTERN_RECORD] = self.recorder.record
        return _WorkflowInbound


# Activities: plain code, once per attempt -------------------------------------------------


def _will_retry(info: temporalio.activity.Info, error: BaseException) -> bool:
    """Whether Temporal schedules another attempt after this failure (as its retry rules
    decide: a non-retryable error, a type the policy lists, or the last allowed attempt)."""
    if isinstance(error, temporalio.exceptions.ApplicationError):
        if error.non_retryable:
            return False
        error_type = error.type or type(error).__name__
    else:
        error_type = type(error).__name__
    policy = info.retry_policy
    if policy is None:
        return True
    if error_type in (policy.non_retryable_error_types or ()):
        return False
    return not (policy.maximum_attempts and info.attempt >= policy.maximum_attempts)


class _ActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    def __init__(
        self, next: temporalio.worker.ActivityInboundInterceptor, recorder: TemporalRecorder
    ) -> None:
        super().__init__(next)
        self.recorder = recorder

    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        info = temporalio.activity.info()
        if info.workflow_id is None or info.workflow_run_id is None:
            return await self.next.execute_activity(input)  # a standalone activity
        execution = Execution(
            namespace=info.namespace,
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            workflow_type=info.workflow_type or "",
            task_queue=info.task_queue,
        )
        attempt = Attempt(execution, info.activity_id, info.activity_type, info.attempt)
        self.recorder.record(AttemptStarted(attempt))
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        ids = current_trace_ids()
        trace_id = ids[0] if ids else None
        try:
            result = await self.next.execute_activity(input)
        except BaseException as exc:
            cancelled = isinstance(exc, CANCELLATIONS)
            self.recorder.record(
                AttemptFinished(
                    attempt,
                    outcome=Outcome.CANCELLED if cancelled else Outcome.FAILED,
                    duration_ms=(time.perf_counter() - started) * 1000,
                    started_at=started_at,
                    error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS],
                    will_retry=not cancelled and _will_retry(info, exc),
                    trace_id=trace_id,
                )
            )
            raise
        self.recorder.record(
            AttemptFinished(
                attempt,
                outcome=Outcome.COMPLETED,
                duration_ms=(time.perf_counter() - started) * 1000,
                started_at=started_at,
                trace_id=trace_id,
            )
        )
        return result


# Workflows: deterministic code, reports only when not replaying ---------------------------


def _report(make: Callable[[Execution], ExecutionEvent]) -> None:
    """Hand an event out of the sandbox, unless this is a replay (it was reported then)."""
    if temporalio.workflow.unsafe.is_replaying():
        return
    info = temporalio.workflow.info()
    execution = Execution(
        namespace=info.namespace,
        workflow_id=info.workflow_id,
        run_id=info.run_id,
        workflow_type=info.workflow_type,
        task_queue=info.task_queue,
    )
    temporalio.workflow.extern_functions()[EXTERN_RECORD](make(execution))


class _WorkflowInbound(temporalio.worker.WorkflowInboundInterceptor):
    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        _report(ExecutionStarted)
        try:
            result = await self.next.execute_workflow(input)
        except temporalio.workflow.ContinueAsNewError:
            _report(lambda execution: ExecutionClosed(execution, Outcome.CONTINUED_AS_NEW))
            raise
        except BaseException as exc:
            # The SDK's own rule (worker/_workflow_instance.py): a cancellation after a cancel
            # request cancels the workflow; a FailureError fails it; anything else fails the
            # workflow *task*, which Temporal retries: nothing has ended then.
            reason = f"{type(exc).__name__}: {_cause_text(exc)}"[:MAX_ERROR_CHARS]
            cancelled = temporalio.exceptions.is_cancelled_exception(exc)
            if cancelled and temporalio.workflow.cancellation_reason() is not None:
                _report(lambda execution: ExecutionClosed(execution, Outcome.CANCELLED, reason))
            elif isinstance(exc, temporalio.exceptions.FailureError):
                _report(lambda execution: ExecutionClosed(execution, Outcome.FAILED, reason))
            raise
        _report(lambda execution: ExecutionClosed(execution, Outcome.COMPLETED))
        return result

    async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
        length = temporalio.workflow.info().get_current_history_length()
        _report(lambda execution: SignalReceived(execution, input.signal, length))
        await self.next.handle_signal(input)


def _cause_text(error: BaseException) -> str:
    """The message with the innermost cause (an ActivityError says little by itself)."""
    text = str(error)
    cause = error.__cause__
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    return f"{text} (cause: {type(cause).__name__}: {cause})" if cause is not None else text


# The client: starts, and closes that no worker sees ---------------------------------------


class _ClientOutbound(temporalio.client.OutboundInterceptor):
    def __init__(
        self, next: temporalio.client.OutboundInterceptor, recorder: TemporalRecorder
    ) -> None:
        super().__init__(next)
        self.recorder = recorder

    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        handle = await self.next.start_workflow(input)
        run_id = handle.result_run_id or handle.first_execution_run_id
        if run_id is not None:
            execution = Execution(
                namespace=handle._client.namespace,  # the handle's own client
                workflow_id=input.id,
                run_id=run_id,
                workflow_type=input.workflow,
                task_queue=input.task_queue,
            )
            self.recorder.record(ExecutionStarted(execution))
        return handle

    def fetch_workflow_history_events(
        self, input: temporalio.client.FetchWorkflowHistoryEventsInput
    ) -> temporalio.client.WorkflowHistoryEventAsyncIterator:
        events = self.next.fetch_workflow_history_events(input)
        if input.run_id is None:
            return events
        return _ClosingEvents(events, input.run_id, self.recorder)


class _ClosingEvents(temporalio.client.WorkflowHistoryEventAsyncIterator):
    """The SDK's history iterator (the same reads), reporting a close that only the server
    saw. ``handle.result()`` reads just the close event, so the workflow type and task queue
    are not known here: the execution's records exist already unless nothing else reported
    it (then they say ``unknown``)."""

    def __init__(
        self,
        inner: temporalio.client.WorkflowHistoryEventAsyncIterator,
        run_id: str,
        recorder: TemporalRecorder,
    ) -> None:
        super().__init__(inner._client, inner._input)  # the SDK's own state
        self._run_id = run_id
        self._recorder = recorder

    async def __anext__(self) -> temporalio.api.history.v1.HistoryEvent:
        event = await super().__anext__()
        outcome = CLOSING_EVENTS.get(event.event_type)
        if outcome is not None:
            execution = Execution(
                namespace=self._client.namespace,
                workflow_id=self._input.id,
                run_id=self._run_id,
                workflow_type=UNKNOWN,
                task_queue=UNKNOWN,
            )
            self._recorder.record(ExecutionClosed(execution, outcome))
        return event
