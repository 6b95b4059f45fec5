"""The tables, as SQLAlchemy Core objects on one MetaData.

The migrations (``migrations/versions``) create these tables; this module is what queries
are built from. ``tests/storage/test_migrations.py`` compares the two so they cannot drift.
Tables carry no schema here: on PostgreSQL the engine maps them to ``observability`` with
``schema_translate_map``, on SQLite they live in the main database.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from vigil.models import (
    AlertStatus,
    LogLevel,
    MeasurementKind,
    RunStatus,
    SpanKind,
    SpanStatus,
    StepType,
    WorkflowStatus,
)

PG_SCHEMA: Final = "observability"
"""The PostgreSQL schema holding every Vigil table (and Alembic's version table)."""

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """``timestamptz`` on PostgreSQL; on SQLite, UTC text in SQLAlchemy's fixed-width format
    (``2025-01-31 23:59:59.000123``), so text order is time order and range scans use indexes.
    Values always come back timezone-aware in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        if dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JsonDocument: Final[Any] = JSON().with_variant(JSONB(), "postgresql")
"""A JSON object column: ``jsonb`` on PostgreSQL, JSON text on SQLite."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _one_of(column: str, values: type[StrEnum]) -> str:
    """A CHECK expression keeping a text column inside one of the model's enums."""
    quoted = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({quoted})"


runs = Table(
    "runs",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("agent", String(200), nullable=False),
    Column("project_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("step_count", Integer(), nullable=False),
    Column("metadata", JsonDocument, nullable=False),
    Column("last_activity_at", UtcDateTime(), nullable=False),
    CheckConstraint(_one_of("status", RunStatus), name="status"),
    Index(None, "project_id", "id"),
    Index(None, "status", "id"),
)

# run_id is no foreign key either (migration 0007): PostgreSQL's per-row check halved the
# throughput of COPY, and every write of steps locks their runs and refuses an unknown one.
steps = Table(
    "steps",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("run_id", Uuid(), nullable=False),
    Column("seq", Integer(), nullable=False),
    Column("step_type", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("data", JsonDocument, nullable=False),
    Column("request_id", String(128)),
    Column("trace_id", String(32)),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint(_one_of("step_type", StepType), name="step_type"),
    # Also the index for "steps of a run, in order".
    UniqueConstraint("run_id", "seq"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("run_id", Uuid(), ForeignKey("runs.id"), nullable=False),
    Column("step_id", Uuid(), ForeignKey("steps.id")),
    Column("uri", String(2048), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("size_bytes", BigInteger(), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("name", String(128), nullable=False),
    Index(None, "run_id", "id"),
    Index(None, "step_id"),
)

# Artifacts a step names. No foreign key to artifacts: an agent names an artifact whose
# upload is still running (its id is known first), so the link may come before the record.
# Reads join on the artifact and its run, so a link shows stored artifacts of the step's own
# run only.
step_artifacts = Table(
    "step_artifacts",
    metadata,
    Column("step_id", Uuid(), ForeignKey("steps.id"), nullable=False),
    Column("artifact_id", Uuid(), nullable=False),
    PrimaryKeyConstraint("step_id", "artifact_id"),
)

# run_id and step_id of logs, measurements and spans are correlation ids, not foreign keys:
# telemetry can arrive before its run is recorded, and a per-row key check would cost the
# ingestion path its throughput.
logs = Table(
    "logs",
    metadata,
    Column("id", Uuid(), nullable=False),
    Column("timestamp", UtcDateTime(), nullable=False),
    Column("level", String(16), nullable=False),
    Column("logger", String(200), nullable=False),
    Column("message", Text(), nullable=False),
    Column("service", String(200), nullable=False),
    Column("request_id", String(128)),
    Column("run_id", Uuid()),
    Column("step_id", Uuid()),
    Column("trace_id", String(32)),
    Column("span_id", String(16)),
    Column("attributes", JsonDocument, nullable=False),
    Column("project_id", String(128)),
    Column("ingested_by", String(16)),
    # Clustered by time: the key is also the keyset order of query_logs, which saves the
    # ingestion path one index (SQLite stores the table itself in this B-tree).
    PrimaryKeyConstraint("timestamp", "id"),
    CheckConstraint(_one_of("level", LogLevel), name="level"),
    Index(None, "request_id", "timestamp", "id"),
    Index(None, "run_id", "timestamp", "id"),
    sqlite_with_rowid=False,
)

# On PostgreSQL: partitioned by month on recorded_at (see the migration). The primary key
# leads with (name, recorded_at), so it is also the index of queries by metric and time.
measurements = Table(
    "measurements",
    metadata,
    Column("id", Uuid(), nullable=False),
    Column("name", String(200), nullable=False),
    Column("value", Double(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("labels", JsonDocument, nullable=False),
    Column("run_id", Uuid()),
    Column("project_id", String(128)),
    PrimaryKeyConstraint("name", "recorded_at", "id"),
    CheckConstraint(_one_of("kind", MeasurementKind), name="kind"),
    sqlite_with_rowid=False,
)

# The primary key (trace_id, span_id) is also the index for "all spans of a trace"; the
# (run_id, start_time) index serves "the spans of a run" (migration 0004). It is partial: most
# spans (a service's requests) belong to no run, and skip its upkeep on the write path.
spans = Table(
    "spans",
    metadata,
    Column("trace_id", String(32), nullable=False),
    Column("span_id", String(16), nullable=False),
    Column("parent_span_id", String(16)),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("service", String(200), nullable=False),
    Column("start_time", UtcDateTime(), nullable=False),
    Column("end_time", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_message", Text()),
    Column("attributes", JsonDocument, nullable=False),
    Column("run_id", Uuid()),
    Column("project_id", String(128)),
    PrimaryKeyConstraint("trace_id", "span_id"),
    Index(
        None,
        "run_id",
        "start_time",
        postgresql_where=text("run_id IS NOT NULL"),
        sqlite_where=text("run_id IS NOT NULL"),
    ),
    CheckConstraint(_one_of("kind", SpanKind), name="kind"),
    CheckConstraint(_one_of("status", SpanStatus), name="status"),
)

workflows = Table(
    "workflows",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("correlation_id", String(128), nullable=False),
    Column("workflow_type", String(64), nullable=False),
    Column("phase", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("metadata", JsonDocument, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("project_id", String(128)),
    CheckConstraint(_one_of("status", WorkflowStatus), name="status"),
    Index(None, "correlation_id"),
    Index(None, "status", "id"),
    Index(None, "project_id", "id"),
)

workflow_transitions = Table(
    "workflow_transitions",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("workflow_id", Uuid(), ForeignKey("workflows.id"), nullable=False),
    Column("from_phase", String(64)),
    Column("to_phase", String(64), nullable=False),
    Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False),
    Column("reason", Text()),
    Column("created_at", UtcDateTime(), nullable=False),
    Index(None, "workflow_id", "id"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("alertname", String(200), nullable=False),
    Column("severity", String(64), nullable=False),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("ends_at", UtcDateTime()),
    Column("labels", JsonDocument, nullable=False),
    Column("annotations", JsonDocument, nullable=False),
    Column("generator_url", String(2048)),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("acknowledged_at", UtcDateTime()),
    Column("acknowledged_by", String(200)),
    CheckConstraint(_one_of("status", AlertStatus), name="status"),
    UniqueConstraint("fingerprint", "starts_at"),
    Index(None, "severity", "starts_at"),
    Index(None, "starts_at", "id"),
)

# Keys are looked up by their public key_id; the secret is stored only as a SHA-256 digest.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("key_id", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("project_id", String(128)),
    Column("scopes", JsonDocument, nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    UniqueConstraint("key_id"),
)

# Batches already stored, by the id their writer gave them (HTTP: Idempotency-Key): a batch
# sent again after a lost answer is recognised and not stored twice.
ingested_batches = Table(
    "ingested_batches",
    metadata,
    Column("batch_id", Uuid(), primary_key=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("steps", Integer(), nullable=False),
    Column("logs", Integer(), nullable=False),
    Column("measurements", Integer(), nullable=False),
    Column("spans", Integer(), nullable=False),
    Column("runs_started", Integer(), nullable=False, server_default="0"),
    Column("runs_finished", Integer(), nullable=False, server_default="0"),
    Index(None, "received_at"),
)
