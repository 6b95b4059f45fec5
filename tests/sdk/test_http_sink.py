"""HttpSink against a real uvicorn serving a small FastAPI app over a real store.

The app implements the controller's contract (``POST /events/batch`` -> 202 with the
BatchWriteResult, ``POST /runs``, ``POST /runs/{id}/finish``, bearer token); the
controller's own endpoints replace it once they exist.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated
from uuid import UUID

import pytest
from fastapi import FastAPI, Header, HTTPException
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field

from tests.sdk.conftest import LiveServer, RecorderFactory, dropped
from vigil.models import (
    MAX_BATCH_EVENTS,
    BatchEvent,
    BatchWriteResult,
    Run,
    RunCreate,
    RunFinish,
    RunStatus,
    StepEvent,
    StepType,
    new_id,
)
from vigil.sdk import HttpSink, SinkRejected, SinkUnavailable
from vigil.storage import Conflict, EventStore, NotFound

TOKEN = "test-token"


class EventBatch(BaseModel):
    events: Annotated[list[BatchEvent], Field(max_length=MAX_BATCH_EVENTS)]


class Outages:
    """How many of the next batch requests answer 503."""

    def __init__(self) -> None:
        self.remaining = 0
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.remaining > 0:
                self.remaining -= 1
                return True
            return False


def batch_app(store: EventStore, outages: Outages) -> FastAPI:
    app = FastAPI()

    def authorize(authorization: str | None) -> None:
        if authorization != f"Bearer {TOKEN}":
            raise HTTPException(401, "missing or wrong bearer token")

    @app.post("/events/batch", status_code=202)
    def write_batch(
        batch: EventBatch,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[UUID | None, Header(alias="Idempotency-Key")] = None,
    ) -> BatchWriteResult:
        authorize(authorization)
        if outages.take():
            raise HTTPException(503, "store unavailable")
        try:
            return store.write_batch(batch.events, batch_id=idempotency_key)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from exc

    @app.post("/runs", status_code=201)
    def create_run(run: RunCreate, authorization: Annotated[str | None, Header()] = None) -> Run:
        authorize(authorization)
        return store.create_run(run)

    @app.post("/runs/{run_id}/finish")
    def finish_run(
        run_id: UUID, finish: RunFinish, authorization: Annotated[str | None, Header()] = None
    ) -> Run:
        authorize(authorization)
        try:
            return store.finish_run(run_id, finish)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        except Conflict as exc:
            raise HTTPException(409, str(exc)) from exc

    return app


@pytest.fixture
def outages() -> Outages:
    return Outages()


@pytest.fixture
def server(store: EventStore, outages: Outages) -> Iterator[LiveServer]:
    with LiveServer(batch_app(store, outages)) as live:
        yield live


def test_events_reach_the_store_over_http(
    server: LiveServer, store: EventStore, make_recorder: RecorderFactory
) -> None:
    """Runs are created and finished through the API; steps, logs and measurements arrive
    in batches."""
    recorder = make_recorder(HttpSink(server.url, token=TOKEN), batch_size=500)
    with recorder.run("over-http", agent="a", project_id="p1") as run:
        for i in range(2_000):
            recorder.log_step(run.id, "tool_call", name="search", data={"i": i})
        recorder.log("info", "done searching")
        recorder.measure("tokens_total", 12, "counter")
    assert recorder.close(timeout=30.0)

    stored = store.get_run(run.id)
    assert (stored.status, stored.step_count) == (RunStatus.SUCCEEDED, 2_000)
    assert [s.data["i"] for s in store.list_steps(run.id, after_seq=1_998)] == [1_998, 1_999]
    assert [log.message for log in store.query_logs(run_id=run.id).items] == ["done searching"]
    assert store.query_measurements("tokens_total").items[0].run_id == run.id


def test_http_5xx_is_retried(
    server: LiveServer,
    store: EventStore,
    outages: Outages,
    make_recorder: RecorderFactory,
    registry: CollectorRegistry,
) -> None:
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p1"))
    outages.remaining = 2
    recorder = make_recorder(HttpSink(server.url, token=TOKEN), retry_backoff=0.01)
    for _ in range(10):
        recorder.log_step(run.id, "thought")
    assert recorder.flush(timeout=10.0)

    assert store.get_run(run.id).step_count == 10
    assert outages.remaining == 0
    assert dropped(registry, "sink_error") == 0


def test_http_4xx_rejects_only_the_bad_events(
    server: LiveServer,
    store: EventStore,
    make_recorder: RecorderFactory,
    registry: CollectorRegistry,
) -> None:
    """A 404 for a step of an unknown run splits the batch; the valid steps are stored."""
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p1"))
    recorder = make_recorder(HttpSink(server.url, token=TOKEN), flush_interval=10.0)
    recorder.log_step(run.id, "thought", name="kept-1")
    recorder.log_step(new_id(), "thought", name="unknown run")
    recorder.log_step(run.id, "thought", name="kept-2")
    assert recorder.flush(timeout=10.0)

    assert [s.name for s in store.list_steps(run.id)] == ["kept-1", "kept-2"]
    assert dropped(registry, "rejected") == 1


def test_a_batch_carries_its_id_as_the_idempotency_key(
    server: LiveServer, store: EventStore
) -> None:
    """The batch id travels as ``Idempotency-Key``: posted twice under one id, the batch is
    stored once; without an id, twice."""
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p1"))
    events = [StepEvent(run_id=run.id, step_type=StepType.THOUGHT, name="s") for _ in range(2)]
    sink = HttpSink(server.url, token=TOKEN)
    try:
        batch_id = new_id()
        assert sink.write(events, batch_id=batch_id).steps == 2
        assert sink.write(events, batch_id=batch_id).steps == 2
        assert store.get_run(run.id).step_count == 2
        sink.write(events)
        sink.write(events)
        assert store.get_run(run.id).step_count == 6
    finally:
        sink.close()


def test_status_codes_map_to_sink_errors(server: LiveServer, store: EventStore) -> None:
    """401 (no token) and 409 are rejections; HttpSink raises them for synchronous calls."""
    anonymous = HttpSink(server.url)
    sink = HttpSink(server.url, token=TOKEN)
    try:
        with pytest.raises(SinkRejected, match="401"):
            anonymous.create_run(RunCreate(name="r", agent="a", project_id="p1"))
        run = sink.create_run(RunCreate(name="r", agent="a", project_id="p1"))
        sink.finish_run(run.id, RunFinish(status=RunStatus.FAILED))
        with pytest.raises(SinkRejected, match="409"):
            sink.finish_run(run.id, RunFinish(status=RunStatus.SUCCEEDED))
    finally:
        anonymous.close()
        sink.close()


def test_an_unreachable_controller_is_sink_unavailable(
    make_recorder: RecorderFactory, registry: CollectorRegistry
) -> None:
    """Connection refused: retried, then the batch is dropped as sink_error."""
    with LiveServer(FastAPI()) as live:
        url = live.url  # a port that was just served and is now closed
    sink = HttpSink(url, timeout=1.0)
    with pytest.raises(SinkUnavailable, match="ConnectError"):
        sink.create_run(RunCreate(name="r", agent="a", project_id="p1"))
    recorder = make_recorder(sink, max_attempts=2, retry_backoff=0.01)
    for _ in range(3):
        recorder.log_step(new_id(), "thought")
    assert recorder.flush(timeout=10.0)

    assert dropped(registry, "sink_error") == 3
