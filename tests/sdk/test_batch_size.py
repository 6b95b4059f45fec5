"""The writer's batch size: the recorder's own, or else its sink's (``EventSink.batch_size``)."""

from pathlib import Path
from uuid import UUID

import pytest

from tests.sdk.conftest import RecorderFactory, ScriptedSink
from vigil.sdk import HttpSink, StoreSink
from vigil.sdk._store_sink import POSTGRES_BATCH_SIZE
from vigil.storage import open_store, upgrade

SINKS_BATCH = 7


@pytest.fixture
def sink(scripted_sink: ScriptedSink) -> ScriptedSink:
    scripted_sink.batch_size = SINKS_BATCH
    return scripted_sink


def sizes_written(
    make_recorder: RecorderFactory, sink: ScriptedSink, steps: int, **options: int
) -> list[int]:
    """The sizes of the batches ``steps`` steps were written in (the writer runs only when a
    batch's worth is queued, or on the flush: its interval is a minute)."""
    recorder = make_recorder(sink, flush_interval=60.0, put_timeout=10.0, **options)
    run_id = UUID(int=1)
    for _ in range(steps):
        recorder.log_step(run_id, "thought")
    assert recorder.flush(timeout=10.0)
    return sink.batch_sizes


def test_the_writer_takes_batches_of_the_sinks_size(
    make_recorder: RecorderFactory, sink: ScriptedSink
) -> None:
    sizes = sizes_written(make_recorder, sink, 50)
    assert sum(sizes) == 50
    assert max(sizes) == 7


def test_a_batch_size_given_to_the_recorder_wins(
    make_recorder: RecorderFactory, sink: ScriptedSink
) -> None:
    sizes = sizes_written(make_recorder, sink, 50, batch_size=3)
    assert sum(sizes) == 50
    assert max(sizes) == 3


def test_a_queue_smaller_than_the_sinks_batch_bounds_it(
    make_recorder: RecorderFactory, sink: ScriptedSink
) -> None:
    sizes = sizes_written(make_recorder, sink, 50, max_queue=5)
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


def test_a_batch_size_out_of_range_is_refused(
    make_recorder: RecorderFactory, sink: ScriptedSink
) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        make_recorder(sink, batch_size=0)
