"""Steps name their run without a foreign key.

Revision ID: 0007_steps_run_id_unchecked
Revises: 0006_runs_in_batches
Create Date: 2026-12-01

PostgreSQL checks a foreign key with a trigger per inserted row, and on the step ingestion
path that check cost more than the insert itself: COPY of 100,000 steps ran at 80,700 rows/s
with ``fk_steps_run_id_runs`` and at 175,700 without (2-core build VM, one run). The key
guarded nothing the writes do not: every statement that stores steps first locks their runs
(``SELECT ... FOR UPDATE`` in id order, then the ``step_count`` UPDATE) and fails with
``NotFound`` for a run that does not exist, in the same transaction, and runs are never
deleted. The same on SQLite, so that both databases keep one schema.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_steps_run_id_unchecked"
down_revision: str | Sequence[str] | None = "0006_runs_in_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_SCHEMA = "observability"  # frozen here on purpose: a migration must not follow later code
FOREIGN_KEY = "fk_steps_run_id_runs"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint(FOREIGN_KEY, "steps", type_="foreignkey", schema=PG_SCHEMA)
        return
    with op.batch_alter_table("steps", recreate="always") as batch:
        batch.drop_constraint(FOREIGN_KEY, type_="foreignkey")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.create_foreign_key(
            FOREIGN_KEY,
            "steps",
            "runs",
            ["run_id"],
            ["id"],
            source_schema=PG_SCHEMA,
            referent_schema=PG_SCHEMA,
        )
        return
    with op.batch_alter_table("steps", recreate="always") as batch:
        batch.create_foreign_key(FOREIGN_KEY, "runs", ["run_id"], ["id"])
