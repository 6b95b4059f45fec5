"""Artifacts keep their file name; steps link to artifacts.

Revision ID: 0005_artifact_names_and_links
Revises: 0004_spans_by_run
Create Date: 2026-12-01

- ``artifacts.name``: the sanitised file name (the last segment of the object key), shown in
  listings and sent as the download's file name. Rows from before (there was no API to make
  them) get ``artifact``.
- ``artifacts`` gets an index on ``step_id``: a step's listing shows the artifacts uploaded
  naming it.
- ``step_artifacts``: the artifacts a step names. No foreign key to ``artifacts``: the link
  may be written before the upload it names has finished.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_artifact_names_and_links"
down_revision: str | Sequence[str] | None = "0004_spans_by_run"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_SCHEMA = "observability"  # frozen here on purpose: a migration must not follow later code


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    schema = PG_SCHEMA if postgres else None
    name = sa.Column("name", sa.String(128), nullable=False, server_default="artifact")
    op.add_column("artifacts", name, schema=schema)
    if postgres:
        op.alter_column("artifacts", "name", server_default=None, schema=schema)
    else:
        with op.batch_alter_table("artifacts", recreate="always") as batch:
            batch.alter_column("name", existing_type=sa.String(128), server_default=None)
    op.create_index("ix_artifacts_step_id", "artifacts", ["step_id"], schema=schema)
    steps = f"{schema}.steps" if schema else "steps"
    op.create_table(
        "step_artifacts",
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("artifact_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["step_id"], [f"{steps}.id"], name="fk_step_artifacts_step_id_steps"
        ),
        sa.PrimaryKeyConstraint("step_id", "artifact_id", name="pk_step_artifacts"),
        schema=schema,
    )


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    schema = PG_SCHEMA if postgres else None
    op.drop_table("step_artifacts", schema=schema)
    op.drop_index("ix_artifacts_step_id", table_name="artifacts", schema=schema)
    if postgres:
        op.drop_column("artifacts", "name", schema=schema)
    else:
        with op.batch_alter_table("artifacts", recreate="always") as batch:
            batch.drop_column("name")
