"""Spans on both backends: the exporters' bulk write (``write_spans``), a trace and a run's
spans read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import orjson
import pytest

from vigil.models import (
    MAX_BATCH_EVENTS,
    RunCreate,
    SpanKind,
    SpanRecord,
    SpanStatus,
    new_id,
)
from vigil.storage import EventStore

TRACE = "0af7651916cd43dd8448eb211c80319c"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
T0_NS = int(T0.timestamp()) * 1_000_000_000
MS = 1_000_000


def record(
    span_id: int,
    *,
    parent: int | None = None,
    trace: str = TRACE,
    run_id: UUID | None = None,
    project_id: str | None = None,
    at: int = 0,
) -> SpanRecord:
    return SpanRecord(
        trace,
        f"{span_id:016x}",
        None if parent is None else f"{parent:016x}",
        f"span-{span_id}",
        SpanKind.SERVER,
        "svc",
        T0_NS + at * MS,
        T0_NS + (at + 5) * MS,
        SpanStatus.ERROR if span_id == 2 else SpanStatus.UNSET,
        "boom" if span_id == 2 else None,
        '{"http.route":"/runs/{run_id}","n":'
        + str(span_id)
        + ',"big":123456789012345678901234567890}',
        run_id,
        project_id,
    )


def test_records_round_trip(store: EventStore) -> None:
    run_id = new_id()
    assert store.write_spans([record(1, run_id=run_id, project_id="p1"), record(2, parent=1)]) == 2
    first, second = store.get_trace(TRACE)
    assert (first.span_id, first.parent_span_id, first.name) == ("0000000000000001", None, "span-1")
    assert (first.kind, first.service, first.run_id, first.project_id) == (
        SpanKind.SERVER,
        "svc",
        run_id,
        "p1",
    )
    assert (first.start_time, first.end_time) == (T0, T0 + timedelta(milliseconds=5))
    # JSON as sent, integers beyond 64 bits included.
    assert first.attributes == {
        "http.route": "/runs/{run_id}",
        "n": 1,
        "big": 123456789012345678901234567890,
    }
    assert (second.parent_span_id, second.status, second.status_message) == (
        "0000000000000001",
        SpanStatus.ERROR,
        "boom",
    )


def test_records_are_read_lazily(store: EventStore) -> None:
    """The exporter hands a generator: converted while the store writes."""
    assert store.write_spans(record(n, at=n) for n in range(1, 6)) == 5
    assert [s.span_id[-1] for s in store.get_trace(TRACE)] == ["1", "2", "3", "4", "5"]


def test_a_span_stored_before_is_skipped(store: EventStore) -> None:
    """An exporter retrying after a lost commit: COPY fails on the key, the slower path
    stores what is new and leaves the rest."""
    store.write_spans([record(1)])
    assert store.write_spans([record(1), record(2, parent=1)]) == 2
    assert [s.span_id for s in store.get_trace(TRACE)] == ["0000000000000001", "0000000000000002"]


def test_a_stored_span_early_in_a_long_lazy_batch_is_skipped_once(store: EventStore) -> None:
    """A duplicate in a long generator: the slower path stores and counts every record once,
    whether COPY's error arrives at its end (as here) or while the generator still runs."""
    store.write_spans([record(1)])
    assert store.write_spans(record(n, at=n) for n in range(1, 3001)) == 3000
    assert len(store.get_trace(TRACE)) == 3000


@pytest.mark.parametrize("stored_before", [False, True], ids=["copy", "conflict-path"])
def test_times_are_kept_at_the_microsecond_the_nanosecond_falls_in(
    store: EventStore, stored_before: bool
) -> None:
    """Nanoseconds (OpenTelemetry's unit) truncated, by both write paths, so a span that
    ends 1 ns after it starts does not end before it."""
    if stored_before:
        store.write_spans([record(9)])
    start = T0_NS + 999_999_999  # 08:00:00.999999999
    span = record(1)._replace(start_time=start, end_time=start + 1)
    store.write_spans([span, record(9)] if stored_before else [span])
    (stored,) = (s for s in store.get_trace(TRACE) if s.span_id.endswith("1"))
    last = T0 + timedelta(microseconds=999_999)
    assert (stored.start_time, stored.end_time) == (last, T0 + timedelta(seconds=1))


@pytest.mark.parametrize("stored_before", [False, True], ids=["copy", "conflict-path"])
def test_times_at_the_ends_of_the_range_and_awkward_text_round_trip(
    store: EventStore, stored_before: bool
) -> None:
    """What COPY's formats treat specially: times before 1970 and 2000 and at the ends of
    the years 1 to 9999, and text with tabs, newlines, backslashes and non-ASCII characters,
    come back as written, by both write paths."""
    if stored_before:
        store.write_spans([record(9)])
    first = datetime(1, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    nanos = {
        "first": (first, -62_135_596_800 * 10**9),
        "last": (last, 253_402_300_800 * 10**9 - 1),
        "1969": (datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), -1),
        "1999": (datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), 946_684_800 * 10**9 - 1),
    }
    text = "tab\tnew\nline \\N back\\slash \u00e9\u6f22\U0001f600"
    spans = [
        record(n)._replace(
            name=f"{label} {text}",
            start_time=ns,
            end_time=ns,
            status_message=text,
            attributes_json=orjson.dumps({"text": text, "n": n}).decode(),
        )
        for n, (label, (_, ns)) in enumerate(nanos.items(), start=1)
    ]
    store.write_spans([*spans, record(9)] if stored_before else spans)
    stored = {s.span_id: s for s in store.get_trace(TRACE)}
    for n, (label, (at, _)) in enumerate(nanos.items(), start=1):
        span = stored[f"{n:016x}"]
        assert (span.name, span.status_message) == (f"{label} {text}", text)
        assert (span.start_time, span.end_time) == (at, at)
        assert span.attributes == {"text": text, "n": n}


def test_a_projects_key_names_the_project(store: EventStore) -> None:
    store.write_spans([record(1, project_id="p1")], project_id="p2")
    (span,) = store.get_trace(TRACE)
    assert span.project_id == "p2"
    assert store.get_trace(TRACE, project_id="p1") == []


def test_too_many_records_store_nothing(store: EventStore) -> None:
    records = (record(n) for n in range(1, MAX_BATCH_EVENTS + 2))
    with pytest.raises(ValueError, match="at most"):
        store.write_spans(records)
    assert store.get_trace(TRACE) == []


def test_get_trace_is_bounded_and_ordered(store: EventStore) -> None:
    store.write_spans([record(n, at=10 - n) for n in range(1, 6)])
    assert [s.span_id[-1] for s in store.get_trace(TRACE, limit=3)] == ["5", "4", "3"]


def test_a_runs_spans_by_start_time(store: EventStore) -> None:
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p1"))
    other = "1" * 32
    store.write_spans(
        [
            record(1, run_id=run.id, project_id="p1", at=20),
            record(2, run_id=run.id, project_id="p1", at=10, trace=other),
            record(3, at=0),  # no run
            record(4, run_id=new_id(), at=5),  # another run
        ]
    )
    spans = store.list_run_spans(run.id)
    assert [(s.trace_id, s.span_id[-1]) for s in spans] == [(other, "2"), (TRACE, "1")]
    assert store.list_run_spans(run.id, project_id="p2") == []
    assert len(store.list_run_spans(run.id, limit=1)) == 1
