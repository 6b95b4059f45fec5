"""The writer with a spool: what the sink cannot take is kept on disk and sent, in order and
under its batch ids, once the sink is back; drops only when the spool itself is full.

The sink here is scripted, to pin the rules one by one; test_faults.py shows the same
against a real PostgreSQL, a real controller and real processes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tests.sdk.conftest import RecorderFactory, ScriptedSink, dropped, sample, wait_until
from vigil.models import StepEvent, new_id
from vigil.sdk import DropReason, SinkRejected, SinkUnavailable, SpoolInUse

pytestmark = pytest.mark.usefixtures("either_event_form")


RUN = new_id()
FAST: dict[str, Any] = {"retry_backoff": 0.0, "max_attempts": 2}


def recorded(sink: ScriptedSink) -> list[int]:
    """The ``i`` of every step the sink stored, in the order it stored them."""
    return [e.data["i"] for e in sink.written if isinstance(e, StepEvent)]


def no_drops(registry: CollectorRegistry) -> bool:
    return all(dropped(registry, reason.value) == 0 for reason in DropReason)


def test_an_outage_is_spooled_then_sent_in_order(
    tmp_path: Path, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """Batches recorded while the sink is down (several of them, some while older ones are
    still spooled) reach it in recording order once it is back, with nothing dropped; the
    gauges and counters say what happened."""
    sink = ScriptedSink()
    sink.down = SinkUnavailable("database down")
    recorder = make_recorder(sink, spool=tmp_path / "agent.spool", batch_size=10, **FAST)
    for i in range(95):
        recorder.log_step(RUN, "thought", data={"i": i})
        if i % 30 == 29:
            assert recorder.flush(timeout=5.0)
    assert recorder.flush(timeout=5.0)
    assert recorder.spool_depth == 95
    assert sample(registry, "sdk_spool_events") == 95
    assert sample(registry, "sdk_spool_bytes") > 95 * 100
    assert sample(registry, "sdk_events_spooled_total") == 95
    assert sink.written == []
    assert (sink.records_seen > 0) is ScriptedSink.takes_records  # the form under test

    sink.down = None
    wait_until(lambda: recorder.spool_depth == 0)
    wait_until(lambda: sample(registry, "sdk_spool_events") == 0)
    assert recorded(sink) == list(range(95))
    assert sample(registry, "sdk_events_replayed_total") == 95
    assert sample(registry, "sdk_spool_bytes") == 0
    assert no_drops(registry)


def test_new_batches_queue_behind_the_spool(tmp_path: Path, make_recorder: RecorderFactory) -> None:
    """The sink comes back between two batches: the new one is sent only after the spooled
    ones, never before them."""
    sink = ScriptedSink([SinkUnavailable("down")])
    recorder = make_recorder(
        sink,
        spool=tmp_path / "agent.spool",
        flush_interval=10.0,
        max_attempts=1,
        retry_backoff=60.0,
    )
    recorder.log_step(RUN, "thought", data={"i": 0})
    assert recorder.flush(timeout=5.0)  # spooled; the next replay is not due for ~60 s
    assert recorder.spool_depth == 1
    recorder.log_step(RUN, "thought", data={"i": 1})
    assert recorder.flush(timeout=5.0)
    assert recorded(sink) == []  # sink up again, but the batch waits behind the spooled one
    assert recorder.spool_depth == 2

    assert recorder.close(timeout=5.0)  # close tries the spool once more
    assert recorded(sink) == [0, 1]


def test_the_spool_drains_while_the_agent_is_idle(
    tmp_path: Path, make_recorder: RecorderFactory
) -> None:
    """Nothing is recorded after the outage: the spool is still sent, by itself."""
    sink = ScriptedSink()
    sink.down = SinkUnavailable("down")
    recorder = make_recorder(sink, spool=tmp_path / "agent.spool", **FAST)
    for i in range(5):
        recorder.log_step(RUN, "thought", data={"i": i})
    assert recorder.flush(timeout=5.0)
    assert recorder.spool_depth == 5
    sink.down = None
    wait_until(lambda: recorder.spool_depth == 0)
    assert recorded(sink) == list(range(5))


def test_replayed_batches_keep_their_ids(tmp_path: Path, make_recorder: RecorderFactory) -> None:
    """The id of a batch's first, failed call is the id it is stored under from the spool."""
    sink = ScriptedSink()
    sink.down = SinkUnavailable("down")
    recorder = make_recorder(sink, spool=tmp_path / "agent.spool", flush_interval=10.0, **FAST)
    recorder.log_step(RUN, "thought", data={"i": 0})
    assert recorder.flush(timeout=5.0)
    failed = set(sink.batch_ids)
    assert len(failed) == 1
    sink.down = None
    assert recorder.close(timeout=5.0)
    assert set(sink.batch_ids) == failed
    assert recorded(sink) == [0]


def test_rejected_events_are_never_spooled(
    tmp_path: Path, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """A refused event would be refused again: it is dropped as rejected, not kept."""
    sink = ScriptedSink()
    sink.down = SinkRejected("unknown run")
    recorder = make_recorder(sink, spool=tmp_path / "agent.spool", flush_interval=10.0)
    recorder.log_step(RUN, "thought", data={"i": 0})
    assert recorder.flush(timeout=5.0)
    assert recorder.spool_depth == 0
    assert dropped(registry, "rejected") == 1
    assert sample(registry, "sdk_events_spooled_total") == 0


def test_close_leaves_the_spool_to_the_next_recorder(
    tmp_path: Path, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """Closed while the sink is down, a recorder drops nothing: its events stay in the file,
    and a recorder opened on it later sends them at start, before its own."""
    path = tmp_path / "agent.spool"
    down = ScriptedSink()
    down.down = SinkUnavailable("down")
    first = make_recorder(down, spool=path, **FAST)
    for i in range(50):
        first.log_step(RUN, "thought", data={"i": i})
    started = time.monotonic()
    assert first.close(timeout=5.0)
    assert time.monotonic() - started < 2.0
    assert first.spool_depth == 50
    assert no_drops(registry)

    up = ScriptedSink()
    second = make_recorder(up, spool=path)
    wait_until(lambda: second.spool_depth == 0)
    second.log_step(RUN, "thought", data={"i": 50})
    assert second.close(timeout=5.0)
    assert recorded(up) == list(range(51))


def test_a_close_that_gives_up_keeps_the_rest_in_the_spool(
    tmp_path: Path, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """close(timeout) passing while the writer is still retrying: the batch being retried
    and everything queued behind it are spooled, not dropped."""
    sink = ScriptedSink()
    sink.down = SinkUnavailable("down")
    path = tmp_path / "agent.spool"
    recorder = make_recorder(sink, spool=path, batch_size=10, max_attempts=100, retry_backoff=0.5)
    for i in range(25):
        recorder.log_step(RUN, "thought", data={"i": i})
    wait_until(lambda: sink.calls >= 1)
    assert recorder.close(timeout=0.3) is True  # the writer stops retrying and spools: done
    assert recorder.spool_depth == 25
    assert no_drops(registry)

    up = ScriptedSink()
    make_recorder(up, spool=path).close(timeout=5.0)
    assert recorded(up) == list(range(25))


def test_a_full_spool_drops_and_counts(
    tmp_path: Path, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """Batches that would pass the bound are dropped as spool_full; the others are kept."""
    sink = ScriptedSink()
    sink.down = SinkUnavailable("down")
    recorder = make_recorder(
        sink, spool=tmp_path / "agent.spool", spool_max_bytes=5_000, batch_size=10, **FAST
    )
    for i in range(100):
        recorder.log_step(RUN, "thought", data={"i": i})
    assert recorder.flush(timeout=5.0)
    kept = recorder.spool_depth
    assert 0 < kept < 100
    assert dropped(registry, "spool_full") == 100 - kept
    assert sample(registry, "sdk_spool_bytes") <= 5_000

    sink.down = None
    wait_until(lambda: recorder.spool_depth == 0)
    assert len(recorded(sink)) == kept


def test_a_spool_file_serves_one_recorder(tmp_path: Path, make_recorder: RecorderFactory) -> None:
    """Two recorders on one file would replay the same batches in two orders: refused."""
    path = tmp_path / "agent.spool"
    make_recorder(ScriptedSink(), spool=path)
    with pytest.raises(SpoolInUse):
        make_recorder(ScriptedSink(), spool=path)
