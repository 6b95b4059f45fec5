"""A sink writing straight into an ``EventStore``: for the controller itself, and for
agents that share its database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from uuid import UUID

from sqlalchemy.exc import DBAPIError

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
from vigil.sdk._sink import EventSink, SinkRejected, SinkUnavailable
from vigil.storage import Conflict, EventStore, InvalidData, NotFound, StoreUnavailable

POSTGRES_BATCH_SIZE: Final = 5_000
"""A batch of 1,000 steps spent ~5 ms of its ~20 ms on PostgreSQL on what every batch costs
(the transaction, its sequence numbers, its id): batches of 5,000 measured x1.21 the events/s
(benchmarks/sdk_ingest.py --compare-batch-size 1000). SQLite keeps 1,000: there the larger
batch gained nothing (x0.94, within the noise) and holds the database's one write lock
five times as long."""


class StoreSink(EventSink):
    """Writes batches with ``EventStore.write_batch``, each once per ``batch_id``.

    The store stays the caller's: ``close`` leaves it open (the controller closes its store
    in its own lifespan, after the recorder).
    """

    takes_records = True

    def __init__(self, store: EventStore) -> None:
        self.store = store
        if store.backend == "postgresql":
            self.batch_size = POSTGRES_BATCH_SIZE

    def write(
        self, events: Sequence[BatchItem], *, batch_id: UUID | None = None
    ) -> BatchWriteResult:
        try:
            return self.store.write_batch(events, batch_id=batch_id)
        except StoreUnavailable as exc:
            raise SinkUnavailable(str(exc)) from exc
        except (NotFound, InvalidData, ValueError) as exc:
            raise SinkRejected(str(exc)) from exc
        except DBAPIError as exc:
            # A constraint or a value the database refuses (IntegrityError, DataError); a
            # lost connection is OperationalError, which the store maps to StoreUnavailable.
            if exc.connection_invalidated:
                raise SinkUnavailable(str(exc.orig)) from exc
            raise SinkRejected(str(exc.orig)) from exc

    def create_run(self, run: RunCreate, *, run_id: UUID | None = None) -> Run:
        try:
            return self.store.create_run(run, run_id=run_id)
        except StoreUnavailable as exc:
            raise SinkUnavailable(str(exc)) from exc
        except Conflict as exc:
            raise SinkRejected(str(exc)) from exc

    def finish_run(self, run_id: UUID, finish: RunFinish) -> Run:
        try:
            return self.store.finish_run(run_id, finish)
        except StoreUnavailable as exc:
            raise SinkUnavailable(str(exc)) from exc
        except (NotFound, Conflict) as exc:
            raise SinkRejected(str(exc)) from exc

    def create_workflow(
        self, workflow: WorkflowCreate, *, workflow_id: UUID | None = None
    ) -> Workflow:
        try:
            return self.store.create_workflow(workflow, workflow_id=workflow_id)
        except StoreUnavailable as exc:
            raise SinkUnavailable(str(exc)) from exc
        except Conflict as exc:
            raise SinkRejected(str(exc)) from exc

    def transition_workflow(
        self,
        workflow_id: UUID,
        transition: WorkflowTransitionCreate,
        *,
        transition_id: UUID | None = None,
    ) -> Workflow:
        try:
            return self.store.transition_workflow(
                workflow_id, transition, transition_id=transition_id
            )
        except StoreUnavailable as exc:
            raise SinkUnavailable(str(exc)) from exc
        except (NotFound, Conflict) as exc:
            raise SinkRejected(str(exc)) from exc
