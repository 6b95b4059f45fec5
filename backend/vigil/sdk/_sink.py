"""Where the recorder's writer thread sends its batches: one small interface.

A sink translates its own failures into two errors, because the writer treats them
differently: ``SinkUnavailable`` (the database or controller is down or overloaded: retry the
same batch later) and ``SinkRejected`` (this batch is invalid: retrying it cannot help, so
the writer splits it to find and drop the offending events and keeps the rest).

Every batch the writer sends is named by a ``batch_id`` it makes (a random UUID), the same on
every retry of that batch and after its stay in the spool. A retry after a lost answer (the
batch was stored, the connection dropped before the reply) would otherwise store it twice; a
sink passes the id on (``write_batch(batch_id=...)``, the ``Idempotency-Key`` header) so
that the store keeps the batch once.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar
from uuid import UUID

from vigil.models import (
    BatchItem,
    BatchWriteResult,
    Run,
    RunCreate,
    RunFinish,
    Workflow,
    WorkflowCreate,
    WorkflowTransitionCreate,
)


class SinkError(Exception):
    """Base class of the errors a sink raises on purpose."""


class SinkUnavailable(SinkError):  # noqa: N818  (a domain name, like the store's errors)
    """The destination could not take the call now (connection refused, HTTP 5xx/429,
    ``StoreUnavailable``); the same call may succeed later."""


class SinkRejected(SinkError):  # noqa: N818  (a domain name, like the store's errors)
    """The destination refused the call as invalid (HTTP 4xx, an unknown run); repeating it
    would fail the same way."""


class EventSink(abc.ABC):
    """Stores batches of events and starts/finishes runs, synchronously.

    ``write`` is only called from the recorder's writer thread; ``create_run`` and
    ``finish_run`` from whichever thread calls ``AgentRecorder.start_run``/``finish_run``.
    Implementations must therefore be thread-safe.
    """

    batch_size: int = 1_000
    """The events per batch a recorder's writer sends this sink unless it is given its own:
    1,000 for a sink posting over HTTP (a body stays well under the controller's 16 MiB limit
    for steps of a few KiB); a sink may take more where each batch costs a fixed price that
    no body limit bounds (``StoreSink`` on PostgreSQL)."""

    takes_records: ClassVar[bool] = False
    """True if ``write`` also takes ``StepRecord``s (steps the writer checked without building
    their models, ~10x cheaper); otherwise every event is a ``BatchEvent`` model."""

    @abc.abstractmethod
    def write(
        self, events: Sequence[BatchItem], *, batch_id: UUID | None = None
    ) -> BatchWriteResult:
        """Store the batch, all or nothing (at most ``MAX_BATCH_EVENTS`` events).

        A batch whose ``batch_id`` was stored before must not be stored again: answer with
        what the first call stored (the writer always passes one; None: no such promise)."""

    @abc.abstractmethod
    def create_run(self, run: RunCreate, *, run_id: UUID | None = None) -> Run:
        """Start a run; its id is assigned by the controller (UUIDv7), or is ``run_id``, a
        key the caller derived: then a second call returns the run stored by the first."""

    @abc.abstractmethod
    def finish_run(self, run_id: UUID, finish: RunFinish) -> Run:
        """End a run; ``SinkRejected`` if it is unknown or already ended."""

    def create_workflow(
        self, workflow: WorkflowCreate, *, workflow_id: UUID | None = None
    ) -> Workflow:
        """Create a workflow (idempotent with ``workflow_id``, as ``create_run``).

        Optional: a sink that records no workflows keeps this refusal."""
        raise SinkRejected(f"{type(self).__name__} does not record workflows")

    def transition_workflow(
        self,
        workflow_id: UUID,
        transition: WorkflowTransitionCreate,
        *,
        transition_id: UUID | None = None,
    ) -> Workflow:
        """Move a workflow; a ``transition_id`` stored before changes nothing. ``SinkRejected``
        if the workflow is unknown or has ended."""
        raise SinkRejected(f"{type(self).__name__} does not record workflows")

    def close(self) -> None:  # noqa: B027  (optional hook: sinks without resources keep it)
        """Release what the sink owns; called once by ``AgentRecorder.close``."""
