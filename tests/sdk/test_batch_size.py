"""The writer's batch size: the recorder's own, or else its sink's (``EventSink.batch_size``)."""

import threading
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

import pytest
from prometheus_client import CollectorRegistry

from vigil.models import BatchItem, BatchWriteResult, Run, RunCreate, RunFinish
from vigil.sdk import AgentRecorder, EventSink, HttpSink, StoreSink
from vigil.sdk._store_sink import POSTGRES_BATCH_SIZE
from vigil.storage import open_store, upgrade


class CountingSink(EventSink):
    """Records the size of every batch written."""

    takes_records = True
    batch_size = 7

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self._lock = threading.Lock()

    def write(
        self, events: Sequence[BatchItem], *, batch_id: UUID | None = None
    ) -> BatchWriteResult:
        with self._lock:
            self.sizes.append(len(events))
        return BatchWriteResult(steps=len(events))

    def create_run(self, run: RunCreate) -> Run:
        raise NotImplementedError

    def finish_run(self, run_id: UUID, finish: RunFinish) -> Run:
        raise NotImplementedError


def sizes_written(sink: CountingSink, steps: int, **options: int) -> list[int]:
    """The sizes of the batches ``steps`` steps were written in (the writer runs only when a
    batch's worth is queued, or on the flush: its interval is a minute)."""
    recorder = AgentRecorder(
        sink,
        service="t",
        registry=CollectorRegistry(),
        flush_interval=60.0,
        put_timeout=10.0,
        **options,
    )
    run_id = UUID(int=1)
    for _ in range(steps):
        recorder.log_step(run_id, "thought")
    assert recorder.flush(timeout=10.0)
    recorder.close()
    return sink.sizes


def test_the_writer_takes_batches_of_the_sinks_size() -> None:
    sizes = sizes_written(CountingSink(), 50)
    assert sum(sizes) == 50
    assert max(sizes) == 7


def test_a_batch_size_given_to_the_recorder_wins() -> None:
    sizes = sizes_written(CountingSink(), 50, batch_size=3)
    assert sum(sizes) == 50
    assert max(sizes) == 3


def test_a_queue_smaller_than_the_sinks_batch_bounds_it() -> None:
    sizes = sizes_written(CountingSink(), 50, max_queue=5)
    assert sum(sizes) == 50
    assert max(sizes) <= 5


def test_postgresql_takes_larger_batches_than_http_and_sqlite(
    tmp_path: Path, postgres_url: str
) -> None:
    assert HttpSink("http://controller:8000", token="k").batch_size == 1_000
    url = f"sqlite:///{tmp_path}/vigil.db"
    upgrade(url)
    with open_store(url) as sqlite, open_store(postgres_url) as postgresql:
        assert StoreSink(sqlite).batch_size == 1_000
        assert StoreSink(postgresql).batch_size == POSTGRES_BATCH_SIZE == 5_000


def test_a_batch_size_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        AgentRecorder(CountingSink(), registry=CollectorRegistry(), batch_size=0)
