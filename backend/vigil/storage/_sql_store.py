"""``EventStore`` over SQLAlchemy Core: every query, for both backends."""

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Table,
    case,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from vigil.models import (
    DEFAULT_PAGE_SIZE,
    MAX_BATCH_EVENTS,
    MAX_PAGE_SIZE,
    MAX_STEPS_PER_APPEND,
    PERCENTILES,
    TERMINAL_WORKFLOW_STATUSES,
    Alert,
    AlertAcknowledge,
    AlertCreate,
    AlertStatus,
    ArtifactCreate,
    ArtifactRecord,
    BatchEvent,
    BatchWriteResult,
    LogCreate,
    LogLevel,
    LogRecord,
    MeasurementCreate,
    MeasurementPoint,
    Page,
    Run,
    RunCreate,
    RunFinish,
    RunStatus,
    Span,
    SpanCreate,
    Step,
    StepCreate,
    StepEvent,
    Workflow,
    WorkflowCreate,
    WorkflowStatus,
    WorkflowTransition,
    WorkflowTransitionCreate,
    levels_at_least,
    new_id,
    utc_now,
)
from vigil.models._ids import id_values
from vigil.storage._backend import Backend
from vigil.storage._cursor import (
    CursorKey,
    decode_id_cursor,
    decode_time_id_cursor,
    encode_cursor,
)
from vigil.storage._interface import EventStore
from vigil.storage._rows import (
    LOG_COLUMNS,
    MEASUREMENT_COLUMNS,
    STEP_COLUMNS,
    EncodedRow,
    log_rows,
    measurement_rows,
    months_of,
    step_rows,
)
from vigil.storage._schema import (
    alerts as alerts_table,
)
from vigil.storage._schema import (
    artifacts,
    logs,
    measurements,
    runs,
    spans,
    workflow_transitions,
    workflows,
)
from vigil.storage._schema import (
    steps as steps_table,
)
from vigil.storage.errors import Conflict, NotFound, StoreUnavailable

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
RowDict = dict[str, Any]


class SqlEventStore(EventStore):
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.backend = backend.name
        self._engine = backend.create_engine()
        backend.start()

    # Transactions ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._backend.begin_write(self._engine) as conn:
                yield conn
        except (OperationalError, PoolTimeoutError) as exc:
            raise StoreUnavailable(f"{self.backend} store unavailable: {exc}") from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except (OperationalError, PoolTimeoutError) as exc:
            raise StoreUnavailable(f"{self.backend} store unavailable: {exc}") from exc

    # Runs and steps ----------------------------------------------------------------------

    def create_run(self, run: RunCreate) -> Run:
        row = {
            "id": new_id(),
            "name": run.name,
            "agent": run.agent,
            "project_id": run.project_id,
            "status": RunStatus.RUNNING.value,
            "started_at": utc_now(),
            "finished_at": None,
            "step_count": 0,
            "metadata": run.metadata,
        }
        with self._write() as conn:
            conn.execute(runs.insert(), row)
        return Run.model_validate(row)

    def get_run(self, run_id: UUID) -> Run:
        with self._read() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        return _model(Run, _found(row, "run", run_id))

    def finish_run(self, run_id: UUID, finish: RunFinish) -> Run:
        with self._write() as conn:
            row = conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status == RunStatus.RUNNING.value)
                .values(status=finish.status.value, finished_at=utc_now())
                .returning(*runs.c)
            ).first()
            if row is None:
                status = conn.scalar(select(runs.c.status).where(runs.c.id == run_id))
                _found(status, "run", run_id)
                raise Conflict(f"run {run_id} already finished as {status}")
        return _model(Run, row)

    def list_runs(
        self,
        *,
        status: RunStatus | None = None,
        project_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Run]:
        _check_limit(limit)
        query = select(runs).order_by(runs.c.id.desc()).limit(limit + 1)
        if status is not None:
            query = query.where(runs.c.status == status.value)
        if project_id is not None:
            query = query.where(runs.c.project_id == project_id)
        if cursor is not None:
            query = query.where(runs.c.id < decode_id_cursor("runs", cursor))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return _page(Run, rows, limit, "runs", lambda run: (run.id,))

    def append_steps(self, run_id: UUID, steps: Sequence[StepCreate]) -> list[Step]:
        if len(steps) > MAX_STEPS_PER_APPEND:
            raise ValueError(f"at most {MAX_STEPS_PER_APPEND} steps per call")
        now = utc_now()
        with self._write() as conn:
            last_seq, status = self._reserve_seqs(conn, {run_id: len(steps)})[run_id]
            if status != RunStatus.RUNNING.value:
                raise Conflict(f"run {run_id} has finished as {status}; it takes no more steps")
            first_seq = last_seq - len(steps) + 1
            ids = id_values(len(steps))
            if steps:
                rows = step_rows(run_id, steps, ids, first_seq, now, self._backend.timestamp_text)
                self._backend.bulk_insert(conn, steps_table, STEP_COLUMNS, rows)
                self._backend.announce_steps(conn, [run_id])
        return [
            Step(
                id=UUID(int=step_id),
                run_id=run_id,
                seq=first_seq + offset,
                step_type=step.step_type,
                name=step.name,
                data=step.data,
                request_id=step.request_id,
                trace_id=step.trace_id,
                created_at=step.created_at if step.created_at is not None else now,
            )
            for offset, (step_id, step) in enumerate(zip(ids, steps, strict=True))
        ]

    def list_steps(
        self, run_id: UUID, *, after_seq: int = 0, limit: int = DEFAULT_PAGE_SIZE
    ) -> list[Step]:
        _check_limit(limit)
        with self._read() as conn:
            rows = conn.execute(
                select(steps_table)
                .where(steps_table.c.run_id == run_id, steps_table.c.seq > after_seq)
                .order_by(steps_table.c.seq)
                .limit(limit)
            ).all()
            if not rows:
                self._require(conn, runs, run_id, "run")
        return [_model(Step, row) for row in rows]

    def _reserve_seqs(
        self, conn: Connection, counts: Mapping[UUID, int]
    ) -> dict[UUID, tuple[int, str]]:
        """Take ``counts[run]`` sequence numbers of each run, in one UPDATE; returns each
        run's last number and status. ``NotFound`` if a run does not exist.

        The row locks (PostgreSQL) or the database write lock (SQLite) make concurrent
        appenders to one run take turns, each getting a contiguous range. The rows are
        locked in id order by a ``SELECT ... ORDER BY id FOR UPDATE`` first: an UPDATE alone
        locks in scan order, which changes as rows get new versions, and two batches naming
        the same runs deadlocked (tests/storage/test_steps.py).
        """
        in_id_order = (
            select(runs.c.id)
            .where(runs.c.id.in_(list(counts)))
            .order_by(runs.c.id)
            .with_for_update()
            .subquery()
        )
        increment = case(dict(counts), value=runs.c.id, else_=0)
        rows = conn.execute(
            update(runs)
            .where(runs.c.id == in_id_order.c.id)
            .values(step_count=runs.c.step_count + increment)
            .returning(runs.c.id, runs.c.step_count, runs.c.status)
        ).all()
        reserved = {row.id: (int(row.step_count), str(row.status)) for row in rows}
        missing = [run_id for run_id in counts if run_id not in reserved]
        if missing:
            raise NotFound(f"run {missing[0]} not found")
        return reserved

    # Batch ingestion ---------------------------------------------------------------------

    def write_batch(self, events: Sequence[BatchEvent]) -> BatchWriteResult:
        if len(events) > MAX_BATCH_EVENTS:
            raise ValueError(f"at most {MAX_BATCH_EVENTS} events per batch")
        now = utc_now()
        steps_by_run: dict[UUID, list[StepEvent]] = {}
        logs_in: list[LogCreate] = []
        points: list[MeasurementCreate] = []
        spans_in: list[SpanCreate] = []
        for event in events:
            if isinstance(event, StepEvent):
                steps_by_run.setdefault(event.run_id, []).append(event)
            elif isinstance(event, LogCreate):
                logs_in.append(event)
            elif isinstance(event, MeasurementCreate):
                points.append(event)
            elif isinstance(event, SpanCreate):
                spans_in.append(event)
            else:
                raise TypeError(f"not a batch event: {type(event).__name__}")
        timestamp_text = self._backend.timestamp_text
        self._prepare_measurement_months(points, now)
        step_count = 0
        with self._write() as conn:
            step_groups: list[Iterable[EncodedRow]] = []
            if steps_by_run:
                counts = {run_id: len(group) for run_id, group in steps_by_run.items()}
                for run_id, (last_seq, _) in self._reserve_seqs(conn, counts).items():
                    group = steps_by_run[run_id]
                    first_seq = last_seq - len(group) + 1
                    ids = id_values(len(group))
                    step_groups.append(
                        step_rows(run_id, group, ids, first_seq, now, timestamp_text)
                    )
                    step_count += len(group)
            if step_groups:
                self._backend.bulk_insert(
                    conn, steps_table, STEP_COLUMNS, itertools.chain.from_iterable(step_groups)
                )
                self._backend.announce_steps(conn, steps_by_run)
            if logs_in:
                self._backend.bulk_insert(
                    conn, logs, LOG_COLUMNS, log_rows(logs_in, now, timestamp_text)
                )
            if points:
                self._backend.bulk_insert(
                    conn,
                    measurements,
                    MEASUREMENT_COLUMNS,
                    measurement_rows(points, now, timestamp_text),
                )
            if spans_in:
                conn.execute(
                    self._backend.insert(spans).on_conflict_do_nothing(
                        index_elements=[spans.c.trace_id, spans.c.span_id]
                    ),
                    [_span_row(span) for span in spans_in],
                )
        return BatchWriteResult(
            steps=step_count, logs=len(logs_in), measurements=len(points), spans=len(spans_in)
        )

    # Logs --------------------------------------------------------------------------------

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
    ) -> Page[LogRecord]:
        _check_limit(limit)
        conditions: list[ColumnElement[bool]] = []
        if request_id is not None:
            conditions.append(logs.c.request_id == request_id)
        if run_id is not None:
            conditions.append(logs.c.run_id == run_id)
        if level is not None and level is not LogLevel.DEBUG:
            conditions.append(logs.c.level.in_([lvl.value for lvl in levels_at_least(level)]))
        if since is not None:
            conditions.append(logs.c.timestamp >= since)
        if until is not None:
            conditions.append(logs.c.timestamp < until)
        if cursor is not None:
            after = decode_time_id_cursor("logs", cursor)
            conditions.append(_after(logs.c.timestamp, logs.c.id, after))
        query = (
            select(logs).where(*conditions).order_by(logs.c.timestamp, logs.c.id).limit(limit + 1)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return _page(LogRecord, rows, limit, "logs", lambda log: (log.timestamp, log.id))

    # Workflows ---------------------------------------------------------------------------

    def create_workflow(self, workflow: WorkflowCreate) -> Workflow:
        now = utc_now()
        row = {
            "id": new_id(),
            "correlation_id": workflow.correlation_id,
            "workflow_type": workflow.workflow_type,
            "phase": workflow.phase,
            "status": workflow.status.value,
            "metadata": workflow.metadata,
            "created_at": now,
            "updated_at": now,
        }
        with self._write() as conn:
            conn.execute(workflows.insert(), row)
            conn.execute(
                workflow_transitions.insert(),
                {
                    "id": new_id(),
                    "workflow_id": row["id"],
                    "from_phase": None,
                    "to_phase": workflow.phase,
                    "from_status": None,
                    "to_status": workflow.status.value,
                    "reason": None,
                    "created_at": now,
                },
            )
        return Workflow.model_validate(row)

    def transition_workflow(
        self, workflow_id: UUID, transition: WorkflowTransitionCreate
    ) -> Workflow:
        now = utc_now()
        with self._write() as conn:
            current = conn.execute(
                select(workflows.c.phase, workflows.c.status)
                .where(workflows.c.id == workflow_id)
                .with_for_update()
            ).first()
            current = _found(current, "workflow", workflow_id)
            if WorkflowStatus(current.status) in TERMINAL_WORKFLOW_STATUSES:
                raise Conflict(f"workflow {workflow_id} has ended as {current.status}")
            phase = transition.phase if transition.phase is not None else current.phase
            status = transition.status.value if transition.status is not None else current.status
            row = conn.execute(
                update(workflows)
                .where(workflows.c.id == workflow_id)
                .values(phase=phase, status=status, updated_at=now)
                .returning(*workflows.c)
            ).one()
            conn.execute(
                workflow_transitions.insert(),
                {
                    "id": new_id(),
                    "workflow_id": workflow_id,
                    "from_phase": current.phase,
                    "to_phase": phase,
                    "from_status": current.status,
                    "to_status": status,
                    "reason": transition.reason,
                    "created_at": now,
                },
            )
        return _model(Workflow, row)

    def get_workflow(self, workflow_id: UUID) -> Workflow:
        with self._read() as conn:
            row = conn.execute(select(workflows).where(workflows.c.id == workflow_id)).first()
        return _model(Workflow, _found(row, "workflow", workflow_id))

    def list_workflows(
        self,
        *,
        status: WorkflowStatus | None = None,
        correlation_id: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[Workflow]:
        _check_limit(limit)
        query = select(workflows).order_by(workflows.c.id.desc()).limit(limit + 1)
        if status is not None:
            query = query.where(workflows.c.status == status.value)
        if correlation_id is not None:
            query = query.where(workflows.c.correlation_id == correlation_id)
        if cursor is not None:
            query = query.where(workflows.c.id < decode_id_cursor("workflows", cursor))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return _page(Workflow, rows, limit, "workflows", lambda workflow: (workflow.id,))

    def list_workflow_transitions(self, workflow_id: UUID) -> list[WorkflowTransition]:
        with self._read() as conn:
            rows = conn.execute(
                select(workflow_transitions)
                .where(workflow_transitions.c.workflow_id == workflow_id)
                .order_by(workflow_transitions.c.id)
            ).all()
            if not rows:
                self._require(conn, workflows, workflow_id, "workflow")
        return [_model(WorkflowTransition, row) for row in rows]

    # Measurements ------------------------------------------------------------------------

    def record_measurements(self, points: Sequence[MeasurementCreate]) -> int:
        if not points:
            return 0
        now = utc_now()
        self._prepare_measurement_months(points, now)
        rows = measurement_rows(points, now, self._backend.timestamp_text)
        with self._write() as conn:
            self._backend.bulk_insert(conn, measurements, MEASUREMENT_COLUMNS, rows)
        return len(points)

    def _prepare_measurement_months(
        self, points: Sequence[MeasurementCreate], now: datetime
    ) -> None:
        if points:
            self._backend.ensure_measurement_months(
                self._engine,
                (date(year, month, 1) for year, month in months_of(points, now)),
            )

    def _measurement_conditions(
        self,
        name: str,
        since: datetime | None,
        until: datetime | None,
        labels: Mapping[str, str] | None,
    ) -> list[ColumnElement[bool]]:
        conditions = [measurements.c.name == name]
        if since is not None:
            conditions.append(measurements.c.recorded_at >= since)
        if until is not None:
            conditions.append(measurements.c.recorded_at < until)
        if labels:
            conditions.append(self._backend.labels_contain(measurements.c.labels, labels))
        return conditions

    def query_measurements(
        self,
        name: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Page[MeasurementPoint]:
        _check_limit(limit)
        conditions = self._measurement_conditions(name, since, until, labels)
        if cursor is not None:
            after = decode_time_id_cursor("measurements", cursor)
            conditions.append(_after(measurements.c.recorded_at, measurements.c.id, after))
        query = (
            select(measurements)
            .where(*conditions)
            .order_by(measurements.c.recorded_at, measurements.c.id)
            .limit(limit + 1)
        )
        with self._read() as conn:
            rows = conn.execute(query).all()
        return _page(MeasurementPoint, rows, limit, "measurements", lambda p: (p.recorded_at, p.id))

    def percentile(
        self,
        name: str,
        q: float,
        *,
        window: timedelta,
        labels: Mapping[str, str] | None = None,
        until: datetime | None = None,
    ) -> float | None:
        if q not in PERCENTILES:
            raise ValueError(f"q must be one of {PERCENTILES}")
        if window <= timedelta(0):
            raise ValueError("window must be positive")
        end = until if until is not None else utc_now()
        conditions = self._measurement_conditions(name, end - window, end, labels)
        with self._read() as conn:
            return self._backend.percentile(conn, measurements.c.value, conditions, q)

    # Spans -------------------------------------------------------------------------------

    def get_trace(self, trace_id: str) -> list[Span]:
        with self._read() as conn:
            rows = conn.execute(
                select(spans)
                .where(spans.c.trace_id == trace_id)
                .order_by(spans.c.start_time, spans.c.span_id)
            ).all()
        return [_model(Span, row) for row in rows]

    # Alerts ------------------------------------------------------------------------------

    def upsert_alerts(self, alerts: Sequence[AlertCreate]) -> list[Alert]:
        now = utc_now()
        insert = self._backend.insert(alerts_table)
        resolved = alerts_table.c.status == AlertStatus.RESOLVED.value
        upsert = insert.on_conflict_do_update(
            index_elements=[alerts_table.c.fingerprint, alerts_table.c.starts_at],
            set_={
                # A stale "firing" arriving after "resolved" must not reopen the episode.
                "status": _unless(resolved, alerts_table.c.status, insert.excluded.status),
                "ends_at": _unless(resolved, alerts_table.c.ends_at, insert.excluded.ends_at),
                "alertname": insert.excluded.alertname,
                "severity": insert.excluded.severity,
                "labels": insert.excluded.labels,
                "annotations": insert.excluded.annotations,
                "generator_url": insert.excluded.generator_url,
                "updated_at": insert.excluded.updated_at,
            },
        ).returning(*alerts_table.c)
        stored: list[Alert] = []
        with self._write() as conn:
            for alert in alerts:
                row = conn.execute(
                    upsert,
                    {
                        "id": new_id(),
                        "fingerprint": alert.fingerprint,
                        "status": alert.status.value,
                        "alertname": alert.alertname,
                        "severity": alert.severity,
                        "starts_at": alert.starts_at,
                        "ends_at": alert.ends_at,
                        "labels": alert.labels,
                        "annotations": alert.annotations,
                        "generator_url": alert.generator_url,
                        "received_at": now,
                        "updated_at": now,
                        "acknowledged_at": None,
                        "acknowledged_by": None,
                    },
                ).one()
                stored.append(_model(Alert, row))
        return stored

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
        _check_limit(limit)
        query = (
            select(alerts_table)
            .order_by(alerts_table.c.starts_at.desc(), alerts_table.c.id.desc())
            .limit(limit + 1)
        )
        if status is not None:
            query = query.where(alerts_table.c.status == status.value)
        if severity is not None:
            query = query.where(alerts_table.c.severity == severity)
        if since is not None:
            query = query.where(alerts_table.c.starts_at >= since)
        if until is not None:
            query = query.where(alerts_table.c.starts_at < until)
        if cursor is not None:
            before = decode_time_id_cursor("alerts", cursor)
            query = query.where(_before(alerts_table.c.starts_at, alerts_table.c.id, before))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return _page(Alert, rows, limit, "alerts", lambda alert: (alert.starts_at, alert.id))

    def get_alert(self, alert_id: UUID) -> Alert:
        with self._read() as conn:
            row = conn.execute(select(alerts_table).where(alerts_table.c.id == alert_id)).first()
        return _model(Alert, _found(row, "alert", alert_id))

    def acknowledge_alert(self, alert_id: UUID, ack: AlertAcknowledge) -> Alert:
        with self._write() as conn:
            row = conn.execute(
                update(alerts_table)
                .where(alerts_table.c.id == alert_id, alerts_table.c.acknowledged_at.is_(None))
                .values(acknowledged_at=utc_now(), acknowledged_by=ack.by)
                .returning(*alerts_table.c)
            ).first()
            if row is None:
                acknowledged = _found(
                    conn.execute(
                        select(alerts_table.c.acknowledged_by).where(alerts_table.c.id == alert_id)
                    ).first(),
                    "alert",
                    alert_id,
                )
                raise Conflict(
                    f"alert {alert_id} was already acknowledged by {acknowledged.acknowledged_by}"
                )
        return _model(Alert, row)

    # Artifacts ---------------------------------------------------------------------------

    def create_artifact(self, run_id: UUID, artifact: ArtifactCreate) -> ArtifactRecord:
        row = {
            "id": new_id(),
            "run_id": run_id,
            "step_id": artifact.step_id,
            "uri": artifact.uri,
            "kind": artifact.kind,
            "content_type": artifact.content_type,
            "size_bytes": artifact.size_bytes,
            "sha256": artifact.sha256,
            "created_at": utc_now(),
        }
        with self._write() as conn:
            self._require(conn, runs, run_id, "run")
            if artifact.step_id is not None:
                step_run = conn.scalar(
                    select(steps_table.c.run_id).where(steps_table.c.id == artifact.step_id)
                )
                if step_run != run_id:
                    raise NotFound(f"step {artifact.step_id} not found in run {run_id}")
            conn.execute(artifacts.insert(), row)
        return ArtifactRecord.model_validate(row)

    def get_artifact(self, artifact_id: UUID) -> ArtifactRecord:
        with self._read() as conn:
            row = conn.execute(select(artifacts).where(artifacts.c.id == artifact_id)).first()
        return _model(ArtifactRecord, _found(row, "artifact", artifact_id))

    def list_artifacts(self, run_id: UUID) -> list[ArtifactRecord]:
        with self._read() as conn:
            rows = conn.execute(
                select(artifacts).where(artifacts.c.run_id == run_id).order_by(artifacts.c.id)
            ).all()
            if not rows:
                self._require(conn, runs, run_id, "run")
        return [_model(ArtifactRecord, row) for row in rows]

    # Lifecycle ---------------------------------------------------------------------------

    def health_check(self, timeout: float = 2.0) -> bool:
        try:
            with self._engine.connect() as conn:
                self._backend.set_statement_timeout(conn, timeout)
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            logger.warning("store health check failed: %s", exc)
            return False
        return True

    def close(self) -> None:
        self._engine.dispose()
        self._backend.stop()

    # Helpers -----------------------------------------------------------------------------

    @staticmethod
    def _require(conn: Connection, table: Table, row_id: UUID, what: str) -> None:
        _found(conn.scalar(select(table.c.id).where(table.c.id == row_id)), what, row_id)


T = TypeVar("T")


def _found(value: T | None, what: str, row_id: object) -> T:
    if value is None:
        raise NotFound(f"{what} {row_id} not found")
    return value


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")


def _model(model: type[ModelT], row: Row[Any]) -> ModelT:
    return model.model_validate(row._asdict())


def _page(
    model: type[ModelT],
    rows: Sequence[Row[Any]],
    limit: int,
    listing: str,
    key: Callable[[ModelT], CursorKey],
) -> Page[ModelT]:
    """A page from ``limit + 1`` rows: the extra row only tells that a next page exists."""
    items = [_model(model, row) for row in rows[:limit]]
    next_cursor = encode_cursor(listing, key(items[-1])) if len(rows) > limit else None
    return Page[model](items=items, next_cursor=next_cursor)  # type: ignore[valid-type]


def _after(time_column: Any, id_column: Any, key: tuple[datetime, UUID]) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in (time, id) order: a row-value comparison, which both
    engines answer from a (time, id) index."""
    return tuple_(time_column, id_column) > tuple_(
        literal(key[0], time_column.type), literal(key[1], id_column.type)
    )


def _before(time_column: Any, id_column: Any, key: tuple[datetime, UUID]) -> ColumnElement[bool]:
    return tuple_(time_column, id_column) < tuple_(
        literal(key[0], time_column.type), literal(key[1], id_column.type)
    )


def _unless(condition: ColumnElement[bool], keep: Any, new: Any) -> Any:
    return case((condition, keep), else_=new)


def _span_row(span: SpanCreate) -> RowDict:
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": span.kind.value,
        "service": span.service,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "status": span.status.value,
        "status_message": span.status_message,
        "attributes": span.attributes,
        "run_id": span.run_id,
    }
