"""The execution-log benchmark compares what it says it compares (benchmarks/log_ingest.py)."""

from __future__ import annotations

from benchmarks.log_ingest import ModelStoreSink, build_and_write, queued_logs

from vigil.models import LogCreate, LogEntry
from vigil.sdk import StoreSink
from vigil.sdk._events import build_batch
from vigil.storage import EventStore


def test_its_records_take_both_paths_and_its_baseline_sink_takes_models() -> None:
    items = queued_logs(3, None)
    entries, errors = build_batch(items, "bench", records=True)
    models, _ = build_batch(items, "bench")
    assert errors == []
    assert [type(e) for e in entries] == [LogEntry] * 3, "the access records pass every check"
    assert [type(e) for e in models] == [LogCreate] * 3
    assert StoreSink.takes_records
    assert not ModelStoreSink.takes_records


def test_it_measures_both_forms(store: EventStore) -> None:
    figures = build_and_write(store, 1)
    assert set(figures) == {"models", "entries"}
    assert all(build > 0 and write > 0 for build, write in figures.values())
    assert len(store.query_logs(limit=500).items) == 500  # 2 x 1,000 written
