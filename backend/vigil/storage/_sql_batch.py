"""The batch write of the SDK's writer: steps, logs, measurements and spans in one transaction."""

import itertools
from collections.abc import Iterable, Sequence
from uuid import UUID

from vigil.models import (
    MAX_BATCH_EVENTS,
    BatchEvent,
    BatchWriteResult,
    LogCreate,
    MeasurementCreate,
    SpanCreate,
    StepEvent,
    utc_now,
)
from vigil.models._ids import id_values
from vigil.storage._rows import (
    LOG_COLUMNS,
    MEASUREMENT_COLUMNS,
    STEP_COLUMNS,
    EncodedRow,
    log_rows,
    measurement_rows,
    step_rows,
)
from vigil.storage._schema import (
    logs,
    measurements,
    spans,
)
from vigil.storage._schema import (
    steps as steps_table,
)
from vigil.storage._sql_measurements import MeasurementQueries
from vigil.storage._sql_runs import RunQueries
from vigil.storage._sql_spans import span_row


class BatchIngestion(RunQueries, MeasurementQueries):
    def write_batch(
        self,
        events: Sequence[BatchEvent],
        *,
        project_id: str | None = None,
        ingested_by: str | None = None,
    ) -> BatchWriteResult:
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
                for run_id, (last_seq, _) in self._reserve_seqs(conn, counts, project_id).items():
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
                    conn,
                    logs,
                    LOG_COLUMNS,
                    log_rows(
                        logs_in,
                        now,
                        timestamp_text,
                        project_id=project_id,
                        ingested_by=ingested_by,
                    ),
                )
            if points:
                self._backend.bulk_insert(
                    conn,
                    measurements,
                    MEASUREMENT_COLUMNS,
                    measurement_rows(points, now, timestamp_text, project_id),
                )
            if spans_in:
                conn.execute(
                    self._backend.insert(spans).on_conflict_do_nothing(
                        index_elements=[spans.c.trace_id, spans.c.span_id]
                    ),
                    [span_row(span, project_id) for span in spans_in],
                )
        return BatchWriteResult(
            steps=step_count, logs=len(logs_in), measurements=len(points), spans=len(spans_in)
        )
