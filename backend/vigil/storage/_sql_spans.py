"""Spans: the tracing exporters' bulk write, and reading a trace or a run's spans back."""

from collections.abc import Iterable, Iterator
from typing import Final
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from vigil.models import MAX_BATCH_EVENTS, Span, SpanCreate, SpanRecord
from vigil.models._spans import span_time
from vigil.storage._backend import json_loads
from vigil.storage._rows import EncodedRow, NanosText
from vigil.storage._schema import spans
from vigil.storage._sql_base import RowDict, SqlStoreBase, to_model

SPAN_COLUMNS: Final = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "service", "start_time",
    "end_time", "status", "status_message", "attributes", "run_id", "project_id",
)  # fmt: skip


class SpanQueries(SqlStoreBase):
    def write_spans(self, records: Iterable[SpanRecord], *, project_id: str | None = None) -> int:
        nanos_text = self._backend.nanos_text
        source = iter(records)
        taken: list[SpanRecord] = []

        def counted() -> Iterator[SpanRecord]:
            # Lazily: on PostgreSQL the server inserts one 32 KiB chunk of COPY while the
            # producer (the exporter, converting spans) builds the next (two cores busy).
            for record in source:
                if len(taken) == MAX_BATCH_EVENTS:
                    raise ValueError(f"at most {MAX_BATCH_EVENTS} spans per call")
                taken.append(record)
                yield record

        try:
            with self._write() as conn:
                self._backend.bulk_insert(
                    conn, spans, SPAN_COLUMNS,
                    span_record_rows(counted(), nanos_text, project_id),
                )  # fmt: skip
        except IntegrityError:
            # COPY has no ON CONFLICT: a batch holding a span stored before (an exporter
            # retrying after a lost commit) rolls its transaction back and is written again
            # by the slower statement, which skips such spans. No savepoint around the COPY:
            # it would cost every batch two round trips for a case this rare.
            for _ in counted():  # the rest of the records, into ``taken`` (bounded)
                pass
            with self._write() as conn:
                conn.execute(
                    self._backend.insert(spans).on_conflict_do_nothing(
                        index_elements=[spans.c.trace_id, spans.c.span_id]
                    ),
                    [record_row(record, project_id) for record in taken],
                )
        return len(taken)

    def get_trace(
        self, trace_id: str, *, project_id: str | None = None, limit: int | None = None
    ) -> list[Span]:
        query = select(spans).where(spans.c.trace_id == trace_id)
        if project_id is not None:
            query = query.where(spans.c.project_id == project_id)
        query = query.order_by(spans.c.start_time, spans.c.span_id).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [to_model(Span, row) for row in rows]

    def list_run_spans(
        self, run_id: UUID, *, project_id: str | None = None, limit: int | None = None
    ) -> list[Span]:
        query = select(spans).where(spans.c.run_id == run_id)
        if project_id is not None:
            query = query.where(spans.c.project_id == project_id)
        query = query.order_by(spans.c.start_time, spans.c.trace_id, spans.c.span_id)
        with self._read() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [to_model(Span, row) for row in rows]


def span_row(span: SpanCreate, project_id: str | None = None) -> RowDict:
    """The row of a span; ``project_id`` (a project key's) replaces the span's own."""
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
        "project_id": span.project_id if project_id is None else project_id,
    }


def record_row(record: SpanRecord, project_id: str | None = None) -> RowDict:
    """A span record as SQLAlchemy parameters (the rare, conflict-skipping path)."""
    row = record._asdict()
    row["attributes"] = json_loads(row.pop("attributes_json"))
    row["kind"] = record.kind.value
    row["status"] = record.status.value
    row["start_time"] = span_time(record.start_time)
    row["end_time"] = span_time(record.end_time)
    if project_id is not None:
        row["project_id"] = project_id
    return row


def span_record_rows(
    records: Iterable[SpanRecord], nanos_text: NanosText, project_id: str | None = None
) -> Iterator[EncodedRow]:
    """Rows of span records for ``Backend.bulk_insert``, encoded lazily (``_rows``);
    ``project_id`` (a project key's) replaces each record's own."""
    return (
        (
            record.trace_id,
            record.span_id,
            record.parent_span_id,
            record.name,
            record.kind._value_,
            record.service,
            nanos_text(record.start_time),
            nanos_text(record.end_time),
            record.status._value_,
            record.status_message,
            record.attributes_json,
            None if record.run_id is None else record.run_id.hex,
            record.project_id if project_id is None else project_id,
        )
        for record in records
    )
