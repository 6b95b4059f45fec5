"""The queue's bound and the sink's failures: drop, count, log; never block forever."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from prometheus_client import CollectorRegistry

from tests.sdk.conftest import (
    RecorderFactory,
    ScriptedSink,
    dropped,
    sample,
    saturate,
    wait_until,
)
from vigil.models import new_id
from vigil.sdk import SinkRejected, SinkUnavailable

pytestmark = pytest.mark.usefixtures("either_event_form")


RUN = new_id()


def test_a_full_queue_drops_and_counts_instead_of_blocking(
    scripted_sink: ScriptedSink, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """With the sink stalled and put_timeout 0, events beyond the bound are dropped at once."""
    recorder = make_recorder(scripted_sink, batch_size=10, max_queue=100, put_timeout=0.0)
    in_flight = saturate(recorder, scripted_sink)

    started = time.monotonic()
    accepted = sum(recorder.log_step(RUN, "thought") for _ in range(1_000))
    elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert accepted == 100
    assert dropped(registry, "queue_full") == 900
    scripted_sink.gate.set()
    assert recorder.flush(timeout=5.0)
    assert len(scripted_sink.written) == in_flight + 100


def test_put_timeout_waits_then_drops(
    scripted_sink: ScriptedSink, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """On a full queue a producer waits put_timeout for room, then drops the event."""
    recorder = make_recorder(scripted_sink, batch_size=5, max_queue=5, put_timeout=0.2)
    saturate(recorder, scripted_sink)
    for _ in range(5):
        assert recorder.log_step(RUN, "thought")

    started = time.monotonic()
    assert recorder.log_step(RUN, "thought") is False
    waited = time.monotonic() - started

    assert 0.18 <= waited < 2.0
    assert dropped(registry, "queue_full") == 1
    scripted_sink.gate.set()
    assert recorder.close(timeout=5.0)


def test_a_waiting_producer_proceeds_when_room_appears(
    scripted_sink: ScriptedSink, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """Room made within put_timeout lets the waiting event in: nothing is dropped."""
    recorder = make_recorder(scripted_sink, batch_size=5, max_queue=5, put_timeout=5.0)
    in_flight = saturate(recorder, scripted_sink)
    for _ in range(5):
        recorder.log_step(RUN, "thought")

    timer_started = time.monotonic()
    release = threading.Timer(0.2, scripted_sink.gate.set)
    release.start()
    assert recorder.log_step(RUN, "thought")
    release.join()

    assert time.monotonic() - timer_started < 5.0
    assert recorder.flush(timeout=5.0)
    assert len(scripted_sink.written) == in_flight + 6
    assert dropped(registry, "queue_full") == 0


def test_drop_warnings_are_rate_limited(
    scripted_sink: ScriptedSink,
    make_recorder: RecorderFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Thousands of drops make a handful of log lines, each with the count since the last."""
    recorder = make_recorder(scripted_sink, batch_size=1, max_queue=1, put_timeout=0.0)
    saturate(recorder, scripted_sink)
    with caplog.at_level(logging.WARNING, logger="vigil.sdk"):
        for _ in range(5_000):
            recorder.log_step(RUN, "thought")
        scripted_sink.gate.set()
        assert recorder.close(timeout=5.0)

    lines = [r for r in caplog.records if r.name == "vigil.sdk"]
    assert 1 <= len(lines) <= 3
    assert sum(r.__dict__["dropped_events"]["queue_full"] for r in lines) == 4_999


def test_an_unavailable_sink_is_retried(
    make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """SinkUnavailable twice, then success: the batch is written once, nothing dropped."""
    sink = ScriptedSink([SinkUnavailable("down"), SinkUnavailable("still down")])
    recorder = make_recorder(sink, retry_backoff=0.01)
    for _ in range(10):
        recorder.log_step(RUN, "thought")
    assert recorder.flush(timeout=5.0)

    assert sink.calls == 3
    assert len(sink.written) == 10
    assert dropped(registry, "sink_error") == 0
    assert sample(registry, "sdk_batch_write_seconds_count") == 3


def test_a_sink_down_through_every_retry_drops_and_counts(
    make_recorder: RecorderFactory, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    """After max_attempts the batch is dropped as sink_error, and later batches still go."""
    sink = ScriptedSink([SinkUnavailable("down")] * 3)
    recorder = make_recorder(sink, max_attempts=3, retry_backoff=0.01)
    for _ in range(10):
        recorder.log_step(RUN, "thought")
    assert recorder.flush(timeout=5.0)
    recorder.log_step(RUN, "thought")
    assert recorder.close(timeout=5.0)

    assert dropped(registry, "sink_error") == 10
    assert len(sink.written) == 1
    assert "sink_error=10" in caplog.text


def test_a_rejected_event_does_not_block_the_rest(
    make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """SinkRejected on a batch of one drops it as rejected; the next batch is written."""
    sink = ScriptedSink([SinkRejected("HTTP 422")])
    recorder = make_recorder(sink, batch_size=1, flush_interval=10.0)
    recorder.log_step(RUN, "thought", name="bad")
    recorder.log_step(RUN, "thought", name="good")
    assert recorder.flush(timeout=5.0)

    assert [event.name for event in sink.written] == ["good"]  # type: ignore[union-attr]
    assert dropped(registry, "rejected") == 1


def test_a_broken_sink_does_not_kill_the_writer(
    make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """An unexpected exception from a sink counts the batch as sink_error and carries on."""
    sink = ScriptedSink([ZeroDivisionError("bug")])
    recorder = make_recorder(sink, batch_size=1)
    recorder.log_step(RUN, "thought")
    recorder.log_step(RUN, "thought")
    assert recorder.flush(timeout=5.0)

    assert len(sink.written) == 1
    assert dropped(registry, "sink_error") == 1


def test_flush_and_close_are_bounded_when_the_sink_hangs(
    scripted_sink: ScriptedSink, make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """A stalled sink makes flush return False after its timeout; close gives up, closes
    the sink, and counts what was still queued."""
    recorder = make_recorder(scripted_sink, batch_size=1)
    scripted_sink.gate.clear()
    for _ in range(5):
        recorder.log_step(RUN, "thought")
    assert scripted_sink.entered.wait(5.0)

    started = time.monotonic()
    assert recorder.flush(timeout=0.2) is False
    assert recorder.close(timeout=0.2) is False
    assert time.monotonic() - started < 3.0
    assert scripted_sink.closed

    scripted_sink.gate.set()  # the stuck call returns; the writer then drops the rest
    wait_until(lambda: dropped(registry, "closed") == 4)
    assert len(scripted_sink.written) == 1
