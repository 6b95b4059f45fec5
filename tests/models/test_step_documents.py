"""``step_record_of``: the ``/events/batch`` fast path may only take what the ``StepEvent``
model takes, into the very row the model's step is stored as; anything else is left to the
model (None)."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

import hypothesis
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from vigil.models import BatchEvent, StepEvent, StepRecord
from vigil.models._step_documents import step_record_of
from vigil.storage._rows import datetime_formatter, epoch_formatter, step_rows

EVENT: TypeAdapter[Any] = TypeAdapter(BatchEvent)
RUN = "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b"
NOW = 1_764_619_200.5  # 2025-12-01T20:00:00.5Z

_timestamp_text = datetime_formatter("+00:00")
_epoch_text = epoch_formatter("+00:00")


def _row(step: StepEvent | StepRecord) -> tuple[Any, ...]:
    now = datetime.fromtimestamp(NOW, UTC)
    (row,) = step_rows(step.run_id, [step], [1], 1, now, _timestamp_text, _epoch_text)
    return (*row, tuple(step.artifact_ids))


def _model(document: dict[str, Any]) -> StepEvent | None:
    try:
        event = EVENT.validate_python(document)
    except ValidationError:
        return None
    assert isinstance(event, StepEvent)
    return event


def step(**fields: Any) -> dict[str, Any]:
    return {"event": "step", "run_id": RUN, "step_type": "thought", "name": "plan", **fields}


def check_agrees(document: dict[str, Any]) -> StepRecord | None:
    """The record, if taken: then the model takes the document too, into the same row."""
    record = step_record_of(document, {})
    if record is not None:
        model = _model(document)
        assert model is not None, f"taken by the fast path, refused by the model: {document!r}"
        assert _row(record) == _row(model)  # a step without a time: the store's, in both
    return record


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
texts = st.text(max_size=12) | st.sampled_from(["", "\x00", "a\x00", "\ud800", "é", "x" * 201])
MISSHAPEN_RUNS = [
    " " + RUN[1:], RUN[:-1] + "\n", "+" + RUN[1:], "0x" + RUN[2:], RUN[:1] + "_" + RUN[2:],
    "\u0661" + RUN[1:], "\uff11" + RUN[1:], RUN[:35] + " ",
]  # fmt: skip
"""36 characters with hyphens in place, which ``int()`` (so ``UUID()``) would take."""
ids = st.sampled_from(
    [RUN, RUN.upper(), RUN.replace("-", ""), "{" + RUN + "}", "urn:uuid:" + RUN, "nope", 7, None,
     *MISSHAPEN_RUNS]
)  # fmt: skip
times = st.sampled_from(
    [
        None, "2026-12-01T20:15:00.5Z", "2026-12-01T20:15:00.000001+00:00", 0,
        "2026-12-01T20:15:00Z", "2026-12-01T20:15:00.123456Z",
        "2026-12-01T20:15:00.1+00:00",
        "2026-12-01T20:15:00.1234567Z", "2026-12-01t20:15:00z", "2026-12-01 20:15:00Z",
        "2026-12-01T20:15:00+01:00", "2026-02-30T00:00:00Z", "2105-12-31T23:59:59.999999Z",
        "2106-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2026-12-01",
        "2026-12-01T20:15:00.Z", "2026-12-01T20:15:00.\u0661\u0662Z",
        "2026-12-01T20:15:00.12+00:00x",
    ]
)  # fmt: skip


def mostly(valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values three times in four: most documents are then taken, and checked."""
    return st.one_of(valid, valid, valid, other)


fields = st.fixed_dictionaries(
    {
        "event": mostly(st.just("step"), st.sampled_from(["log", None])),
        "run_id": mostly(st.just(RUN), ids),
        "step_type": mostly(
            st.sampled_from(["thought", "tool_call"]), st.sampled_from(["THOUGHT", "nope", 3])
        ),
        "name": mostly(st.text(min_size=1, max_size=12), texts),
    },
    optional={
        "data": mostly(st.dictionaries(st.text(max_size=5), json_values, max_size=4), json_values),
        "request_id": mostly(
            st.sampled_from([None, "req-1"]), st.sampled_from(["bad id", "a\n", 5])
        ),
        "trace_id": mostly(
            st.sampled_from([None, "0af7651916cd43dd8448eb211c80319c"]),
            st.sampled_from(["0AF7", "x" * 32]),
        ),
        "created_at": times,
        "artifact_ids": mostly(
            st.sampled_from([[], [RUN], [RUN.upper(), RUN]]),
            st.sampled_from([None, ["nope"], "", [1], ["0x" + RUN[2:]]]),
        ),
    },
).flatmap(
    lambda document: st.one_of(
        st.just(document), st.just(document), st.just(document), st.just({**document, "extra": 1})
    )
)


@settings(max_examples=600, deadline=None)
@given(fields)
@example(step(data={"x": math.nan}))
@example(step(data={"x": [1.0, math.inf]}))
@example(step(data={"x": 2**64}))
@example(step(data={"x": "a\x00"}))
@example(step(data={"x": "\udbb8"}))
@example(step(created_at="2105-12-31T23:59:59.999999Z"))
def test_what_the_fast_path_takes_the_model_takes_into_the_same_row(
    document: dict[str, Any],
) -> None:
    taken = check_agrees(document) is not None
    hypothesis.event("taken by the fast path" if taken else "left to the model")


plain_text = st.text(
    st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=8
)
plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(plain_text, children, max_size=3)
    ),
    max_leaves=8,
)
plain_steps = st.fixed_dictionaries(
    {
        "event": st.just("step"),
        "run_id": st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper()),
        "step_type": st.sampled_from(["message", "thought", "tool_call", "graph_node"]),
        "name": st.text(
            st.characters(exclude_characters="\x00", exclude_categories=["Cs"]),
            min_size=1,
            max_size=200,
        ),
    },
    optional={
        "data": st.dictionaries(plain_text, plain_values, max_size=4),
        "request_id": st.none() | st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
        "trace_id": st.none() | st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
        "created_at": st.none()
        | st.datetimes(
            min_value=datetime(1970, 1, 1), max_value=datetime(2105, 12, 31, 23, 59, 59)
        ).map(lambda at: at.isoformat() + st_suffix(at)),
        "artifact_ids": st.lists(st.uuids().map(str), max_size=3),
    },
)


def st_suffix(at: datetime) -> str:
    return "Z" if at.microsecond % 2 else "+00:00"


@settings(max_examples=300, deadline=None)
@given(plain_steps)
def test_plain_steps_are_taken_into_the_models_row(document: dict[str, Any]) -> None:
    assert check_agrees(document) is not None, repr(document)


@pytest.mark.parametrize(
    "document",
    [
        step(),
        step(data={"query": "refund policy", "n": 3, "ok": True, "none": None, "f": 1.5}),
        step(run_id=RUN.upper(), name="é" * 200, request_id="req-1", artifact_ids=[]),
        step(trace_id="0af7651916cd43dd8448eb211c80319c", created_at="2026-12-01T20:15:00Z"),
        step(created_at="2026-12-01T20:15:00.123456+00:00", artifact_ids=[RUN, RUN]),
        step(created_at=None, request_id=None, trace_id=None),
        step(created_at="1970-01-01T00:00:00.000001Z"),
    ],
)
def test_plain_steps_take_the_fast_path(document: dict[str, Any]) -> None:
    assert check_agrees(document) is not None


@pytest.mark.parametrize(
    "document",
    [
        {k: v for k, v in step().items() if k != "event"},  # kind inferred: the model's
        step(extra=1),
        step(run_id="{" + RUN + "}"),
        *(step(run_id=run) for run in MISSHAPEN_RUNS),
        *(step(artifact_ids=[run]) for run in MISSHAPEN_RUNS),
        step(step_type="THOUGHT"),
        step(name=""),
        step(name="a\x00"),
        step(name="\ud800"),
        step(data=None),
        step(data=[1]),
        step(data={"x": math.nan}),
        step(data={"x": "a\x00"}),  # repaired by the model, not here
        step(data={"x": 2**64}),
        step(data={"x": "y" * 70_000}),
        step(request_id="bad id"),
        step(trace_id="0AF7651916CD43DD8448EB211C80319C"),
        step(created_at="2026-12-01T20:15:00+01:00"),
        step(created_at="2106-01-01T00:00:00Z"),
        step(created_at="2026-12-01T20:15:00.1234567Z"),
        step(created_at="2026-02-30T00:00:00Z"),
        step(created_at=1_764_619_200),
        step(artifact_ids=None),
        step(artifact_ids=[str(uuid.uuid4()) for _ in range(101)]),
    ],
)
def test_anything_else_is_left_to_the_model(document: dict[str, Any]) -> None:
    assert step_record_of(document, {}) is None


def test_a_batch_shares_its_run_ids() -> None:
    known: dict[str, uuid.UUID] = {}
    first = step_record_of(step(), known)
    second = step_record_of(step(name="act"), known)
    assert first is not None
    assert second is not None
    assert first.run_id is second.run_id == uuid.UUID(RUN)
