"""Spans: reading a trace back."""

from sqlalchemy import select

from vigil.models import Span, SpanCreate
from vigil.storage._schema import spans
from vigil.storage._sql_base import RowDict, SqlStoreBase, to_model


class SpanQueries(SqlStoreBase):
    def get_trace(self, trace_id: str, *, project_id: str | None = None) -> list[Span]:
        query = select(spans).where(spans.c.trace_id == trace_id)
        if project_id is not None:
            query = query.where(spans.c.project_id == project_id)
        with self._read() as conn:
            rows = conn.execute(query.order_by(spans.c.start_time, spans.c.span_id)).all()
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
