"""Initial schema: runs, steps, artifacts, logs, measurements, spans, workflows, alerts.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22

On PostgreSQL every table is created in the ``observability`` schema, and measurements are
partitioned by month: a default partition catches rows of months without their own, and
``observability.ensure_measurement_partition(month)`` creates a month's partition (moving
any rows of that month out of the default one). The store calls it before inserting into a
month it has not seen; this migration calls it for the current and the next month.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_SCHEMA = "observability"  # frozen here on purpose: a migration must not follow later code

ENSURE_MEASUREMENT_PARTITION = """
CREATE OR REPLACE FUNCTION observability.ensure_measurement_partition(p_month date)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    lower_bound timestamptz := date_trunc('month', p_month::timestamp) AT TIME ZONE 'UTC';
    upper_bound timestamptz :=
        (date_trunc('month', p_month::timestamp) + interval '1 month') AT TIME ZONE 'UTC';
    partition_name text := 'measurements_' || to_char(p_month, 'YYYY_MM');
BEGIN
    -- Serialize creators of the same month (several controllers, several threads).
    PERFORM pg_advisory_xact_lock(hashtext('observability.' || partition_name));
    IF to_regclass('observability.' || partition_name) IS NOT NULL THEN
        RETURN partition_name;
    END IF;
    EXECUTE format(
        'CREATE TABLE observability.%I (LIKE observability.measurements '
        'INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
        partition_name);
    -- Rows of this month that reached the default partition move to their own.
    EXECUTE format(
        'WITH moved AS (DELETE FROM observability.measurements_default '
        'WHERE recorded_at >= %L AND recorded_at < %L RETURNING *) '
        'INSERT INTO observability.%I SELECT * FROM moved',
        lower_bound, upper_bound, partition_name);
    EXECUTE format(
        'ALTER TABLE observability.measurements ATTACH PARTITION observability.%I '
        'FOR VALUES FROM (%L) TO (%L)',
        partition_name, lower_bound, upper_bound);
    RETURN partition_name;
END;
$$
"""

CURRENT_AND_NEXT_MONTH = """
DO $$
BEGIN
    PERFORM observability.ensure_measurement_partition((now() AT TIME ZONE 'UTC')::date);
    PERFORM observability.ensure_measurement_partition(
        ((now() AT TIME ZONE 'UTC') + interval '1 month')::date);
END;
$$
"""


def _one_of(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    schema = PG_SCHEMA if postgres else None
    prefix = f"{schema}." if schema else ""
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    timestamp = sa.DateTime(timezone=True)

    op.create_table(
        "runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("project_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", timestamp, nullable=False),
        sa.Column("finished_at", timestamp, nullable=True),
        sa.Column("step_count", sa.Integer(), nullable=False),
        sa.Column("metadata", json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.CheckConstraint(
            _one_of("status", "running", "succeeded", "failed", "cancelled"),
            name="ck_runs_status",
        ),
        schema=schema,
    )
    op.create_index("ix_runs_project_id_id", "runs", ["project_id", "id"], schema=schema)
    op.create_index("ix_runs_status_id", "runs", ["status", "id"], schema=schema)

    op.create_table(
        "steps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step_type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("data", json, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.Column("created_at", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_steps"),
        sa.ForeignKeyConstraint(["run_id"], [f"{prefix}runs.id"], name="fk_steps_run_id_runs"),
        sa.UniqueConstraint("run_id", "seq", name="uq_steps_run_id_seq"),
        sa.CheckConstraint(
            _one_of(
                "step_type",
                "message",
                "thought",
                "tool_call",
                "tool_result",
                "llm_generation",
                "error",
            ),
            name="ck_steps_step_type",
        ),
        schema=schema,
    )

    op.create_table(
        "artifacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=True),
        sa.Column("uri", sa.String(2048), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_artifacts"),
        sa.ForeignKeyConstraint(["run_id"], [f"{prefix}runs.id"], name="fk_artifacts_run_id_runs"),
        sa.ForeignKeyConstraint(
            ["step_id"], [f"{prefix}steps.id"], name="fk_artifacts_step_id_steps"
        ),
        schema=schema,
    )
    op.create_index("ix_artifacts_run_id_id", "artifacts", ["run_id", "id"], schema=schema)

    op.create_table(
        "logs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("timestamp", timestamp, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("logger", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("step_id", sa.Uuid(), nullable=True),
        sa.Column("trace_id", sa.String(32), nullable=True),
        sa.Column("span_id", sa.String(16), nullable=True),
        sa.Column("attributes", json, nullable=False),
        sa.PrimaryKeyConstraint("timestamp", "id", name="pk_logs"),
        sa.CheckConstraint(
            _one_of("level", "debug", "info", "warning", "error", "critical"),
            name="ck_logs_level",
        ),
        schema=schema,
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_logs_request_id_timestamp_id", "logs", ["request_id", "timestamp", "id"], schema=schema
    )
    op.create_index(
        "ix_logs_run_id_timestamp_id", "logs", ["run_id", "timestamp", "id"], schema=schema
    )

    op.create_table(
        "measurements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("recorded_at", timestamp, nullable=False),
        sa.Column("labels", json, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("name", "recorded_at", "id", name="pk_measurements"),
        sa.CheckConstraint(
            _one_of("kind", "counter", "gauge", "histogram"), name="ck_measurements_kind"
        ),
        schema=schema,
        postgresql_partition_by="RANGE (recorded_at)",
        sqlite_with_rowid=False,
    )
    if postgres:
        op.execute(
            f"CREATE TABLE {PG_SCHEMA}.measurements_default "
            f"PARTITION OF {PG_SCHEMA}.measurements DEFAULT"
        )
        op.execute(ENSURE_MEASUREMENT_PARTITION)
        op.execute(CURRENT_AND_NEXT_MONTH)

    op.create_table(
        "spans",
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("parent_span_id", sa.String(16), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("start_time", timestamp, nullable=False),
        sa.Column("end_time", timestamp, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("attributes", json, nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_spans"),
        sa.CheckConstraint(
            _one_of("kind", "internal", "server", "client", "producer", "consumer"),
            name="ck_spans_kind",
        ),
        sa.CheckConstraint(_one_of("status", "unset", "ok", "error"), name="ck_spans_status"),
        schema=schema,
    )

    workflow_statuses = ("pending", "running", "waiting", "succeeded", "failed", "cancelled")
    op.create_table(
        "workflows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=False),
        sa.Column("workflow_type", sa.String(64), nullable=False),
        sa.Column("phase", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("metadata", json, nullable=False),
        sa.Column("created_at", timestamp, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workflows"),
        sa.CheckConstraint(_one_of("status", *workflow_statuses), name="ck_workflows_status"),
        schema=schema,
    )
    op.create_index("ix_workflows_correlation_id", "workflows", ["correlation_id"], schema=schema)
    op.create_index("ix_workflows_status_id", "workflows", ["status", "id"], schema=schema)

    op.create_table(
        "workflow_transitions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("from_phase", sa.String(64), nullable=True),
        sa.Column("to_phase", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_transitions"),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            [f"{prefix}workflows.id"],
            name="fk_workflow_transitions_workflow_id_workflows",
        ),
        schema=schema,
    )
    op.create_index(
        "ix_workflow_transitions_workflow_id_id",
        "workflow_transitions",
        ["workflow_id", "id"],
        schema=schema,
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("alertname", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(64), nullable=False),
        sa.Column("starts_at", timestamp, nullable=False),
        sa.Column("ends_at", timestamp, nullable=True),
        sa.Column("labels", json, nullable=False),
        sa.Column("annotations", json, nullable=False),
        sa.Column("generator_url", sa.String(2048), nullable=True),
        sa.Column("received_at", timestamp, nullable=False),
        sa.Column("updated_at", timestamp, nullable=False),
        sa.Column("acknowledged_at", timestamp, nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("fingerprint", "starts_at", name="uq_alerts_fingerprint_starts_at"),
        sa.CheckConstraint(_one_of("status", "firing", "resolved"), name="ck_alerts_status"),
        schema=schema,
    )
    op.create_index(
        "ix_alerts_severity_starts_at", "alerts", ["severity", "starts_at"], schema=schema
    )
    op.create_index("ix_alerts_starts_at_id", "alerts", ["starts_at", "id"], schema=schema)


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    schema = PG_SCHEMA if postgres else None
    for table in (
        "alerts",
        "workflow_transitions",
        "workflows",
        "spans",
        "measurements",  # on PostgreSQL this drops every partition with it
        "logs",
        "artifacts",
        "steps",
        "runs",
    ):
        op.drop_table(table, schema=schema)
    if postgres:
        op.execute(f"DROP FUNCTION {PG_SCHEMA}.ensure_measurement_partition(date)")
