"""Log records as ``LogEntry``s: the writer's checks stand for ``LogCreate``'s, rule by rule.

A sink that takes records gets a checked tuple per log record instead of a model (the
controller stores every request's access record this way); a record failing one of the
checks takes the model's path, so that it is dropped with the rule it broke, or repaired as
the model repairs it, exactly as before.
"""

from __future__ import annotations

import time
from uuid import UUID

import orjson
import pytest

from tests.sdk.conftest import RecorderFactory
from vigil.models import LogCreate, LogEntry, LogLevel, Run, new_id
from vigil.sdk import StoreSink
from vigil.sdk._events import LOG, QueuedEvent, build_batch, dump_batch, encode_log, load_batch
from vigil.storage import EventStore

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
RUN = new_id()


def log(message: str = "hello", **fields: object) -> QueuedEvent:
    return (
        LOG, fields.get("level", LogLevel.INFO), fields.get("logger", "agent"), message,
        fields.get("run_id"), fields.get("step_id"), fields.get("request_id"),
        fields.get("trace_id"), fields.get("span_id"), fields.get("attributes"),
        fields.get("project_id"), fields.get("timestamp", 1_700_000_000.25),
    )  # fmt: skip


def test_checked_records_become_entries_redacted_and_bounded() -> None:
    items = [
        log("GET /x 200 password=hunter2", run_id=RUN, request_id="req-1", trace_id=TRACE,
            span_id=SPAN, project_id="p1",
            attributes={"client": "127.0.0.1:5555", "api_key": "sk-1", "n": 3}),
        log("plain"),
    ]  # fmt: skip
    events, errors = build_batch(items, "svc", records=True)
    assert errors == []
    assert [type(event) for event in events] == [LogEntry, LogEntry]
    first = events[0]
    assert isinstance(first, LogEntry)
    assert "hunter2" not in first.message
    assert orjson.loads(first.attributes_json) == {
        "client": "127.0.0.1:5555", "api_key": "[REDACTED]", "n": 3,
    }  # fmt: skip
    assert (first.run_id, first.request_id, first.trace_id, first.span_id, first.project_id) == (
        RUN, "req-1", TRACE, SPAN, "p1",
    )  # fmt: skip
    assert events[1] == LogEntry(
        LogLevel.INFO, "agent", "plain", "svc", None, None, None, None, None, "{}", None,
        1_700_000_000.25,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"logger": "nul\x00name"}, "logger"),
        ({"logger": ""}, "logger"),
        ({"request_id": "has space"}, "request_id"),
        ({"project_id": "line\n"}, "project_id"),  # Python's "$" would accept it
        ({"trace_id": TRACE.upper()}, "trace_id"),
        ({"span_id": SPAN + "0"}, "span_id"),
    ],
)
def test_a_record_failing_a_check_is_dropped_with_the_models_reason(
    fields: dict[str, object], rule: str
) -> None:
    events, errors = build_batch([log("ok-1"), log("bad", **fields), log("ok-2")], "svc",
                                 records=True)  # fmt: skip
    assert [event.message for event in events] == ["ok-1", "ok-2"]
    assert all(type(event) is LogEntry for event in events)
    assert len(errors) == 1
    assert rule in errors[0]


def test_a_lone_surrogate_costs_its_record_alone() -> None:
    events, errors = build_batch([log("a\ud800b"), log("ok")], "svc", records=True)
    assert [event.message for event in events] == ["ok"]
    assert len(errors) == 1


def test_nul_is_replaced_as_the_model_replaces_it() -> None:
    """In the message, by the entry itself; in the attributes, by the model (its path)."""
    events, errors = build_batch(
        [log("x\x00y"), log("attrs", attributes={"text": "a\x00b"})], "svc", records=True
    )
    assert errors == []
    entry, model = events
    assert isinstance(entry, LogEntry)
    assert entry.message == "x\ufffdy"
    assert isinstance(model, LogCreate)
    assert model.attributes == {"text": "a\ufffdb"}


def test_entries_are_dumped_as_the_models_they_stand_for() -> None:
    """The spool and the HTTP sink write entries as LogCreate documents: what comes back (a
    replay, the controller) is the model the entry stands for."""
    items = [
        log("one", run_id=RUN, step_id=new_id(), request_id="r", trace_id=TRACE, span_id=SPAN,
            attributes={"k": [1, "two"], "token": "t"}, project_id="p"),
        log("two", level=LogLevel.ERROR),
    ]  # fmt: skip
    entries, _ = build_batch(items, "svc", records=True)
    models, _ = build_batch(items, "svc")
    assert [type(event) for event in entries] == [LogEntry, LogEntry]
    assert load_batch(dump_batch(entries)) == models


def test_entries_and_models_are_stored_alike(store: EventStore, run: Run) -> None:
    """On both backends: the same records, as entries and as models, read back the same."""
    items = [
        log("access GET /x 200", run_id=run.id, request_id="req-1", trace_id=TRACE,
            span_id=SPAN, attributes={"status": 200, "client": "127.0.0.1:1", "n": 2**53},
            project_id="p1", timestamp=1_700_000_000.123456),
        log("later", level=LogLevel.WARNING, run_id=run.id, timestamp=time.time()),
    ]  # fmt: skip
    entries, _ = build_batch(items, "svc", records=True)
    models, _ = build_batch(items, "svc")
    assert [type(event) for event in entries] == [LogEntry, LogEntry]
    assert [type(event) for event in models] == [LogCreate, LogCreate]
    assert store.write_batch(entries).logs == 2
    assert store.write_batch(models).logs == 2
    stored = store.query_logs(run_id=run.id).items
    as_entries, as_models = stored[0::2], stored[1::2]  # oldest first: pairs of equal times
    assert len(as_entries) == len(as_models) == 2

    def seen(record: object) -> dict[str, object]:
        fields = record.model_dump()  # type: ignore[attr-defined]
        fields.pop("id")
        return dict(fields)

    assert [seen(r) for r in as_entries] == [seen(r) for r in as_models]
    assert as_entries[0].timestamp.timestamp() == pytest.approx(1_700_000_000.123456, abs=1e-6)


def test_the_recorder_stores_its_logs_as_entries(
    store: EventStore, run: Run, make_recorder: RecorderFactory
) -> None:
    recorder = make_recorder(StoreSink(store))
    recorder.log("info", "one", run_id=run.id, attributes={"secret": "s", "k": 1})
    recorder.log(LogLevel.ERROR, "two\x00", run_id=run.id)
    assert recorder.flush(timeout=5.0)
    stored = store.query_logs(run_id=run.id).items
    assert [(r.level, r.message, r.attributes) for r in stored] == [
        (LogLevel.INFO, "one", {"secret": "[REDACTED]", "k": 1}),
        (LogLevel.ERROR, "two\ufffd", {}),
    ]
    assert all(isinstance(r.run_id, UUID) for r in stored)


@pytest.mark.parametrize("timestamp", [float("nan"), float("inf"), 1.7e12, -1.0])
def test_a_time_a_datetime_may_not_hold_takes_the_models_path(timestamp: float) -> None:
    """Out of 1970..9999 (milliseconds passed as seconds, NaN): the model judges it, so the
    store never gets a time it cannot read back."""
    events, errors = build_batch([log("t", timestamp=timestamp), log("ok")], "svc",
                                 records=True)  # fmt: skip
    assert [type(event) for event in events][-1] is LogEntry
    if timestamp == -1.0:  # 1969: a datetime, so the model keeps it
        assert errors == []
        assert type(events[0]) is LogCreate
    else:
        assert [event.message for event in events] == ["ok"]
        assert len(errors) == 1


def test_deeply_nested_attributes_are_left_to_the_models_parser() -> None:
    """Nesting deeper than the model's JSON parser reads is refused as the model refuses
    it; many objects side by side are kept (by the model's path, which accepts them)."""
    deep: dict[str, object] = {}
    for _ in range(210):
        deep = {"a": deep}
    wide = {f"k{i}": {"v": i} for i in range(130)}
    events, errors = build_batch(
        [log("deep", attributes=deep), log("wide", attributes=wide), log("ok")], "svc",
        records=True,
    )  # fmt: skip
    assert [(type(e).__name__, e.message) for e in events] == [
        ("LogCreate", "wide"), ("LogEntry", "ok"),
    ]  # fmt: skip
    assert len(errors) == 1


def test_an_access_records_fields_get_the_access_lines_redaction() -> None:
    """The instrumentation's ``AccessFields`` (the path the free text among them) are
    redacted as the JSON line redacts them, in both encodings (store and HTTP); the same
    values as a plain dict get the full redaction."""
    from vigil.instrumentation._records import AccessFields

    fields = {
        "method": "GET", "path": "/reset/password=hunter2", "route": "/reset/{rest}",
        "status": 200, "duration_ms": 1.25, "client": "127.0.0.1:5555",
    }  # fmt: skip
    access = log("GET /reset/password=hunter2 200", attributes=AccessFields(fields))
    plain = log("GET /reset/password=hunter2 200", attributes=dict(fields))
    (entry, same), _ = build_batch([access, plain], "svc", records=True)
    assert isinstance(entry, LogEntry)
    assert isinstance(same, LogEntry)
    assert orjson.loads(entry.attributes_json) == orjson.loads(same.attributes_json)
    stored = orjson.loads(entry.attributes_json)
    assert "hunter2" not in stored["path"]
    assert {k: v for k, v in stored.items() if k != "path"} == {
        k: v for k, v in fields.items() if k != "path"
    }
    document = orjson.dumps(encode_log(access, "svc"))  # what HttpSink sends
    assert orjson.loads(document)["attributes"] == stored
