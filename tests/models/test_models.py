"""The models accept what the API should accept, and nothing else."""

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

import vigil.models
from vigil.models import (
    MAX_LABELS,
    MAX_NAME_LENGTH,
    MAX_STEP_DATA_BYTES,
    TERMINAL_RUN_STATUSES,
    AlertCreate,
    BatchEvent,
    LogCreate,
    MeasurementCreate,
    RunCreate,
    RunFinish,
    RunStatus,
    SpanCreate,
    StepCreate,
    StepEvent,
    WorkflowTransitionCreate,
    _ids,
    id_timestamp,
    new_id,
    new_ids,
)


def test_exported_names_are_pinned() -> None:
    """Changing what ``vigil.models`` offers must be deliberate."""
    assert sorted(vigil.models.__all__) == [
        "Alert",
        "AlertAcknowledge",
        "AlertCreate",
        "AlertStatus",
        "ApiKey",
        "ApiKeyCreate",
        "ApiKeyCreated",
        "ArtifactCreate",
        "ArtifactLink",
        "ArtifactRecord",
        "ArtifactUploadRequest",
        "ArtifactUploadTicket",
        "BatchEvent",
        "BatchItem",
        "BatchWriteResult",
        "DEFAULT_PAGE_SIZE",
        "DEFAULT_SEVERITY",
        "JsonObject",
        "KEY_ID_PATTERN",
        "LOG_LEVEL_ORDER",
        "LogCreate",
        "LogEntry",
        "LogLevel",
        "LogRecord",
        "MAX_ANNOTATION_VALUE_LENGTH",
        "MAX_ARTIFACTS_PER_STEP",
        "MAX_BATCH_EVENTS",
        "MAX_IDENTIFIER_LENGTH",
        "MAX_LABELS",
        "MAX_LABEL_VALUE_LENGTH",
        "MAX_LOG_MESSAGE_LENGTH",
        "MAX_METADATA_BYTES",
        "MAX_NAME_LENGTH",
        "MAX_PAGE_SIZE",
        "MAX_REASON_LENGTH",
        "MAX_STEPS_PER_APPEND",
        "MAX_STEP_DATA_BYTES",
        "MAX_TRACE_DEPTH",
        "MAX_TRACE_SPANS",
        "MAX_URI_LENGTH",
        "MeasurementCreate",
        "MeasurementKind",
        "MeasurementPoint",
        "PERCENTILES",
        "Page",
        "Run",
        "RunCreate",
        "RunFinish",
        "RunFinishEvent",
        "RunStartEvent",
        "RunStatus",
        "RunTrace",
        "Scope",
        "Span",
        "SpanCreate",
        "SpanKind",
        "SpanNode",
        "SpanRecord",
        "SpanStatus",
        "Step",
        "StepCreate",
        "StepEvent",
        "StepRecord",
        "StepType",
        "StrictModel",
        "TERMINAL_RUN_STATUSES",
        "TERMINAL_WORKFLOW_STATUSES",
        "TraceTree",
        "UtcDatetime",
        "Workflow",
        "WorkflowCreate",
        "WorkflowStatus",
        "WorkflowTransition",
        "WorkflowTransitionCreate",
        "id_timestamp",
        "levels_at_least",
        "new_id",
        "new_ids",
        "span_forest",
        "utc_now",
    ]
    for name in vigil.models.__all__:
        assert getattr(vigil.models, name) is not None


def test_ids_are_uuid7_and_strictly_increasing() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {7}
    assert {i.variant for i in ids} == {uuid.RFC_4122}
    assert abs(id_timestamp(ids[-1]) - datetime.now(UTC)) < timedelta(seconds=5)


def test_bulk_ids_continue_the_sequence() -> None:
    before = new_id()
    bulk = new_ids(5_000)
    after = new_id()
    assert [before, *bulk, after] == sorted([before, *bulk, after])
    assert len(set(bulk)) == 5_000
    assert {i.version for i in bulk} == {7}


@pytest.mark.parametrize("low_bits_left", [0, 1, 999, 1_000, 1_001])
def test_bulk_ids_across_a_carry_of_the_low_bits(
    monkeypatch: pytest.MonkeyPatch, low_bits_left: int
) -> None:
    """A batch whose counter carries out of rand_b's 62 bits takes the id-by-id path; every
    other batch is a range of consecutive integers. Both give valid, increasing ids."""
    future_ms = time.time_ns() // 1_000_000 + 60_000  # the same millisecond for the whole test
    tail = (0b101 << 62) | ((1 << 62) - 1 - low_bits_left)
    monkeypatch.setattr(_ids, "_last_ms", future_ms)
    monkeypatch.setattr(_ids, "_last_tail", tail - 1)
    bulk = new_ids(1_000)
    assert bulk == sorted(bulk)
    assert len(set(bulk)) == 1_000
    assert {i.version for i in bulk} == {7}
    assert {i.variant for i in bulk} == {uuid.RFC_4122}
    assert {i.int >> 80 for i in bulk} == {future_ms}
    assert bulk[0].int & ((1 << 62) - 1) == (1 << 62) - 1 - low_bits_left


def test_ids_from_threads_are_unique() -> None:
    results: list[list[uuid.UUID]] = [[] for _ in range(4)]

    def generate(slot: int) -> None:
        results[slot].extend(new_id() for _ in range(5_000))

    threads = [threading.Thread(target=generate, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for chunk in results for i in chunk]
    assert len(set(everything)) == len(everything)
    for chunk in results:
        assert chunk == sorted(chunk)


def test_strict_types() -> None:
    """No coercion of numbers or booleans; unknown fields are rejected."""
    with pytest.raises(ValidationError):
        MeasurementCreate.model_validate({"name": "m", "value": "1.5", "kind": "gauge"})
    with pytest.raises(ValidationError, match="extra"):
        RunCreate.model_validate({"name": "r", "agent": "a", "project_id": "p", "x": 1})
    with pytest.raises(ValidationError):
        RunCreate.model_validate({"name": "r", "agent": "a", "project_id": 5})


def test_json_string_forms_are_accepted() -> None:
    """What FastAPI hands over after parsing JSON: timestamps, UUIDs and enums as strings."""
    step = StepEvent.model_validate(
        {
            "run_id": "01900000-0000-7000-8000-000000000001",
            "step_type": "tool_call",
            "name": "search",
            "created_at": "2024-06-01T14:00:00+02:00",
        }
    )
    assert step.created_at == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert step.created_at is not None
    assert step.created_at.tzinfo is UTC


@pytest.mark.parametrize("value", [0, 1.5, "0.5", "1700000000", "2024-06-01", "2024-06-01T12:00"])
def test_timestamps_are_rfc3339_text_or_datetimes(value: object) -> None:
    """Numbers and partial dates are refused, as the schema's date-time format says."""
    with pytest.raises(ValidationError):
        StepCreate.model_validate({"step_type": "thought", "name": "t", "created_at": value})


@pytest.mark.parametrize(
    ("value", "clamped"),
    [
        ("0001-01-01T00:00:00+00:01", datetime.min.replace(tzinfo=UTC)),
        ("0001-01-01T05:00:00+23:59", datetime.min.replace(tzinfo=UTC)),
        ("9999-12-31T23:59:59-00:01", datetime.max.replace(tzinfo=UTC)),
    ],
)
def test_timestamps_outside_the_utc_range_are_clamped_to_its_ends(
    value: str, clamped: datetime
) -> None:
    """Valid RFC 3339 (what the schema promises), but year 0 or 10000 in UTC: accepted, as
    the nearest instant a datetime holds (the contract fuzzer's positive-data check found
    the 422 that these got before; a 500 before that)."""
    step = StepCreate.model_validate({"step_type": "thought", "name": "t", "created_at": value})
    assert step.created_at == clamped
    assert StepCreate.model_validate(
        {"step_type": "thought", "name": "t", "created_at": "0001-01-01T00:00:00Z"}
    ).created_at == datetime.min.replace(tzinfo=UTC)  # the end itself, unchanged


def test_rfc3339_variants_are_accepted() -> None:
    variants = ["2024-06-01T12:00:00Z", "2024-06-01t12:00:00.123456789z"]
    variants.append("2024-06-01 14:00:00+02:00")
    for text in variants:
        step = StepCreate.model_validate({"step_type": "thought", "name": "t", "created_at": text})
        assert step.created_at is not None
        assert step.created_at.replace(microsecond=0) == datetime(2024, 6, 1, 12, tzinfo=UTC)


def test_lone_surrogates_are_refused() -> None:
    """Valid JSON, but not storable text: refused with a validation error, not a crash."""
    with pytest.raises(ValidationError, match="unicode"):
        RunCreate(name="bad \udbb8", agent="a", project_id="p")
    with pytest.raises(ValidationError, match="lone surrogate"):
        RunCreate(name="r", agent="a", project_id="p", metadata={"k": "\udbb8"})
    with pytest.raises(ValidationError, match="lone surrogate"):
        RunCreate(name="r", agent="a", project_id="p", metadata={"\udbb8": 1})
    assert RunCreate(name="ok \U0001f600 é", agent="a", project_id="p").name.endswith("é")


def test_integers_beyond_64_bits_are_accepted() -> None:
    run = RunCreate(name="r", agent="a", project_id="p", metadata={"big": 2**100, "neg": -(2**80)})
    assert run.metadata["big"] == 2**100


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValidationError):
        StepCreate(step_type="thought", name="t", created_at=datetime(2024, 1, 1))  # type: ignore[arg-type]
    aware = StepCreate.model_validate(
        {
            "step_type": "thought",
            "name": "t",
            "created_at": datetime(2024, 1, 1, 5, tzinfo=timezone(timedelta(hours=5))),
        }
    )
    assert aware.created_at == datetime(2024, 1, 1, tzinfo=UTC)


def test_size_limits() -> None:
    with pytest.raises(ValidationError):
        RunCreate(name="x" * (MAX_NAME_LENGTH + 1), agent="a", project_id="p")
    RunCreate(name="x" * MAX_NAME_LENGTH, agent="a", project_id="p")
    big = {"blob": "x" * MAX_STEP_DATA_BYTES}
    with pytest.raises(ValidationError, match="exceeds the limit"):
        StepCreate.model_validate({"step_type": "thought", "name": "t", "data": big})
    labels = {f"l{n}": "v" for n in range(MAX_LABELS + 1)}
    with pytest.raises(ValidationError):
        MeasurementCreate.model_validate(
            {"name": "m", "value": 1.0, "kind": "gauge", "labels": labels}
        )


@pytest.mark.parametrize("project_id", ["", "has space", "semi;colon", "x" * 129, "new\nline"])
def test_identifiers_are_restricted(project_id: str) -> None:
    with pytest.raises(ValidationError):
        RunCreate(name="r", agent="a", project_id=project_id)


def test_run_can_only_finish_in_a_terminal_status() -> None:
    with pytest.raises(ValidationError, match="only finish"):
        RunFinish.model_validate({"status": "running"})
    assert RunFinish.model_validate({"status": "cancelled"}).status is RunStatus.CANCELLED


def test_transition_must_change_something() -> None:
    with pytest.raises(ValidationError, match="phase, a status, or both"):
        WorkflowTransitionCreate()


def test_non_finite_values_are_rejected() -> None:
    with pytest.raises(ValidationError):
        MeasurementCreate(name="m", value=float("nan"), kind="gauge")  # type: ignore[arg-type]


def test_spans_keep_the_times_they_were_sent_with() -> None:
    """Clock skew between services can put an end before a start: stored, not refused."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    span = SpanCreate(
        trace_id="0" * 32,
        span_id="0" * 16,
        name="s",
        service="svc",
        start_time=start,
        end_time=start - timedelta(milliseconds=3),
    )
    assert span.end_time < span.start_time


def test_json_schemas_state_the_cross_field_rules() -> None:
    """A request valid against the OpenAPI schema is never refused (schemathesis checks it):
    the rules the validators add are written into the schemas too."""
    finish = RunFinish.model_json_schema()["properties"]["status"]
    assert set(finish["enum"]) == {s.value for s in TERMINAL_RUN_STATUSES - {RunStatus.ABANDONED}}
    transition = WorkflowTransitionCreate.model_json_schema()
    assert [option["required"] for option in transition["anyOf"]] == [["phase"], ["status"]]
    alert_labels = AlertCreate.model_json_schema()["properties"]["labels"]
    assert alert_labels["required"] == ["alertname"]
    assert alert_labels["properties"]["alertname"]["maxLength"] == MAX_NAME_LENGTH
    for labels in (alert_labels, MeasurementCreate.model_json_schema()["properties"]["labels"]):
        assert labels["additionalProperties"] is False
    with pytest.raises(ValidationError):
        MeasurementCreate.model_validate(
            {"name": "m", "value": 1.0, "kind": "gauge", "labels": {"not-a-label": "x"}}
        )


def test_alertmanager_webhook_item_validates_as_sent() -> None:
    alert = AlertCreate.model_validate(
        {
            "status": "firing",
            "labels": {"alertname": "HighLatency", "service": "api"},
            "annotations": {"summary": "p99 above 1s"},
            "startsAt": "2024-06-01T12:00:00.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "c7b1ab1b1ab1ab1b",
        }
    )
    assert alert.ends_at is None
    assert (alert.alertname, alert.severity) == ("HighLatency", "none")
    with pytest.raises(ValidationError, match="alertname"):
        AlertCreate.model_validate(
            {"status": "firing", "labels": {}, "startsAt": "2024-06-01T12:00:00Z",
             "fingerprint": "ab"}
        )  # fmt: skip


def test_batch_events_are_told_apart_by_their_event_field() -> None:
    adapter = TypeAdapter(list[BatchEvent])
    events = adapter.validate_json(
        b'[{"event": "log", "level": "info", "logger": "l", "message": "m", "service": "s"},'
        b' {"event": "measurement", "name": "m", "value": 1, "kind": "counter"},'
        b' {"event": "step", "run_id": "01900000-0000-7000-8000-000000000001",'
        b'  "step_type": "thought", "name": "t"}]'
    )
    assert [type(e) for e in events] == [LogCreate, MeasurementCreate, StepEvent]


def test_batch_events_without_their_event_field_are_told_apart_by_shape() -> None:
    """``event`` has a default, so the schema cannot require it: a client may leave it out."""
    adapter = TypeAdapter(list[BatchEvent])
    events = adapter.validate_python(
        [
            {"level": "info", "logger": "l", "message": "m", "service": "s", "span_id": "0" * 16},
            {"name": "m", "value": 1.0, "kind": "gauge"},
            {"run_id": str(new_id()), "step_type": "thought", "name": "t"},
            {
                "trace_id": "0" * 32,
                "span_id": "0" * 16,
                "name": "s",
                "service": "svc",
                "start_time": "2024-01-01T00:00:00Z",
                "end_time": "2024-01-01T00:00:01Z",
            },
        ]
    )
    assert [type(e) for e in events] == [LogCreate, MeasurementCreate, StepEvent, SpanCreate]
    with pytest.raises(ValidationError):
        adapter.validate_python([{"event": None, "name": "m", "value": 1.0, "kind": "gauge"}])
