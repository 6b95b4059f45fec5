"""Spans are read by run: an index on ``spans(run_id, start_time)``.

Revision ID: 0004_spans_by_run
Revises: 0003_abandoned_and_batch_ids
Create Date: 2026-12-01

``GET /runs/{id}/trace`` returns the spans recorded for a run, by start time; without this
index that is a scan of every span. Partial (``run_id IS NOT NULL``, on both engines): most
spans, a service's requests, belong to no run and cost the index nothing on the write path.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_spans_by_run"
down_revision: str | Sequence[str] | None = "0003_abandoned_and_batch_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_SCHEMA = "observability"  # frozen here on purpose: a migration must not follow later code


def upgrade() -> None:
    schema = PG_SCHEMA if op.get_context().dialect.name == "postgresql" else None
    op.create_index(
        "ix_spans_run_id_start_time",
        "spans",
        ["run_id", "start_time"],
        schema=schema,
        postgresql_where=sa.text("run_id IS NOT NULL"),
        sqlite_where=sa.text("run_id IS NOT NULL"),
    )


def downgrade() -> None:
    schema = PG_SCHEMA if op.get_context().dialect.name == "postgresql" else None
    op.drop_index("ix_spans_run_id_start_time", table_name="spans", schema=schema)
