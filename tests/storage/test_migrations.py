"""The packaged migrations build the schema from nothing, on both backends, and agree
with the tables the queries are built from."""

import itertools
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from vigil.models import (
    TERMINAL_RUN_STATUSES,
    AlertCreate,
    AlertStatus,
    BatchEvent,
    LogCreate,
    LogLevel,
    MeasurementCreate,
    MeasurementKind,
    RunCreate,
    RunFinish,
    RunStatus,
    SpanCreate,
    SpanKind,
    SpanStatus,
    StepEvent,
    StepType,
    WorkflowCreate,
    WorkflowStatus,
    utc_now,
)
from vigil.storage import EventStore, current_revision, downgrade, open_store, upgrade
from vigil.storage._factory import backend_for_url
from vigil.storage._schema import PG_SCHEMA, metadata

HEAD_REVISION = "0007_steps_run_id_unchecked"
TABLES = {
    "alerts",
    "api_keys",
    "ingested_batches",
    "artifacts",
    "logs",
    "measurements",
    "runs",
    "spans",
    "step_artifacts",
    "steps",
    "workflow_transitions",
    "workflows",
}


def _inspect_tables(url: str) -> set[str]:
    backend = backend_for_url(url)
    engine = backend.create_engine()
    try:
        schema = PG_SCHEMA if backend.name == "postgresql" else None
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names(schema=schema))
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_every_table(store_url: str) -> None:
    """An empty database is at no revision; upgrade brings it to head with every table."""
    assert current_revision(store_url) is None

    upgrade(store_url)

    assert current_revision(store_url) == HEAD_REVISION
    assert _inspect_tables(store_url) >= TABLES | {"alembic_version"}


def test_upgrade_is_idempotent(store_url: str) -> None:
    """Running the migrations at every start leaves a current schema alone."""
    upgrade(store_url)
    upgrade(store_url)
    assert current_revision(store_url) == HEAD_REVISION


def test_downgrade_to_base_and_up_again(store_url: str) -> None:
    """Downgrade drops everything it created, so the chain can be replayed."""
    upgrade(store_url)
    downgrade(store_url, "base")
    assert _inspect_tables(store_url) & TABLES == set()
    upgrade(store_url)
    assert _inspect_tables(store_url) >= TABLES


def test_records_made_before_keys_survive_the_keys_migration(store_url: str) -> None:
    """A database at 0001 with a run, a log and a workflow upgrades to head: the rows stay,
    with no project (visible to keys for every project only), and the controller's own log
    records keep ``ingested_by`` null."""
    upgrade(store_url, "0001_initial")
    backend = backend_for_url(store_url)
    engine = backend.create_engine()
    prefix = f"{PG_SCHEMA}." if backend.name == "postgresql" else ""
    now = datetime(2026, 11, 30, tzinfo=UTC).isoformat(" ")
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"INSERT INTO {prefix}logs (id, timestamp, level, logger, message, service,"  # noqa: S608
                    " attributes) VALUES (:id, :ts, 'info', 'l', 'before', 's', '{}')"
                ),
                {"id": "0" * 31 + "1", "ts": now},
            )
    finally:
        engine.dispose()
    upgrade(store_url)
    with open_store(store_url) as store:
        (record,) = store.query_logs().items
    assert (record.message, record.project_id, record.ingested_by) == ("before", None, None)


def test_migrated_schema_matches_the_query_tables(store_url: str) -> None:
    """What the migrations create is what ``_schema.py`` describes (types, nullability,
    indexes, constraints), so queries and DDL cannot drift apart."""
    upgrade(store_url)
    backend = backend_for_url(store_url)
    engine = backend.create_engine()
    postgres = backend.name == "postgresql"

    def include_object(obj: object, name: str | None, type_: str, *_: object) -> bool:
        # Monthly partitions of measurements are created at run time, not described.
        return not (type_ == "table" and name is not None and name.startswith("measurements_"))

    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    "include_schemas": postgres,
                    "include_object": include_object,
                    "include_name": lambda name, type_, _: (
                        type_ != "schema" or name == (PG_SCHEMA if postgres else None)
                    ),
                    "version_table_schema": PG_SCHEMA if postgres else None,
                },
            )
            diff = compare_metadata(context, _metadata_for(postgres))
    finally:
        engine.dispose()
    assert diff == []


def _metadata_for(postgres: bool) -> sa.MetaData:
    if not postgres:
        return metadata
    copy = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(copy, schema=PG_SCHEMA)
    return copy


def test_check_constraints_accept_every_enum_member(store: EventStore) -> None:
    """The CHECK lists frozen in the migration accept every member of the model enums."""
    started = datetime(2024, 1, 1, tzinfo=UTC)
    for status in TERMINAL_RUN_STATUSES - {RunStatus.ABANDONED}:
        run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
        assert store.finish_run(run.id, RunFinish(status=status)).status is status
    idle = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    (abandoned,) = store.abandon_idle_runs(utc_now())
    assert (abandoned.id, abandoned.status) == (idle.id, RunStatus.ABANDONED)
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    events: list[BatchEvent] = [
        StepEvent(run_id=run.id, step_type=step_type, name="s") for step_type in StepType
    ]
    events += [LogCreate(level=level, logger="l", message="m", service="s") for level in LogLevel]
    events += [MeasurementCreate(name="m", value=1.0, kind=kind) for kind in MeasurementKind]
    events += [
        SpanCreate(
            trace_id=f"{n:032x}",
            span_id=f"{n:016x}",
            name="s",
            service="svc",
            kind=kind,
            status=status,
            start_time=started,
            end_time=started,
        )
        for n, (kind, status) in enumerate(itertools.product(SpanKind, SpanStatus), start=1)
    ]
    result = store.write_batch(events)
    assert result.total == len(events)
    for workflow_status in WorkflowStatus:
        created = store.create_workflow(
            WorkflowCreate(correlation_id="c", workflow_type="t", phase="p", status=workflow_status)
        )
        assert created.status is workflow_status
    for alert_status in AlertStatus:
        (alert,) = store.upsert_alerts(
            [
                AlertCreate(
                    fingerprint="f" * 16,
                    status=alert_status,
                    starts_at=started,
                    labels={"alertname": "A"},
                )
            ]
        )
        assert alert.status is alert_status
