"""The live stream of a run's steps (Server-Sent Events), served by real uvicorn."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
import pytest

from tests.controller.conftest import ControllerData

RUN = {"name": "stream", "agent": "bot", "project_id": "p"}


@pytest.fixture(autouse=True)
def _headers(controller_data: ControllerData) -> None:
    """Every call of this module carries the test's admin key."""
    HEADERS.clear()
    HEADERS.update(controller_data.headers)


HEADERS: dict[str, str] = {}


def read_events(
    url: str, out: queue.Queue[tuple[float, dict[str, object]]], stop: threading.Event
) -> None:
    try:
        with httpx.stream(
            "GET", url, headers=HEADERS, timeout=httpx.Timeout(10, read=None)
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("data:"):
                    out.put((time.monotonic(), json.loads(line[5:])))
                if stop.is_set():
                    return
    except httpx.TransportError:
        # The server cuts open streams when it shuts down at the end of the test.
        if not stop.is_set():
            raise


def subscribe(
    base: str, run_id: str
) -> tuple[queue.Queue[tuple[float, dict[str, object]]], threading.Event]:
    out: queue.Queue[tuple[float, dict[str, object]]] = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(
        target=read_events, args=(f"{base}/runs/{run_id}/stream", out, stop), daemon=True
    )
    thread.start()
    time.sleep(0.3)  # let the subscription start before the first append
    return out, stop


def append(base: str, run_id: str, name: str) -> float:
    sent = time.monotonic()
    response = httpx.post(
        f"{base}/runs/{run_id}/steps",
        json={"steps": [{"step_type": "thought", "name": name}]},
        headers=HEADERS,
    )
    assert response.status_code == 201
    return sent


def test_subscriber_sees_new_steps_within_a_second(
    live_controller: Callable[..., AbstractContextManager[str]],
) -> None:
    """Steps appended after the subscription arrive in order, each within one second."""
    with live_controller() as base:
        run_id = httpx.post(f"{base}/runs", json=RUN, headers=HEADERS).json()["id"]
        out, stop = subscribe(base, run_id)
        for n in range(3):
            sent = append(base, run_id, f"step-{n}")
            received, step = out.get(timeout=2)
            assert step["name"] == f"step-{n}"
            assert received - sent < 1.0
        stop.set()


def test_stream_of_unknown_run_is_404(
    live_controller: Callable[..., AbstractContextManager[str]],
) -> None:
    """No stream opens for a run that does not exist."""
    with live_controller() as base:
        response = httpx.get(
            f"{base}/runs/01a203f3-bf54-755f-9f4e-74a18cf140ea/stream", headers=HEADERS
        )
        assert response.status_code == 404


def test_steps_from_another_controller_arrive(
    live_controller: Callable[..., AbstractContextManager[str]], store_url: str
) -> None:
    """A step stored by a second controller on the same database reaches a subscriber of the
    first within a second. On PostgreSQL the fallback poll is set to 30 s, so only
    LISTEN/NOTIFY can deliver it in time."""
    poll = 30.0 if store_url.startswith("postgresql") else 0.5
    with (
        live_controller(stream_poll_interval_s=poll) as first,
        live_controller(stream_poll_interval_s=poll) as second,
    ):
        run_id = httpx.post(f"{first}/runs", json=RUN, headers=HEADERS).json()["id"]
        out, stop = subscribe(first, run_id)
        sent = append(second, run_id, "from-second")
        received, step = out.get(timeout=3)
        assert step["name"] == "from-second"
        assert received - sent < 1.0
        stop.set()


def test_clients_leaving_mid_stream_are_not_errors(
    live_controller: Callable[..., AbstractContextManager[str]],
) -> None:
    """A subscriber that disconnects while steps flow ends its stream quietly: no exception
    escapes the application (FastAPI's own SSE streaming raised BrokenResourceError here)."""
    with live_controller() as base:
        run_id = httpx.post(f"{base}/runs", json=RUN, headers=HEADERS).json()["id"]
        writing = threading.Event()
        writing.set()

        def write() -> None:
            n = 0
            while writing.is_set():
                append(base, run_id, f"flow-{n}")
                n += 1

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            for _ in range(8):
                with httpx.stream(
                    "GET", f"{base}/runs/{run_id}/stream", headers=HEADERS, timeout=10
                ) as response:
                    lines = response.iter_lines()
                    assert any(line.startswith("data:") for line in lines)
                # leaving the block closes the connection with events still coming
            time.sleep(1.0)  # the server notices the disconnects at its next send or poll
        finally:
            writing.clear()
            writer.join(timeout=10)
        metrics = httpx.get(f"{base}/metrics").text
        escaped = [
            line
            for line in metrics.splitlines()
            if line.startswith("unhandled_exceptions_total{") and not line.endswith(" 0.0")
        ]
        assert escaped == []
        assert 'endpoint="/runs/{run_id}/stream"' in metrics  # the streams were measured


def events_of(base: str, path: str, headers: dict[str, str] | None = None) -> list[str]:
    """The ``event:``/``id:`` lines of a stream until the server ends it."""
    lines = []
    with httpx.stream(
        "GET", f"{base}{path}", headers={**HEADERS, **(headers or {})}, timeout=10
    ) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith(("event:", "id:", 'data: {"status')):
                lines.append(line)
    return lines


def test_a_stream_ends_when_its_run_has_finished(
    live_controller: Callable[..., AbstractContextManager[str]],
) -> None:
    """Finding: a stream on a finished run stayed open. A finished run's stream sends what is
    left, then `event: end` with the status, and closes; a run finishing while watched
    ends its stream the same way."""
    with live_controller() as base:
        done = httpx.post(f"{base}/runs", json=RUN, headers=HEADERS).json()["id"]
        append(base, done, "last")
        httpx.post(f"{base}/runs/{done}/finish", json={"status": "failed"}, headers=HEADERS)
        assert events_of(base, f"/runs/{done}/stream") == [
            "event: step",
            "id: 1",
            "event: end",
            'data: {"status":"failed"}',
        ]

        live = httpx.post(f"{base}/runs", json=RUN, headers=HEADERS).json()["id"]
        out: queue.Queue[list[str]] = queue.Queue()
        reader = threading.Thread(
            target=lambda: out.put(events_of(base, f"/runs/{live}/stream")), daemon=True
        )
        reader.start()
        time.sleep(0.3)
        append(base, live, "work")
        finished_at = time.monotonic()
        httpx.post(f"{base}/runs/{live}/finish", json={"status": "succeeded"}, headers=HEADERS)
        assert out.get(timeout=5)[-2:] == ["event: end", 'data: {"status":"succeeded"}']
        assert time.monotonic() - finished_at < 2


def test_streams_end_after_their_maximum_and_resume_with_last_event_id(
    live_controller: Callable[..., AbstractContextManager[str]],
) -> None:
    """A stream ends after VIGIL_STREAM_MAX_DURATION_S; the client reconnects with the last
    id it saw and gets the next steps, none twice."""
    with live_controller(stream_max_duration_s=1.0) as base:
        run_id = httpx.post(f"{base}/runs", json=RUN, headers=HEADERS).json()["id"]
        append(base, run_id, "one")
        started = time.monotonic()
        first = events_of(base, f"/runs/{run_id}/stream")
        assert first == ["event: step", "id: 1"]
        assert 0.9 < time.monotonic() - started < 3
        append(base, run_id, "two")
        second = events_of(base, f"/runs/{run_id}/stream", {"Last-Event-ID": "1"})
        assert second == ["event: step", "id: 2"]


def test_streams_are_capped_per_key_and_in_all(
    live_controller: Callable[..., AbstractContextManager[str]],
) -> None:
    """Finding: streams were unbounded (1,000 idle ones slowed every request). Past the cap
    a stream is refused with the JSON 429 and Retry-After; a closed stream frees its place."""
    with live_controller(stream_max_per_key=2) as base:
        run_id = httpx.post(f"{base}/runs", json=RUN, headers=HEADERS).json()["id"]
        url = f"{base}/runs/{run_id}/stream"
        with httpx.Client(headers=HEADERS, timeout=10) as client:
            with client.stream("GET", url) as one, client.stream("GET", url) as two:
                assert (one.status_code, two.status_code) == (200, 200)
                refused = client.get(url)
                assert refused.status_code == 429
                assert refused.headers["retry-after"] == "5"
                assert refused.json()["request_id"] == refused.headers["x-request-id"]
            time.sleep(0.5)  # the server sees the two leave
            with client.stream("GET", url) as again:
                assert again.status_code == 200


def test_long_streams_stay_out_of_the_latency_histogram(
    live_controller: Callable[..., AbstractContextManager[str]],
) -> None:
    """Finding: a client reconnecting every 20 s pushed the stream route's p99 to 10 s and
    fired HighLatencyP99. A stream's duration is the time to its first byte."""
    with live_controller(stream_max_duration_s=1.5) as base:
        run_id = httpx.post(f"{base}/runs", json=RUN, headers=HEADERS).json()["id"]
        events_of(base, f"/runs/{run_id}/stream")  # open 1.5 s
        metrics = httpx.get(f"{base}/metrics").text
    route = 'endpoint="/runs/{run_id}/stream"'
    buckets = {
        line.split('le="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("request_duration_seconds_bucket{") and route in line
    }
    assert buckets["+Inf"] == 1
    assert buckets["0.5"] == 1, "measured to its first byte, not for 1.5 s"
