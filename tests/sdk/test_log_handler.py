"""ExecutionLogHandler: log records of runs become stored execution logs; others are ignored."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tests.sdk.conftest import SERVICE, RecorderFactory, ScriptedSink, dropped
from vigil.instrumentation.access_log import AccessLog
from vigil.instrumentation.json_logging import JsonLineHandler, VigilJsonFormatter
from vigil.instrumentation.red_metrics import RequestObservation
from vigil.instrumentation.request_id import bind_request_id, reset_request_id
from vigil.models import LogLevel, Run, new_id
from vigil.sdk import AgentRecorder, ExecutionLogHandler, StoreSink, run_context
from vigil.storage import EventStore


@pytest.fixture
def recorder(store: EventStore, make_recorder: RecorderFactory) -> AgentRecorder:
    return make_recorder(StoreSink(store))


@pytest.fixture
def agent_logger(recorder: AgentRecorder) -> Iterator[logging.Logger]:
    """A logger whose records go through an ExecutionLogHandler (and nowhere else)."""
    handler = ExecutionLogHandler(recorder)
    log = logging.getLogger("tests.sdk.agent")
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    log.propagate = False
    yield log
    log.removeHandler(handler)
    log.propagate = True


def test_records_inside_a_run_context_are_stored(
    store: EventStore, run: Run, recorder: AgentRecorder, agent_logger: logging.Logger
) -> None:
    """Level, logger, message, extras, run and step ids are kept; records outside a run
    context are ignored."""
    step_id = new_id()
    agent_logger.info("before any run")
    with run_context(run.id, step_id=step_id):
        agent_logger.warning("calling %s", "search", extra={"tool": "search", "attempt": 2})
        agent_logger.debug("details")
    agent_logger.error("after the run")
    assert recorder.flush()

    logs = store.query_logs(run_id=run.id).items
    assert [(log.level, log.message) for log in logs] == [
        (LogLevel.WARNING, "calling search"),
        (LogLevel.DEBUG, "details"),
    ]
    first = logs[0]
    assert (first.logger, first.service, first.step_id) == ("tests.sdk.agent", SERVICE, step_id)
    assert first.attributes == {"tool": "search", "attempt": 2}
    assert len(store.query_logs().items) == 2


def test_a_run_id_in_extra_is_enough(
    store: EventStore, run: Run, recorder: AgentRecorder, agent_logger: logging.Logger
) -> None:
    agent_logger.info("tagged by hand", extra={"run_id": str(run.id)})
    assert recorder.flush()

    (log,) = store.query_logs(run_id=run.id).items
    assert log.message == "tagged by hand"
    assert log.attributes == {}


def test_exceptions_are_kept_and_secrets_redacted(
    store: EventStore, run: Run, recorder: AgentRecorder, agent_logger: logging.Logger
) -> None:
    with run_context(run.id):
        try:
            raise ValueError("bad input")
        except ValueError:
            agent_logger.exception("tool failed, password=hunter2", extra={"api_key": "k-1"})
    assert recorder.flush()

    (log,) = store.query_logs(run_id=run.id).items
    assert log.level == LogLevel.ERROR
    assert "hunter2" not in log.message
    assert log.attributes["api_key"] == "[REDACTED]"
    assert "ValueError: bad input" in str(log.attributes["exception"])


def test_the_sdk_own_warnings_are_not_fed_back(
    scripted_sink: ScriptedSink,
    make_recorder: RecorderFactory,
    registry: CollectorRegistry,
) -> None:
    """With the handler on the root logger and a full queue, the drop warnings (logged by
    ``vigil.sdk``) are not queued again: no loop, and logging never waits for room."""
    recorder = make_recorder(scripted_sink, batch_size=1, max_queue=1, put_timeout=5.0)
    handler = ExecutionLogHandler(recorder)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        scripted_sink.gate.clear()
        with run_context(new_id()):
            logging.getLogger("tests.sdk.agent").warning("first")
            assert scripted_sink.entered.wait(5.0)
            for n in range(100):
                logging.getLogger("tests.sdk.agent").warning("record %d", n)
    finally:
        root.removeHandler(handler)
    scripted_sink.gate.set()
    assert recorder.close(timeout=5.0)

    assert len(scripted_sink.written) == 2
    assert dropped(registry, "queue_full") == 99


def test_scope_all_keeps_every_record_with_its_request_id(
    store: EventStore, recorder: AgentRecorder
) -> None:
    """With scope="all" (the controller's setting) records outside runs are stored too, at or
    above the handler's level; a structured (dict) message keeps its fields as attributes."""
    handler = ExecutionLogHandler(recorder, level=logging.INFO, scope="all")
    log = logging.getLogger("tests.sdk.all")
    log.setLevel(logging.DEBUG)
    log.addHandler(handler)
    log.propagate = False
    try:
        log.debug("below the level")
        log.info("no run here")
        AccessLog(log).emit(
            RequestObservation("GET", "/runs", "/runs", 200, 0.002, "none", "127.0.0.1:1")
        )
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert recorder.flush()
    logs = store.query_logs().items
    assert [log.message for log in logs] == ["no run here", "GET /runs 200"]
    assert logs[1].attributes["route"] == "/runs"
    assert logs[1].attributes["status"] == 200
    assert logs[0].run_id is None


def test_access_records_stored_directly_are_those_a_record_would_store(
    store: EventStore, run: Run, recorder: AgentRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Vigil's JSON line handler and this handler the only ones an access record
    reaches (the controller's logging), the record is made by neither: each handler takes
    the request's observation. A filter on the access logger sends the record the usual way
    (a ``LogRecord`` through ``handle``): the stored logs and the JSON lines are the same but
    for their time; ids of the run, step and request context are kept; the path redacted."""
    out = io.StringIO()
    json_handler = JsonLineHandler(out, flush_interval=0)
    json_handler.setFormatter(VigilJsonFormatter("svc"))
    handler = ExecutionLogHandler(recorder, level=logging.INFO, scope="all")
    log = logging.getLogger("tests.sdk.access-direct")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(json_handler)
    log.addHandler(handler)
    direct: list[str] = []
    emit_access = ExecutionLogHandler.emit_access

    def counted(self: ExecutionLogHandler, *args: Any) -> None:
        direct.append(args[1])
        emit_access(self, *args)

    monkeypatch.setattr(ExecutionLogHandler, "emit_access", counted)
    hit = RequestObservation("POST", "/reset/password=hunter2", "/reset", 201, 0.0042, "p", "h:1")
    access = AccessLog(log)
    step_id = new_id()
    token = bind_request_id("req-direct-1")
    try:
        with run_context(run.id, step_id=step_id):
            access.emit(hit)
            log.addFilter(logging.Filter())
            access.emit(hit)
    finally:
        reset_request_id(token)
        log.filters.clear()
        log.removeHandler(handler)
        log.removeHandler(json_handler)
        log.propagate = True
    assert direct == [log.name], "only the first record took the direct path"
    assert recorder.flush()
    first, second = store.query_logs(run_id=run.id).items
    fields = ("level", "message", "logger", "service", "run_id", "step_id", "request_id",
              "attributes", "project_id")  # fmt: skip
    assert [getattr(first, f) for f in fields] == [getattr(second, f) for f in fields]
    assert (first.step_id, first.request_id) == (step_id, "req-direct-1")
    assert first.attributes["route"] == "/reset"
    assert "hunter2" not in first.model_dump_json()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert line.pop("timestamp")
    assert list(lines[0].items()) == list(lines[1].items())


def test_the_direct_path_keeps_the_runs_scope(
    store: EventStore, run: Run, recorder: AgentRecorder
) -> None:
    """With scope="runs" (agents) an access record outside a run is not stored, one inside
    is: as for a record."""
    handler = ExecutionLogHandler(recorder, level=logging.INFO)
    log = logging.getLogger("tests.sdk.access-runs")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(handler)
    access = AccessLog(log)
    try:
        access.emit(RequestObservation("GET", "/outside", "/outside", 200, 0.001, "", None))
        with run_context(run.id):
            access.emit(RequestObservation("GET", "/inside", "/inside", 200, 0.001, "", None))
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert recorder.flush()
    assert [entry.message for entry in store.query_logs().items] == ["GET /inside 200"]
