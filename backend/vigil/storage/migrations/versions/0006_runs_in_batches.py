"""Runs start and finish inside batches; steps of graph nodes.

Revision ID: 0006_runs_in_batches
Revises: 0005_artifact_names_and_links
Create Date: 2026-12-01

- ``ingested_batches.runs_started`` / ``runs_finished``: what a batch with ``run_start`` and
  ``run_finish`` events stored, so the answer to the same batch sent again says it too. Rows
  from before stored no run: 0.
- ``steps.step_type`` takes ``graph_node`` (one execution of a LangGraph node). SQLite
  changes a CHECK only by rebuilding the table (Alembic's batch mode, foreign keys off:
  ``SqliteBackend.begin_migration``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_runs_in_batches"
down_revision: str | Sequence[str] | None = "0005_artifact_names_and_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_SCHEMA = "observability"  # frozen here on purpose: a migration must not follow later code

OLD_STEP_TYPES = (
    "message",
    "thought",
    "tool_call",
    "tool_result",
    "llm_generation",
    "error",
)
NEW_STEP_TYPES = (*OLD_STEP_TYPES, "graph_node")
RUN_COUNTS = ("runs_started", "runs_finished")


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _set_step_types(step_types: Sequence[str], postgres: bool, schema: str | None) -> None:
    if postgres:
        op.drop_constraint("ck_steps_step_type", "steps", type_="check", schema=schema)
        op.create_check_constraint(
            "ck_steps_step_type", "steps", _one_of("step_type", step_types), schema=schema
        )
        return
    with op.batch_alter_table("steps", recreate="always") as batch:
        batch.drop_constraint("ck_steps_step_type", type_="check")
        batch.create_check_constraint("ck_steps_step_type", _one_of("step_type", step_types))


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    schema = PG_SCHEMA if postgres else None
    for name in RUN_COUNTS:
        op.add_column(
            "ingested_batches",
            sa.Column(name, sa.Integer(), nullable=False, server_default="0"),
            schema=schema,
        )
    _set_step_types(NEW_STEP_TYPES, postgres, schema)


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    schema = PG_SCHEMA if postgres else None
    prefix = f"{schema}." if schema else ""
    op.execute(f"UPDATE {prefix}steps SET step_type = 'thought' WHERE step_type = 'graph_node'")  # noqa: S608
    _set_step_types(OLD_STEP_TYPES, postgres, schema)
    if postgres:
        for name in RUN_COUNTS:
            op.drop_column("ingested_batches", name, schema=schema)
    else:
        with op.batch_alter_table("ingested_batches", recreate="always") as batch:
            for name in RUN_COUNTS:
                batch.drop_column(name)
