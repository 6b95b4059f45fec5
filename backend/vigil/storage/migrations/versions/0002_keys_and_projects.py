"""API keys, and the project of every record that does not reach it through a run.

Revision ID: 0002_keys_and_projects
Revises: 0001_initial
Create Date: 2026-12-01

- ``api_keys``: the controller's keys (a SHA-256 digest of each secret, never the secret).
- ``project_id`` on logs, measurements, spans and workflows: a project's key reads and
  writes only its project's records (runs, steps and artifacts reach it through their run).
- ``logs.ingested_by``: the ``key_id`` of the key that posted a record, so a record sent
  through the ingestion API can never pass for one of the controller's own (null).

Existing rows keep a null project: they are visible to keys for every project only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_keys_and_projects"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_SCHEMA = "observability"  # frozen here on purpose: a migration must not follow later code

PROJECT_TABLES = ("logs", "measurements", "spans", "workflows")


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    schema = PG_SCHEMA if postgres else None
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    timestamp = sa.DateTime(timezone=True)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("project_id", sa.String(128), nullable=True),
        sa.Column("scopes", json, nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("revoked_at", timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_id", name="uq_api_keys_key_id"),
        schema=schema,
    )
    for table in PROJECT_TABLES:
        # On PostgreSQL, adding a column to the partitioned measurements table adds it to
        # every partition, and ensure_measurement_partition's LIKE copies it to new ones.
        op.add_column(table, sa.Column("project_id", sa.String(128), nullable=True), schema=schema)
    op.add_column("logs", sa.Column("ingested_by", sa.String(16), nullable=True), schema=schema)
    op.create_index("ix_workflows_project_id_id", "workflows", ["project_id", "id"], schema=schema)


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    schema = PG_SCHEMA if postgres else None
    op.drop_index("ix_workflows_project_id_id", table_name="workflows", schema=schema)
    op.drop_column("logs", "ingested_by", schema=schema)
    for table in PROJECT_TABLES:
        op.drop_column(table, "project_id", schema=schema)
    op.drop_table("api_keys", schema=schema)
