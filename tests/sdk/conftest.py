"""Fixtures of the SDK tests: real stores of both backends, recorders that are always
closed, a sink that can be stalled or broken on demand, and a real HTTP server.

The store fixtures (``store_url``, ``store``: SQLite and PostgreSQL) come from tests/conftest.py.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

import pytest
import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from vigil.models import (
    BatchEvent,
    BatchItem,
    BatchWriteResult,
    Run,
    RunCreate,
    RunFinish,
    StepRecord,
    new_id,
)
from vigil.sdk import AgentRecorder, EventSink, SinkRejected, SinkUnavailable
from vigil.sdk._events import dump_batch, load_batch
from vigil.storage import EventStore

SERVICE = "test-agent"
STALL_RUN = new_id()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """A metric's value in ``registry`` (0 when the series does not exist)."""
    return registry.get_sample_value(name, {"service": SERVICE, **labels}) or 0.0


def dropped(registry: CollectorRegistry, reason: str) -> float:
    return sample(registry, "sdk_events_dropped_total", reason=reason)


RecorderFactory = Callable[..., AgentRecorder]


@pytest.fixture
def make_recorder(registry: CollectorRegistry) -> Iterator[RecorderFactory]:
    """Builds recorders on the test's registry; every one is closed at teardown."""
    made: list[AgentRecorder] = []

    def make(sink: EventSink, **options: Any) -> AgentRecorder:
        options.setdefault("service", SERVICE)
        options.setdefault("registry", registry)
        recorder = AgentRecorder(sink, **options)
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.close(timeout=5.0)


@pytest.fixture
def run(store: EventStore) -> Run:
    return store.create_run(RunCreate(name="test", agent="agent", project_id="p1"))


@pytest.fixture(params=[False, True], ids=["models", "records"])
def either_event_form(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a test with ``ScriptedSink`` taking models, and again taking records (as the
    store and HTTP sinks do): the spool, the split of a refused batch and the retries see
    ``StepRecord`` items only in the second form."""
    monkeypatch.setattr(ScriptedSink, "takes_records", request.param)


class ScriptedSink(EventSink):
    """A sink in memory whose failures are scripted, and which can be stalled.

    ``failures`` is consumed one entry per ``write`` call: an exception to raise, or None to
    succeed. ``gate`` blocks every ``write`` until it is set. ``batch_ids`` has the id of
    every call, failed ones included. While ``down`` is set, every call raises it (an outage
    of unknown length).
    """

    def __init__(self, failures: Sequence[BaseException | None] = ()) -> None:
        self.failures = list(failures)
        self.gate = threading.Event()
        self.gate.set()
        self.calls = 0
        self.records_seen = 0
        """Steps that came as ``StepRecord`` (failed calls included)."""
        self.written: list[BatchEvent] = []
        self.batch_ids: list[UUID | None] = []
        self.batch_sizes: list[int] = []
        """The events of every call, failed ones included."""
        self.down: BaseException | None = None
        self.entered = threading.Event()
        self.closed = False
        self._lock = threading.Lock()

    def write(
        self, events: Sequence[BatchItem], *, batch_id: UUID | None = None
    ) -> BatchWriteResult:
        self.entered.set()
        self.gate.wait()
        with self._lock:
            self.calls += 1
            self.batch_ids.append(batch_id)
            self.batch_sizes.append(len(events))
            self.records_seen += sum(type(event) is StepRecord for event in events)
            failure = self.failures.pop(0) if self.failures else self.down
            if failure is not None:
                raise failure
            if any(type(event) is StepRecord for event in events):
                # What the records stand for, so the tests' assertions read models either way.
                events = load_batch(dump_batch(events))
            self.written.extend(events)
        return BatchWriteResult(steps=len(events))

    def create_run(self, run: RunCreate) -> Run:
        raise SinkUnavailable("scripted sink has no runs")

    def finish_run(self, run_id: UUID, finish: RunFinish) -> Run:
        raise SinkRejected("scripted sink has no runs")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def scripted_sink() -> Iterator[ScriptedSink]:
    sink = ScriptedSink()
    yield sink
    sink.gate.set()  # never leave a writer thread parked


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


class LiveServer:
    """An ASGI app served by a real uvicorn on a free localhost port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, lifespan="off", ws="none", log_config=None, access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        wait_until(lambda: self._server.started, timeout=10.0)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10.0)
        self._socket.close()


def saturate(recorder: AgentRecorder, sink: ScriptedSink) -> int:
    """Stall ``sink`` with one event inside it: every event recorded next stays queued.
    Returns how many events it recorded (1)."""
    sink.gate.clear()
    recorder.log_step(STALL_RUN, "thought")
    assert sink.entered.wait(5.0)
    wait_until(lambda: recorder.queue_depth == 0)
    return 1
