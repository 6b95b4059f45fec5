"""``TemporalRecorder``: turns what the interceptors report into Vigil records, off the
worker's hot path.

``record`` only queues (a bounded ``queue.Queue``; when it is full the event is dropped and
counted, never waited for): an activity or a workflow task never waits on the controller. One
thread applies the events in order through an ``EventSink`` (``HttpSink`` to the controller,
``StoreSink`` into a store), so a workflow's creation is written before its transitions.

What each event becomes (docs/temporal.md has the table):

- the first event of an execution: a Vigil run (its steps) and a Vigil workflow whose
  correlation id is ``<workflow id>:<run id>`` and whose metadata names the run;
- an activity attempt starting: a transition to phase ``activity.<type>``;
- an attempt ending: one step (type ``tool_call`` unless ``step_types`` says otherwise, data
  ``{"temporal": {...attempt, outcome, duration_ms, error, will_retry}}``) and a transition;
- a signal: a transition naming it; the execution closing: the final transition
  (``succeeded``, ``failed``, ``cancelled``) and the run finished the same way.

Every record's id is derived from the execution (``_keys.derived_id``): the step of attempt 2
of activity 3 has one batch id, wherever and however often it is sent. A sink that is down
is retried ``max_attempts`` times with backoff, then the event is dropped and logged.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final
from uuid import UUID

from vigil._closing import ClosedOnExit
from vigil.integrations.temporal._events import (
    AttemptFinished,
    AttemptStarted,
    Execution,
    ExecutionClosed,
    ExecutionEvent,
    ExecutionStarted,
    Outcome,
    SignalReceived,
)
from vigil.integrations.temporal._keys import correlation_id, derived_id, phase
from vigil.models import (
    MAX_NAME_LENGTH,
    JsonObject,
    RunCreate,
    RunFinish,
    RunStatus,
    StepEvent,
    StepType,
    WorkflowCreate,
    WorkflowStatus,
    WorkflowTransitionCreate,
)
from vigil.sdk import EventSink, SinkRejected, SinkUnavailable

logger = logging.getLogger("vigil.integrations.temporal")

CLOSED_STATUS: Final = {
    Outcome.COMPLETED: WorkflowStatus.SUCCEEDED,
    Outcome.CONTINUED_AS_NEW: WorkflowStatus.SUCCEEDED,
    Outcome.FAILED: WorkflowStatus.FAILED,
    Outcome.TIMED_OUT: WorkflowStatus.FAILED,
    Outcome.TERMINATED: WorkflowStatus.CANCELLED,
    Outcome.CANCELLED: WorkflowStatus.CANCELLED,
}
RUN_STATUS: Final = {
    WorkflowStatus.SUCCEEDED: RunStatus.SUCCEEDED,
    WorkflowStatus.FAILED: RunStatus.FAILED,
    WorkflowStatus.CANCELLED: RunStatus.CANCELLED,
}
MAX_REASON_CHARS: Final = 1_000
KNOWN_EXECUTIONS: Final = 10_000
_STOP: Final = object()


class TemporalRecorder(ClosedOnExit):
    """Records Temporal executions into Vigil through ``sink``, in a thread of its own.

        recorder = TemporalRecorder(HttpSink(), project_id="support")
        interceptor = VigilInterceptor(recorder)

    ``step_types`` maps activity types to step types (default ``tool_call``), e.g.
    ``{"call_model": "llm_generation"}``. ``close`` (or ``with``) writes what is queued.
    """

    def __init__(
        self,
        sink: EventSink,
        *,
        project_id: str,
        step_types: Mapping[str, StepType | str] | None = None,
        max_pending: int = 10_000,
        max_attempts: int = 5,
        retry_backoff: float = 0.2,
    ) -> None:
        self.sink = sink
        self.project_id = project_id
        self.step_types = {name: StepType(kind) for name, kind in (step_types or {}).items()}
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.dropped = 0
        """Events not recorded: the queue was full, or the sink refused or stayed down."""
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        # Executions created already (their ids), newest last: bounded, so a worker running
        # executions for months keeps a fixed amount; one forgotten is created again (a 200).
        self._known: OrderedDict[tuple[str, str, str], tuple[UUID, UUID]] = OrderedDict()
        self._thread = threading.Thread(
            target=self._drain, name="vigil-temporal-recorder", daemon=True
        )
        self._closed = False
        self._thread.start()

    # Producer side: never blocks --------------------------------------------------------

    def record(self, event: ExecutionEvent) -> bool:
        """Queue ``event``; False if it was dropped (queue full, recorder closed)."""
        if self._closed:
            self._drop(event, "the recorder is closed")
            return False
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._drop(event, "the queue is full")
            return False
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event queued so far is applied; False on timeout."""
        done = threading.Event()
        try:
            self._queue.put(done, timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Apply what is queued (up to ``timeout``), stop the thread, close the sink."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=timeout)
        self._thread.join(timeout)
        self.sink.close()

    # The recorder's thread ------------------------------------------------------------

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                self._apply_with_retries(item)
            except Exception:  # a bug must cost one event, not the recorder
                logger.exception("could not record Temporal event %s", type(item).__name__)
                self.dropped += 1

    def _apply_with_retries(self, event: ExecutionEvent) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                self._apply(event)
                return
            except SinkUnavailable as exc:
                if attempt == self.max_attempts:
                    self._drop(event, f"the sink stayed unavailable: {exc}")
                    return
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            except SinkRejected as exc:
                # A transition after the execution was closed (409), mostly: nothing to keep.
                logger.info("Temporal event %s not recorded: %s", type(event).__name__, exc)
                return

    def _drop(self, event: ExecutionEvent, why: str) -> None:
        self.dropped += 1
        logger.warning(
            "Temporal event %s of workflow %s dropped: %s",
            type(event).__name__,
            event.execution.workflow_id,
            why,
        )

    def _apply(self, event: ExecutionEvent) -> None:
        execution = event.execution
        workflow_id, run_id = self._ensure(execution)
        if isinstance(event, ExecutionStarted):
            return
        if isinstance(event, AttemptStarted):
            attempt = event.attempt
            retry = " (a retry)" if attempt.number > 1 else ""
            self._transition(
                execution,
                workflow_id,
                ("attempt-started", attempt.activity_id, attempt.number),
                phase=phase("activity", attempt.activity_type),
                status=WorkflowStatus.RUNNING,
                reason=f"activity {attempt.activity_type} attempt {attempt.number} started{retry}",
            )
        elif isinstance(event, AttemptFinished):
            attempt = event.attempt
            self._write_step(run_id, event)
            then = "; Temporal retries it" if event.will_retry else ""
            error = f": {event.error}" if event.error else ""
            self._transition(
                execution,
                workflow_id,
                ("attempt-finished", attempt.activity_id, attempt.number),
                phase=phase("activity", attempt.activity_type),
                status=WorkflowStatus.RUNNING,
                reason=f"activity {attempt.activity_type} attempt {attempt.number} "
                f"{event.outcome.value}{error}{then}",
            )
        elif isinstance(event, SignalReceived):
            self._transition(
                execution,
                workflow_id,
                ("signal", event.signal, event.history_length),
                phase=None,
                status=WorkflowStatus.RUNNING,
                reason=f"signal {event.signal}",
            )
        elif isinstance(event, ExecutionClosed):
            status = CLOSED_STATUS[event.outcome]
            self._transition(
                execution,
                workflow_id,
                ("closed",),
                phase=phase(event.outcome.value),
                status=status,
                reason=event.reason or f"workflow {event.outcome.value}",
            )
            # SinkRejected: finished before, by another process that saw the close.
            with contextlib.suppress(SinkRejected):
                self.sink.finish_run(run_id, RunFinish(status=RUN_STATUS[status]))

    def _ensure(self, execution: Execution) -> tuple[UUID, UUID]:
        """The (workflow, run) ids of ``execution``, created on first sight (idempotent)."""
        key = (execution.namespace, execution.workflow_id, execution.run_id)
        known = self._known.get(key)
        if known is not None:
            self._known.move_to_end(key)
            return known
        workflow_id, run_id = derived_id(*key, "workflow"), derived_id(*key, "run")
        temporal: JsonObject = {
            "namespace": execution.namespace,
            "workflow_id": execution.workflow_id,
            "run_id": execution.run_id,
            "workflow_type": execution.workflow_type,
            "task_queue": execution.task_queue,
        }
        self.sink.create_run(
            RunCreate(
                name=execution.workflow_type[:MAX_NAME_LENGTH],
                agent=f"temporal:{execution.task_queue}"[:MAX_NAME_LENGTH],
                project_id=self.project_id,
                metadata={"temporal": temporal},
            ),
            run_id=run_id,
        )
        self.sink.create_workflow(
            WorkflowCreate(
                correlation_id=correlation_id(execution.workflow_id, execution.run_id),
                workflow_type=phase(execution.workflow_type),
                phase="started",
                status=WorkflowStatus.RUNNING,
                metadata={"run_id": str(run_id), "temporal": temporal},
                project_id=self.project_id,
            ),
            workflow_id=workflow_id,
        )
        self._known[key] = (workflow_id, run_id)
        if len(self._known) > KNOWN_EXECUTIONS:
            self._known.popitem(last=False)
        return workflow_id, run_id

    def _transition(
        self,
        execution: Execution,
        workflow_id: UUID,
        key: tuple[str | int, ...],
        *,
        phase: str | None,
        status: WorkflowStatus,
        reason: str,
    ) -> None:
        self.sink.transition_workflow(
            workflow_id,
            WorkflowTransitionCreate(phase=phase, status=status, reason=reason[:MAX_REASON_CHARS]),
            transition_id=derived_id(
                execution.namespace, execution.workflow_id, execution.run_id, *key
            ),
        )

    def _write_step(self, run_id: UUID, event: AttemptFinished) -> None:
        attempt, execution = event.attempt, event.execution
        step = StepEvent(
            run_id=run_id,
            step_type=self.step_types.get(attempt.activity_type, StepType.TOOL_CALL),
            name=attempt.activity_type[:MAX_NAME_LENGTH],
            data={
                "temporal": {
                    "activity_id": attempt.activity_id,
                    "activity_type": attempt.activity_type,
                    "attempt": attempt.number,
                    "outcome": event.outcome.value,
                    "duration_ms": round(event.duration_ms, 3),
                    "error": event.error,
                    "will_retry": event.will_retry,
                }
            },
            trace_id=event.trace_id,
            created_at=event.started_at,
        )
        batch_id = derived_id(
            execution.namespace,
            execution.workflow_id,
            execution.run_id,
            "attempt",
            attempt.activity_id,
            attempt.number,
        )
        self.sink.write([step], batch_id=batch_id)
