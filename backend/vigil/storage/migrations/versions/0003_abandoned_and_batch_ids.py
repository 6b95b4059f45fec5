"""Runs that went quiet can be marked abandoned; batches are stored once per id.

Revision ID: 0003_abandoned_and_batch_ids
Revises: 0002_keys_and_projects
Create Date: 2026-12-01

- ``runs.last_activity_at``: when the run last got a step (or started); filled from its
  steps. The controller marks runs with no activity for a while ``abandoned``, a new value of
  the status CHECK. SQLite changes a CHECK only by rebuilding the table (Alembic's batch
  mode, foreign keys off: ``SqliteBackend.begin_migration``).
- ``ingested_batches``: the id of every batch stored through ``write_batch`` with one, and
  what it stored, so the same batch sent again (a retry after a lost answer) is skipped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_abandoned_and_batch_ids"
down_revision: str | Sequence[str] | None = "0002_keys_and_projects"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_SCHEMA = "observability"  # frozen here on purpose: a migration must not follow later code

OLD_STATUSES = ("running", "succeeded", "failed", "cancelled")
NEW_STATUSES = (*OLD_STATUSES, "abandoned")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _set_statuses(statuses: Sequence[str], postgres: bool, schema: str | None) -> None:
    if postgres:
        op.drop_constraint("ck_runs_status", "runs", type_="check", schema=schema)
        op.create_check_constraint(
            "ck_runs_status", "runs", _one_of("status", statuses), schema=schema
        )
        return
    with op.batch_alter_table("runs", recreate="always") as batch:
        batch.drop_constraint("ck_runs_status", type_="check")
        batch.create_check_constraint("ck_runs_status", _one_of("status", statuses))


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    schema = PG_SCHEMA if postgres else None
    prefix = f"{schema}." if schema else ""
    timestamp = sa.DateTime(timezone=True)

    op.add_column("runs", sa.Column("last_activity_at", timestamp, nullable=True), schema=schema)
    op.execute(
        f"UPDATE {prefix}runs SET last_activity_at = COALESCE("  # noqa: S608 - frozen names
        f"(SELECT max(s.created_at) FROM {prefix}steps s WHERE s.run_id = {prefix}runs.id),"
        " finished_at, started_at)"
    )
    if postgres:
        op.alter_column("runs", "last_activity_at", nullable=False, schema=schema)
        _set_statuses(NEW_STATUSES, postgres, schema)
    else:
        with op.batch_alter_table("runs", recreate="always") as batch:
            batch.alter_column("last_activity_at", existing_type=timestamp, nullable=False)
            batch.drop_constraint("ck_runs_status", type_="check")
            batch.create_check_constraint("ck_runs_status", _one_of("status", NEW_STATUSES))

    op.create_table(
        "ingested_batches",
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", timestamp, nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("logs", sa.Integer(), nullable=False),
        sa.Column("measurements", sa.Integer(), nullable=False),
        sa.Column("spans", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_ingested_batches"),
        schema=schema,
    )
    op.create_index(
        "ix_ingested_batches_received_at", "ingested_batches", ["received_at"], schema=schema
    )


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    schema = PG_SCHEMA if postgres else None
    prefix = f"{schema}." if schema else ""
    op.drop_index("ix_ingested_batches_received_at", table_name="ingested_batches", schema=schema)
    op.drop_table("ingested_batches", schema=schema)
    op.execute(f"UPDATE {prefix}runs SET status = 'failed' WHERE status = 'abandoned'")  # noqa: S608
    _set_statuses(OLD_STATUSES, postgres, schema)
    if postgres:
        op.drop_column("runs", "last_activity_at", schema=schema)
    else:
        with op.batch_alter_table("runs", recreate="always") as batch:
            batch.drop_column("last_activity_at")
