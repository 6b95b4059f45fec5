"""Batch ids: one per batch, kept through its retries and derived for its halves, so that the
store keeps a batch once however often the writer has to send it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.sdk.conftest import RecorderFactory, ScriptedSink
from vigil.models import Run, StepEvent, StepType, new_id
from vigil.sdk import SinkRejected, SinkUnavailable, StoreSink
from vigil.sdk._writer import half_ids
from vigil.storage import EventStore

pytestmark = pytest.mark.usefixtures("either_event_form")


RUN = new_id()


def test_every_retry_of_a_batch_carries_its_id(make_recorder: RecorderFactory) -> None:
    """Two failed calls and the successful third name the same batch; the next batch has
    another id."""
    sink = ScriptedSink([SinkUnavailable("down"), SinkUnavailable("down")])
    recorder = make_recorder(sink, retry_backoff=0.0)
    recorder.log_step(RUN, "thought")
    assert recorder.flush(timeout=5.0)
    recorder.log_step(RUN, "thought")
    assert recorder.flush(timeout=5.0)

    first, retry, third, other = sink.batch_ids
    assert first is not None
    assert other is not None
    assert first == retry == third
    assert other != first
    assert len(sink.written) == 2


def test_the_halves_of_a_rejected_batch_have_derived_ids(make_recorder: RecorderFactory) -> None:
    """A rejected batch is split; each half gets an id derived from the batch's, the same
    however often the batch is split (a batch replayed from the spool after a restart)."""
    sink = ScriptedSink([SinkRejected("bad event")])
    recorder = make_recorder(sink, flush_interval=10.0)
    for _ in range(4):
        recorder.log_step(RUN, "thought")
    assert recorder.flush(timeout=5.0)

    batch, first, second = sink.batch_ids
    assert batch is not None
    assert (first, second) == half_ids(batch) == half_ids(batch)
    assert len({batch, first, second}) == 3
    assert len(sink.written) == 4


def test_store_sink_stores_a_batch_once_per_id(store: EventStore, run: Run) -> None:
    """The same batch written twice under one id is stored once, and the repeat answers with
    what the first call stored; under a new id it is stored again."""
    sink = StoreSink(store)
    now = datetime.now(UTC)
    events = [
        StepEvent(run_id=run.id, step_type=StepType.THOUGHT, name=f"s{n}", created_at=now)
        for n in range(3)
    ]
    batch_id = new_id()
    first = sink.write(events, batch_id=batch_id)
    again = sink.write(events, batch_id=batch_id)
    assert first == again
    assert first.steps == 3
    assert store.get_run(run.id).step_count == 3

    sink.write(events, batch_id=new_id())
    assert store.get_run(run.id).step_count == 6
