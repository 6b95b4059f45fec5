"""ExecutionLogHandler: log records of runs become stored execution logs; others are ignored."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from tests.sdk.conftest import SERVICE, RecorderFactory, ScriptedSink, dropped
from vigil.instrumentation.access_log import AccessLog
from vigil.instrumentation.red_metrics import RequestObservation
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
