"""The one store interface the controller talks to; ``open_store`` picks the backend."""

import abc
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from vigil._closing import ClosedOnExit
from vigil.models import (
    DEFAULT_PAGE_SIZE,
    Alert,
    AlertAcknowledge,
    AlertCreate,
    AlertStatus,
    ApiKey,
    ApiKeyCreate,
    ArtifactCreate,
    ArtifactRecord,
    BatchItem,
    BatchWriteResult,
    LogLevel,
    LogRecord,
    MeasurementCreate,
    MeasurementPoint,
    Page,
    Run,
    RunCreate,
    RunFinish,
    RunStatus,
    Scope,
    Span,
    SpanRecord,
    Step,
    StepCreate,
    Workflow,
    WorkflowCreate,
    WorkflowStatus,
    WorkflowTransition,
    WorkflowTransitionCreate,
)


@dataclass(frozen=True, slots=True)
class StoredApiKey:
    """A key as the store holds it: the public record and the digest of its secret."""

    key: ApiKey
    secret_sha256: str


class EventStore(ClosedOnExit, abc.ABC):
    """Runs, steps, logs, measurements, spans, workflows, alerts, artifacts and API keys.

    ``project_id`` keyword arguments restrict a call to one project (a project key's view):
    reads leave other projects' records out, and a record of another project addressed by
    id is ``NotFound`` (its existence is not revealed); writes store that project on the
    records they create. ``None`` means every project.

    Methods are synchronous and thread-safe: call them from a thread pool (FastAPI runs
    plain ``def`` endpoints there). Domain failures raise ``vigil.storage.errors``:
    ``NotFound``, ``Conflict``, ``InvalidCursor``; an unreachable or overloaded database
    raises ``StoreUnavailable``. ``limit`` is 1..``MAX_PAGE_SIZE`` (``ValueError`` otherwise).
    """

    backend: str
    """``sqlite`` or ``postgresql``."""

    # Runs and steps --------------------------------------------------------------------

    @abc.abstractmethod
    def create_run(self, run: RunCreate, *, run_id: UUID | None = None) -> Run:
        """Start a run: status ``running``, id and ``started_at`` assigned here.

        With ``run_id`` (a key the caller derived, e.g. from a Temporal execution), the call
        is idempotent: a run with that id is returned as stored (``Conflict`` if it is another
        project's)."""

    @abc.abstractmethod
    def get_run(self, run_id: UUID, *, project_id: str | None = None) -> Run: ...

    @abc.abstractmethod
    def finish_run(self, run_id: UUID, finish: RunFinish, *, project_id: str | None = None) -> Run:
        """End a running run; ``Conflict`` if it already ended."""

    @abc.abstractmethod
    def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        project_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Run]:
        """Newest first."""

    @abc.abstractmethod
    def append_steps(
        self,
        run_id: UUID,
        steps: Sequence[StepCreate],
        *,
        project_id: str | None = None,
        request_id: str | None = None,
    ) -> list[Step]:
        """Append steps to a running run, numbering them ``seq`` = last + 1, + 2...

        Atomic under concurrent appenders: each call gets a contiguous range of numbers.
        ``Conflict`` if the run has ended (the batch writer, unlike this, accepts late steps).
        ``request_id`` is that of the steps that name none (the request that carried them).
        """

    @abc.abstractmethod
    def abandon_idle_runs(self, idle_since: datetime, *, limit: int = 1000) -> list[Run]:
        """Mark ``abandoned`` the running runs with no activity since ``idle_since`` (at most
        ``limit`` of them, oldest activity first); returns them."""

    @abc.abstractmethod
    def run_progress(self, run_ids: Sequence[UUID]) -> dict[UUID, tuple[int, RunStatus]]:
        """The step count and status of each of these runs (unknown ones left out), in one
        query: how live streams learn that runs moved."""

    @abc.abstractmethod
    def list_steps(
        self, run_id: UUID, *, after_seq: int = 0, limit: int = DEFAULT_PAGE_SIZE
    ) -> list[Step]:
        """Steps with ``seq > after_seq`` in order; the last ``seq`` is the next cursor."""

    # Batch ingestion ---------------------------------------------------------------------

    @abc.abstractmethod
    def write_batch(
        self,
        events: Sequence[BatchItem],
        *,
        project_id: str | None = None,
        ingested_by: str | None = None,
        batch_id: UUID | None = None,
    ) -> BatchWriteResult:
        """Store a mixed batch from the SDK's background writer in one transaction.

        All or nothing: a step naming an unknown run raises ``NotFound`` and stores nothing.
        Steps of ended runs are accepted (a writer flushes after the agent finished). Runs
        the batch starts (``RunStartEvent``, ids made by the client) are stored first, once
        per id; the runs it finishes (``RunFinishEvent``) last, a run already ended staying
        as it is; finishing an unknown run is ``NotFound``. Spans already stored (same trace
        and span id) are skipped. A ``StepRecord`` (a step the SDK's writer checked) is
        stored as the ``StepEvent`` it stands for would be. ``ingested_by`` (the key that
        posted the batch) is stored on its log records, which are then redacted here too.

        ``batch_id`` makes the call idempotent: a batch whose id was stored before stores
        nothing and returns what the first one stored (a writer retrying after a lost answer).
        """

    # Logs --------------------------------------------------------------------------------

    @abc.abstractmethod
    def query_logs(
        self,
        *,
        request_id: str | None = None,
        run_id: UUID | None = None,
        level: LogLevel | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        project_id: str | None = None,
    ) -> Page[LogRecord]:
        """Oldest first; ``level`` selects that level and the more severe ones;
        ``since`` is inclusive, ``until`` exclusive."""

    # Workflows ---------------------------------------------------------------------------

    @abc.abstractmethod
    def create_workflow(
        self, workflow: WorkflowCreate, *, workflow_id: UUID | None = None
    ) -> Workflow:
        """Create a workflow in its first phase; with ``workflow_id``, idempotently (as
        ``create_run``)."""

    @abc.abstractmethod
    def transition_workflow(
        self,
        workflow_id: UUID,
        transition: WorkflowTransitionCreate,
        *,
        project_id: str | None = None,
        transition_id: UUID | None = None,
    ) -> Workflow:
        """Move to a new phase and/or status and record it in the history;
        ``Conflict`` if the workflow is in a terminal status. With ``transition_id`` the
        call is idempotent: a transition stored under that id before changes nothing and
        the workflow is returned as it is."""

    @abc.abstractmethod
    def get_workflow(self, workflow_id: UUID, *, project_id: str | None = None) -> Workflow: ...

    @abc.abstractmethod
    def list_workflows(
        self,
        *,
        status: WorkflowStatus | None = None,
        correlation_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        project_id: str | None = None,
    ) -> Page[Workflow]:
        """Newest first."""

    @abc.abstractmethod
    def list_workflow_transitions(self, workflow_id: UUID) -> list[WorkflowTransition]:
        """The history, oldest first; the first entry is the creation."""

    # Measurements ------------------------------------------------------------------------

    @abc.abstractmethod
    def record_measurements(
        self, points: Sequence[MeasurementCreate], *, project_id: str | None = None
    ) -> int:
        """Store points; returns how many."""

    @abc.abstractmethod
    def query_measurements(
        self,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        project_id: str | None = None,
    ) -> Page[MeasurementPoint]:
        """Points of one metric, oldest first; ``labels`` must all match (a subset)."""

    @abc.abstractmethod
    def percentile(
        self,
        name: str,
        q: float,
        *,
        window: timedelta,
        labels: Mapping[str, str] | None = None,
        until: datetime | None = None,
        project_id: str | None = None,
    ) -> float | None:
        """The ``q`` percentile (one of ``PERCENTILES``) of a metric's values recorded in
        ``[until - window, until)`` (``until`` defaults to now), interpolated like
        ``percentile_cont``; ``None`` when there is no point."""

    # Spans -------------------------------------------------------------------------------

    @abc.abstractmethod
    def write_spans(self, records: Iterable[SpanRecord], *, project_id: str | None = None) -> int:
        """Store finished spans from ``vigil.tracing``'s exporters, in one transaction: the
        bulk path (COPY on PostgreSQL), for records their producer validated, read lazily
        (at most ``MAX_BATCH_EVENTS``, else ``ValueError`` and nothing stored). Spans
        already stored (same trace and span id) are skipped; returns how many were given.
        ``project_id`` (a project key's) replaces each record's own."""

    @abc.abstractmethod
    def get_trace(
        self, trace_id: str, *, project_id: str | None = None, limit: int | None = None
    ) -> list[Span]:
        """The stored spans of a trace, by start time, at most ``limit`` (empty if none)."""

    @abc.abstractmethod
    def list_run_spans(
        self, run_id: UUID, *, project_id: str | None = None, limit: int | None = None
    ) -> list[Span]:
        """The spans recorded for a run (``run_id``), by start time, at most ``limit``."""

    # Alerts ------------------------------------------------------------------------------

    @abc.abstractmethod
    def upsert_alerts(self, alerts: Sequence[AlertCreate]) -> list[Alert]:
        """Record a webhook notification: one row per ``(fingerprint, starts_at)``.

        A repeated notification updates the row; a resolved one resolves it, and a resolved
        row stays resolved if a stale firing notification arrives after it.
        """

    @abc.abstractmethod
    def resolve_alerts_missing_from(
        self, active: Collection[str], updated_before: datetime
    ) -> list[Alert]:
        """Resolve the firing alerts whose fingerprint is not in ``active`` (what Alertmanager
        holds now) and that were last updated before ``updated_before``; returns them."""

    @abc.abstractmethod
    def list_alerts(
        self,
        *,
        status: AlertStatus | None = None,
        severity: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Alert]:
        """Most recent ``starts_at`` first; ``since``/``until`` bound ``starts_at``."""

    @abc.abstractmethod
    def get_alert(self, alert_id: UUID) -> Alert: ...

    @abc.abstractmethod
    def acknowledge_alert(self, alert_id: UUID, ack: AlertAcknowledge) -> Alert:
        """``Conflict`` if already acknowledged (the first acknowledgement is kept)."""

    # Artifacts ---------------------------------------------------------------------------

    @abc.abstractmethod
    def create_artifact(
        self,
        run_id: UUID,
        artifact: ArtifactCreate,
        *,
        artifact_id: UUID | None = None,
        project_id: str | None = None,
    ) -> ArtifactRecord:
        """Record an artifact whose bytes are stored (id: ``artifact_id``, else a new one).

        ``NotFound`` if the run (of the project), or the step within that run, does not
        exist; ``Conflict`` if ``artifact_id`` is taken."""

    @abc.abstractmethod
    def get_artifact(
        self, artifact_id: UUID, *, project_id: str | None = None
    ) -> ArtifactRecord: ...

    @abc.abstractmethod
    def list_artifacts(
        self,
        run_id: UUID,
        *,
        project_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[ArtifactRecord]:
        """Oldest first; ``NotFound`` if the run (of the project) does not exist."""

    @abc.abstractmethod
    def recorded_artifacts(self, artifact_ids: Collection[UUID]) -> dict[UUID, str]:
        """The URI of each of these artifacts that has a record (the orphan sweep)."""

    # Retention -----------------------------------------------------------------------------

    @abc.abstractmethod
    def delete_logs_before(self, cutoff: datetime, *, limit: int = 10_000) -> int:
        """Delete up to ``limit`` log records older than ``cutoff`` (oldest first); returns
        how many. Call again until it returns less than ``limit``."""

    @abc.abstractmethod
    def delete_batch_ids_before(self, cutoff: datetime, *, limit: int = 10_000) -> int:
        """Forget up to ``limit`` ingested batch ids received before ``cutoff``."""

    @abc.abstractmethod
    def write_probe(self) -> None:
        """A write the store commits (``StoreUnavailable`` when it refuses writes)."""

    # API keys ----------------------------------------------------------------------------

    @abc.abstractmethod
    def create_api_key(self, key: ApiKeyCreate, *, key_id: str, secret_sha256: str) -> ApiKey:
        """Store a key by its public id and the SHA-256 digest of its secret;
        ``Conflict`` if the ``key_id`` is taken."""

    @abc.abstractmethod
    def get_api_key(self, key_id: str) -> StoredApiKey:
        """A key by its public id, revoked or not; ``NotFound`` if there is none."""

    @abc.abstractmethod
    def list_api_keys(
        self, *, project_id: str | None = None, include_revoked: bool = False
    ) -> list[ApiKey]:
        """Oldest first; ``project_id`` selects the keys of that project only."""

    @abc.abstractmethod
    def revoke_api_key(self, key_id: str, *, project_id: str | None = None) -> ApiKey:
        """Revoke a key (a second revocation keeps the first time); ``NotFound``."""

    @abc.abstractmethod
    def has_active_key(self, scope: Scope, *, all_projects: bool = True) -> bool:
        """Whether a key with ``scope`` that is not revoked exists (for every project)."""

    # Lifecycle ---------------------------------------------------------------------------

    @abc.abstractmethod
    def health_check(self, timeout: float = 2.0) -> bool:
        """``SELECT 1`` bounded by ``timeout`` seconds; never raises."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release every pooled connection; the store is unusable afterwards."""
