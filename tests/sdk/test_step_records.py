"""Steps as ``StepRecord``s: the writer's checks stand for the model's, rule by rule.

A sink that takes records (the store's, the HTTP one) gets a checked tuple per step instead of
a ``StepEvent``; a step failing one of the checks takes the model's path, so that it is
dropped with the rule it broke, or repaired as the model repairs it, exactly as before.
"""

from __future__ import annotations

import gc
import time
from uuid import UUID

import orjson
import pytest

from tests.sdk.conftest import RecorderFactory, ScriptedSink
from vigil.models import (
    MAX_ARTIFACTS_PER_STEP,
    LogCreate,
    Run,
    StepEvent,
    StepRecord,
    StepType,
    new_id,
)
from vigil.sdk import StoreSink
from vigil.sdk._events import (
    LATER,
    LOG,
    STEP,
    QueuedEvent,
    build_batch,
    dump_batch,
    load_batch,
    step_item,
)
from vigil.storage import EventStore

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
RUN = new_id()


def step(name: str = "search", data: object = None, **fields: object) -> QueuedEvent:
    data_json = None if data is None else orjson.dumps(data)
    item = (
        STEP, RUN.int, "tool_call", name, data_json,
        fields.get("request_id"), fields.get("trace_id"), 1_700_000_000.25,
    )  # fmt: skip
    return (*item, fields["linked"]) if "linked" in fields else item


def log(message: str) -> QueuedEvent:
    return (LOG, "info", "agent", message, None, None, None, None, None, None, None, 1.0)


def test_checked_steps_become_records_in_order_with_the_other_events() -> None:
    items = [step("a", {"k": 1}, request_id="req-1", trace_id=TRACE), log("between"), step("b")]
    events, errors = build_batch(items, "svc", records=True)
    assert errors == []
    assert [type(event) for event in events] == [StepRecord, LogCreate, StepRecord]
    first = events[0]
    assert isinstance(first, StepRecord)
    assert (first.name, first.data_json, first.request_id, first.trace_id) == (
        "a", '{"k":1}', "req-1", TRACE,
    )  # fmt: skip
    assert events[2] == StepRecord(RUN, StepType.TOOL_CALL, "b", "{}", None, None, first.created_at)


def test_without_records_every_step_is_a_model() -> None:
    events, errors = build_batch([step("a", {"k": 1}), step("b")], "svc")
    assert errors == []
    assert [type(event) for event in events] == [StepEvent, StepEvent]


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"name": "nul\x00name"}, "name"),
        ({"request_id": "has space"}, "request_id"),
        ({"request_id": "line\n"}, "request_id"),  # Python's "$" would accept it
        ({"trace_id": TRACE.upper()}, "trace_id"),
        ({"trace_id": TRACE + "\n"}, "trace_id"),
        ({"linked": [new_id() for _ in range(MAX_ARTIFACTS_PER_STEP + 1)]}, "artifact_ids"),
    ],
)
def test_a_step_failing_a_check_is_dropped_with_the_models_reason(
    fields: dict[str, object], rule: str
) -> None:
    name = fields.pop("name", "search")
    assert isinstance(name, str)
    events, errors = build_batch([step("ok-1"), step(name, **fields), step("ok-2")], "svc",
                                 records=True)  # fmt: skip
    assert [event.name for event in events] == ["ok-1", "ok-2"]
    assert len(errors) == 1
    assert rule in errors[0]


def test_a_nul_in_the_data_is_repaired_by_the_model() -> None:
    events, errors = build_batch([step("a", {"text": "x\x00y"})], "svc", records=True)
    assert errors == []
    (event,) = events
    assert isinstance(event, StepEvent)
    assert event.data == {"text": "x\ufffdy"}


def test_deeply_nested_data_is_left_to_the_models_parser() -> None:
    """Data nested deeper than the model's JSON parser reads is refused as the model refuses
    it, alone; a record of it would be stored (or, through HttpSink, fail the batch it is
    sent in at the controller). Many objects side by side are kept, by the model's path."""
    deep: dict[str, object] = {}
    for _ in range(210):
        deep = {"a": deep}
    wide = {f"k{i}": {"v": i} for i in range(130)}
    events, errors = build_batch([step("deep", deep), step("wide", wide), step("ok")], "svc",
                                 records=True)  # fmt: skip
    assert [(type(e).__name__, e.name) for e in events] == [
        ("StepEvent", "wide"), ("StepRecord", "ok"),
    ]  # fmt: skip
    assert len(errors) == 1
    assert "recursion limit" in errors[0]
    assert load_batch(dump_batch(events)) == build_batch([step("wide", wide), step("ok")], "svc")[0]


def test_a_later_item_mixes_records_and_models_in_order() -> None:
    built = [step("a"), step("b", {"text": "\x00"}), step("c")]
    events, errors = build_batch([(LATER, lambda: built, 3), step("d")], "svc", records=True)
    assert errors == []
    assert [(type(e).__name__, e.name) for e in events] == [
        ("StepRecord", "a"), ("StepEvent", "b"), ("StepRecord", "c"), ("StepRecord", "d"),
    ]  # fmt: skip


def test_records_are_dumped_as_the_events_they_stand_for() -> None:
    """The spool and the HTTP sink write records as StepEvents: what comes back (a replay,
    the controller) is the model the record stands for."""
    items = [
        step("a", {"k": [1, "two"]}, request_id="req-1", trace_id=TRACE, linked=[new_id()]),
        log("between"),
        step("b"),
    ]
    records, _ = build_batch(items, "svc", records=True)
    models, _ = build_batch(items, "svc")
    assert load_batch(dump_batch(records)) == models


def test_a_sink_that_takes_no_records_gets_models(
    scripted_sink: ScriptedSink, make_recorder: RecorderFactory
) -> None:
    assert not ScriptedSink.takes_records
    recorder = make_recorder(scripted_sink)
    recorder.log_step(RUN, "thought", "a", {"k": 1})
    assert recorder.flush(timeout=5.0)
    assert [type(event) for event in scripted_sink.written] == [StepEvent]


def test_records_and_repaired_steps_are_stored_alike(
    store: EventStore, run: Run, make_recorder: RecorderFactory
) -> None:
    """On both backends: a record and a step the model repaired, in one batch, read back in
    the order they were logged, with what was logged."""
    recorder = make_recorder(StoreSink(store))
    artifact: list[UUID] = []
    before = time.time()
    recorder.log_step(run.id, "tool_call", "a", {"q": "é", "n": 2**53}, request_id="req-1",
                      trace_id=TRACE)  # fmt: skip
    recorder.log_step(run.id, "thought", "b", {"text": "x\x00y"})
    recorder.log_step(run.id, "message", "c", artifacts=artifact)
    assert recorder.flush(timeout=5.0)
    steps = store.list_steps(run.id)
    assert [(s.seq, s.name, s.step_type, s.data) for s in steps] == [
        (1, "a", StepType.TOOL_CALL, {"q": "é", "n": 2**53}),
        (2, "b", StepType.THOUGHT, {"text": "x\ufffdy"}),
        (3, "c", StepType.MESSAGE, {}),
    ]
    assert (steps[0].request_id, steps[0].trace_id) == ("req-1", TRACE)
    assert all(before - 1 <= s.created_at.timestamp() <= time.time() for s in steps)


def test_a_queued_step_holds_nothing_the_cyclic_gc_tracks(
    scripted_sink: ScriptedSink, make_recorder: RecorderFactory
) -> None:
    """Steps wait in the queue by the thousand: once a collection has seen them, the GC no
    longer walks them (a tuple of untracked values is untracked), nor promotes them."""
    scripted_sink.gate.clear()  # the writer stalls on its first batch: the rest stays queued
    recorder = make_recorder(scripted_sink, flush_interval=0.001)
    recorder.log_step(RUN, "thought", "first")
    assert scripted_sink.entered.wait(5.0)
    recorder.log_step(RUN, StepType.TOOL_CALL, "search", {"q": "x"}, request_id="r-1")
    queued = list(recorder._queue._items)  # white-box: the queue's own items
    built = step_item(RUN, StepType.THOUGHT, "later", {"k": [1]}, None, TRACE, 1.0)
    gc.collect()
    assert [gc.is_tracked(item) for item in [*queued, built]] == [False, False]
    scripted_sink.gate.set()


@pytest.mark.parametrize(
    ("built", "rule"),
    [
        ((STEP, RUN.int, "thought", "n", b"[1,2]", None, None, 1.0), "data"),  # not an object
        ((STEP, RUN.int, "thought", "n", b'"text"', None, None, 1.0), "data"),
        ((STEP, RUN.int, "thought", "", None, None, None, 1.0), "name"),
        ((STEP, RUN.int, "thought", "x" * 201, None, None, None, 1.0), "name"),
        ((STEP, RUN.int, "thought", "a\ud800b", None, None, None, 1.0), "surrogates"),
    ],
)
def test_what_a_build_returns_unchecked_takes_the_models_path(
    built: QueuedEvent, rule: str
) -> None:
    """``record_later`` builds make steps without a producer call's checks: a step the model
    refuses is dropped alone, with its rule, not stored (a list as data made the run's steps
    unreadable) nor left to fail the database (a lone surrogate)."""
    events, errors = build_batch([(LATER, lambda: [built], 1), step("ok")], "svc", records=True)
    assert [event.name for event in events] == ["ok"]
    assert len(errors) == 1
    assert rule in errors[0]


def test_a_build_may_return_steps_of_a_run_named_by_text() -> None:
    as_text = step_item(str(RUN), "thought", "n", {}, None, None, 1.0)  # type: ignore[arg-type]
    (event,), errors = build_batch([as_text], "svc", records=True)
    assert errors == []
    assert event.run_id == RUN


def test_a_record_has_every_field() -> None:
    """Records are built with tuple.__new__, which counts nothing: a field added to
    StepRecord must be filled by step_record too."""
    for item in (step("a"), step("b", linked=[new_id()])):
        (record,), _ = build_batch([item], "svc", records=True)
        assert isinstance(record, StepRecord)
        assert len(record) == len(StepRecord._fields)
