"""The JSON lines are written in blocks: INFO waits at most the flush interval, WARNING and
above never wait, a full buffer or a shutdown writes at once; and the access record's fast
path gives the line python-json-logger's path would."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.python_runs import run_python
from vigil.instrumentation._records import AccessFields
from vigil.instrumentation.access_log import AccessLog, _direct_handlers
from vigil.instrumentation.json_logging import (
    BUFFER_BYTES,
    JsonLineHandler,
    VigilJsonFormatter,
    configure_logging,
    flush_logs,
)
from vigil.instrumentation.red_metrics import RequestObservation


def messages(out: io.StringIO) -> list[str]:
    return [json.loads(line)["message"] for line in out.getvalue().splitlines()]


def test_info_waits_and_a_warning_writes_everything_before_it(stream: io.StringIO) -> None:
    log = logging.getLogger("buffered")
    log.info("one")
    log.debug("two")
    assert messages(stream) == []
    log.warning("three")
    assert messages(stream) == ["one", "two", "three"]


def test_waiting_lines_are_written_within_the_interval(stream: io.StringIO) -> None:
    logging.getLogger("buffered").info("soon")
    deadline = time.monotonic() + 5
    while not messages(stream) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert messages(stream) == ["soon"]


def test_a_full_buffer_and_flush_logs_write_at_once(stream: io.StringIO) -> None:
    log = logging.getLogger("buffered")
    log.info("x" * 100)
    flush_logs()
    assert len(messages(stream)) == 1
    for _ in range(BUFFER_BYTES // 100 + 1):
        log.info("y" * 100)
    assert len(messages(stream)) > 1  # the buffer filled: written without waiting


def test_no_interval_writes_every_line_at_once() -> None:
    out = io.StringIO()
    handler = JsonLineHandler(out, flush_interval=0)
    handler.setFormatter(VigilJsonFormatter("svc"))
    record = logging.LogRecord("x", logging.INFO, "", 0, "now", (), None)
    handler.handle(record)
    assert messages(out) == ["now"]
    with pytest.raises(ValueError, match="flush_interval"):
        JsonLineHandler(out, flush_interval=-1)


def test_waiting_lines_are_written_at_exit_and_a_fork_does_not_repeat_them(
    tmp_path: Path,
) -> None:
    """A normal exit runs logging.shutdown: nothing waiting is lost. A child forked while
    lines wait does not write the parent's lines a second time."""
    program = (
        "import logging, os, sys\n"
        "from vigil.instrumentation.json_logging import configure_logging\n"
        "configure_logging('svc', flush_interval=5)\n"
        "logging.getLogger('p').info('before the fork')\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    logging.getLogger('c').info('in the child')\n"
        "    logging.shutdown()\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "logging.getLogger('p').info('after the fork')\n"
    )
    stdout = run_python(program)
    lines = [json.loads(line)["message"] for line in stdout.splitlines()]
    assert sorted(lines) == ["after the fork", "before the fork", "in the child"]


def test_the_access_records_fast_path_gives_the_generic_line() -> None:
    """The same access record, formatted by the fast path and by python-json-logger's
    generic path (a plain dict message): the same fields, in the same order, the path
    redacted in both."""
    formatter = VigilJsonFormatter("svc")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("vigil.access.fast-path-test")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(Keep())
    for path in ("/items/42", "/reset/password=hunter2"):
        AccessLog(logger).emit(
            RequestObservation("GET", path, "/items/{id}", 200, 0.0123, "p1", "1.2.3.4:5")
        )
    # A record built from the template has what LogRecord.__init__ gives every record.
    made = logger.makeRecord(logger.name, logging.INFO, "", 0, {}, (), None)
    assert records[0].__dict__.keys() == made.__dict__.keys()
    assert abs(records[0].created - time.time()) < 60
    for record in records:
        assert type(record.msg) is AccessFields
        fast = json.loads(formatter.format(record))
        record.msg = dict(record.msg)
        generic = json.loads(formatter.format(record))
        assert list(fast.items()) == list(generic.items())
    assert "hunter2" not in json.dumps(fast)


def test_the_servers_own_lines_are_written_at_once(stream: io.StringIO) -> None:
    """uvicorn re-raises SIGTERM after its shutdown (no atexit runs): its lines never wait,
    and they write what waited before them."""
    logging.getLogger("app").info("stopping")
    logging.getLogger("uvicorn.error").info("Finished server process [1]")
    assert messages(stream) == ["stopping", "Finished server process [1]"]


def test_access_records_follow_a_record_factory_and_a_fork(tmp_path: Path) -> None:
    """An application's record factory makes the access records; in a forked child they
    carry the child's process id, not the template's."""
    program = (
        "import logging, os, json\n"
        "from vigil.instrumentation.access_log import AccessLog\n"
        "from vigil.instrumentation.red_metrics import RequestObservation\n"
        "seen = []\n"
        "class Keep(logging.Handler):\n"
        "    def emit(self, record): seen.append(record)\n"
        "logger = logging.getLogger('vigil.access.t'); logger.propagate = False\n"
        "logger.setLevel(logging.INFO); logger.addHandler(Keep())\n"
        "access = AccessLog(logger)\n"
        "hit = RequestObservation('GET', '/', '/', 200, 0.001, '', None)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    access.emit(hit)\n"
        "    os._exit(0 if seen[0].process == os.getpid() else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "plain = logging.getLogRecordFactory()\n"
        "def factory(*args, **kwargs):\n"
        "    record = plain(*args, **kwargs); record.tenant = 'acme'; return record\n"
        "logging.setLogRecordFactory(factory)\n"
        "access.emit(hit)\n"
        "print(json.dumps({'child': os.waitstatus_to_exitcode(status),"
        " 'tenant': getattr(seen[-1], 'tenant', None)}))\n"
    )
    stdout = run_python(program)
    assert json.loads(stdout) == {"child": 0, "tenant": "acme"}


def test_a_handler_closed_by_dictconfig_still_writes(stream: io.StringIO) -> None:
    """``dictConfig`` (``uvicorn.run`` calls it) closes every handler but leaves the root's
    attached: from then on its lines are written at once instead of waiting for a ticker
    that stopped."""
    import logging.config

    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    logging.getLogger("after").info("still written")
    assert messages(stream)[-1] == "still written"


def test_the_ticker_survives_a_failed_write(capsys: pytest.CaptureFixture[str]) -> None:
    class Flaky(io.StringIO):
        failures = 1

        def write(self, text: str) -> int:
            if self.failures:
                self.failures -= 1
                raise OSError("disk full")
            return super().write(text)

    out = Flaky()
    handler = JsonLineHandler(out, flush_interval=0.02)
    handler.setFormatter(VigilJsonFormatter("svc"))
    try:
        handler.handle(logging.LogRecord("x", logging.INFO, "", 0, "lost", (), None))
        time.sleep(0.2)  # the ticker's write fails, once
        handler.handle(logging.LogRecord("x", logging.INFO, "", 0, "written", (), None))
        deadline = time.monotonic() + 5
        while "written" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert messages(out) == ["written"]
        assert capsys.readouterr().err.count("could not write") == 1
    finally:
        handler.close()


def test_a_dropped_handler_writes_what_waited() -> None:
    import gc

    out = io.StringIO()
    handler = JsonLineHandler(out, flush_interval=60)
    handler.setFormatter(VigilJsonFormatter("svc"))
    handler.handle(logging.LogRecord("x", logging.INFO, "", 0, "waiting", (), None))
    assert out.getvalue() == ""
    del handler
    gc.collect()
    assert messages(out) == ["waiting"]


def test_configuring_again_keeps_the_handlers_name() -> None:
    configure_logging("svc", stream=io.StringIO(), flush_interval=0)
    configure_logging("svc", stream=io.StringIO(), flush_interval=0)
    (handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "vigil-json"]
    assert vars(logging)["_handlers"].get("vigil-json") is handler  # where dictConfig looks


def test_access_records_carry_no_stale_thread(stream: io.StringIO) -> None:
    """configure_logging turns thread fields off: the template's are not carried over."""
    logging.logThreads = True
    access = AccessLog()
    logging.logThreads = False
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    logging.getLogger().addHandler(keep)
    try:
        access.emit(RequestObservation("GET", "/", "/", 200, 0.001, "", None))
    finally:
        logging.getLogger().removeHandler(keep)
    assert (records[0].thread, records[0].threadName) == (None, None)


@contextlib.contextmanager
def only_vigils_handler() -> Iterator[None]:
    """The root logger with Vigil's handler alone, as in a served app (pytest adds its own
    capturing handlers to the root for each test phase)."""
    root = logging.getLogger()
    others = [h for h in root.handlers if h.get_name() != "vigil-json"]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


def _access_lines(out: io.StringIO) -> list[dict[str, object]]:
    flush_logs()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == "vigil.access"]


def test_access_records_skip_the_log_record_and_write_the_same_line(
    stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With configure_logging's handler the only one, an access line is formatted without a
    LogRecord; a filter on the access logger sends it the usual way (a record, the
    handler's handle): the two lines are the same but for their time."""
    access = AccessLog()
    hit = RequestObservation("GET", "/reset/password=hunter2", "/reset", 200, 0.0123, "", "h:1")
    access_logger = logging.getLogger("vigil.access")
    passing = logging.Filter()
    direct_writes: list[str] = []
    emit_access = JsonLineHandler.emit_access

    def counted(handler: JsonLineHandler, *args: Any) -> None:
        direct_writes.append(args[1])
        emit_access(handler, *args)

    monkeypatch.setattr(JsonLineHandler, "emit_access", counted)
    with only_vigils_handler():
        assert _direct_handlers(access_logger) is not None
        access.emit(hit)
        access_logger.addFilter(passing)
        try:
            assert _direct_handlers(access_logger) is None
            access.emit(hit)
        finally:
            access_logger.removeFilter(passing)
    assert direct_writes == ["vigil.access"], "the first line only took the direct path"
    direct, through_a_record = _access_lines(stream)
    assert direct.pop("timestamp")
    assert through_a_record.pop("timestamp")
    assert list(direct.items()) == list(through_a_record.items())
    assert "hunter2" not in json.dumps(direct)


def test_a_handler_or_filter_added_later_sees_the_access_records(stream: io.StringIO) -> None:
    """The direct path is taken only while nothing else would see the record."""
    access = AccessLog()
    hit = RequestObservation("GET", "/", "/", 200, 0.001, "", None)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    keep = Keep()
    with only_vigils_handler():
        root.addHandler(keep)
        try:
            access.emit(hit)
        finally:
            root.removeHandler(keep)
    assert len(records) == 1
    assert type(records[0].msg) is AccessFields

    (json_handler,) = [h for h in root.handlers if h.get_name() == "vigil-json"]
    json_handler.addFilter(lambda record: False)
    with only_vigils_handler():
        try:
            access.emit(hit)
        finally:
            json_handler.filters.clear()
    assert len(_access_lines(stream)) == 1, "its filter dropped the second record"


def test_a_failing_access_write_is_reported_as_handlers_report_it(
    stream: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write that fails on the direct path goes to ``handleError`` (stderr), like any
    record's, and the request goes on."""
    (json_handler,) = [h for h in logging.getLogger().handlers if h.get_name() == "vigil-json"]
    assert isinstance(json_handler, JsonLineHandler)
    json_handler.flush_level = 0  # write at once, into a closed stream
    stream.close()
    with only_vigils_handler():
        assert _direct_handlers(logging.getLogger("vigil.access")) is not None
        AccessLog().emit(RequestObservation("GET", "/", "/", 200, 0.001, "", None))
    assert "ValueError" in capsys.readouterr().err


def _json_handler() -> JsonLineHandler:
    handler = JsonLineHandler(io.StringIO(), flush_interval=0)
    handler.setFormatter(VigilJsonFormatter("svc"))
    return handler


@pytest.mark.parametrize(
    "case",
    ["json-here", "warning-only-skipped", "plain-handler", "propagation-stops", "no-handler",
     "filtered"],
)  # fmt: skip
def test_the_direct_path_reaches_the_handlers_a_record_would(case: str) -> None:
    """``_direct_handlers`` finds what ``Logger.callHandlers`` would call with an INFO
    record, or None when one of them needs the record (or none is there: lastResort)."""
    parent = logging.getLogger("tests.direct-path")
    child = logging.getLogger("tests.direct-path.access")
    parent.propagate = False
    json_handler, plain = _json_handler(), logging.Handler()
    warning_only = _json_handler()
    warning_only.setLevel(logging.WARNING)
    on_child: list[logging.Handler] = []
    on_parent: list[logging.Handler] = []
    expected: list[logging.Handler] | None
    if case == "json-here":
        on_child, expected = [json_handler], [json_handler]
    elif case == "warning-only-skipped":  # it would not handle an INFO record
        on_child, on_parent, expected = [warning_only], [json_handler], [json_handler]
    elif case == "plain-handler":
        on_child, on_parent, expected = [json_handler], [plain], None
    elif case == "propagation-stops":
        on_child, on_parent, expected = [json_handler], [plain], [json_handler]
        child.propagate = False
    elif case == "no-handler":
        expected = None
    else:
        json_handler.addFilter(logging.Filter())
        on_child, expected = [json_handler], None
    for handler in on_child:
        child.addHandler(handler)
    for handler in on_parent:
        parent.addHandler(handler)
    try:
        assert _direct_handlers(child) == expected
    finally:
        child.handlers.clear()
        parent.handlers.clear()
        child.propagate = parent.propagate = True


def test_lines_waiting_at_exit_go_to_the_stream_set_last(tmp_path: Path) -> None:
    """``setStream`` (a redirect, a rotation): what waits is written to the old stream, what
    is logged after it to the new one, at exit too."""
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    run_python(
        "import logging\n"
        "from vigil.instrumentation.json_logging import configure_logging, HANDLER_NAME\n"
        f"first, second = open({str(first)!r}, 'w'), open({str(second)!r}, 'w')\n"
        "configure_logging('svc', stream=first, flush_interval=60)\n"
        "logging.getLogger('app').info('before the switch')\n"
        "(h,) = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]\n"
        "h.setStream(second)\n"
        "logging.getLogger('app').info('last line before exit')\n"
    )
    assert [json.loads(line)["message"] for line in first.read_text().splitlines()] == [
        "before the switch"
    ]
    assert [json.loads(line)["message"] for line in second.read_text().splitlines()] == [
        "last line before exit"
    ]


def test_processes_multiprocessing_forks_write_their_lines_at_exit() -> None:
    """A forked ``Process`` and a ``Pool``'s workers end with ``os._exit`` (no ``atexit``):
    their INFO lines were lost, however they exited."""
    out = run_python(
        "import logging, multiprocessing\n"
        "from vigil.instrumentation.json_logging import configure_logging\n"
        "configure_logging('svc', flush_interval=60)\n"
        "def work(n):\n"
        "    logging.getLogger('child').info('child %s', n)\n"
        "    return n\n"
        "if __name__ == '__main__':\n"
        "    fork = multiprocessing.get_context('fork')\n"
        "    process = fork.Process(target=work, args=(0,))\n"
        "    process.start(); process.join()\n"
        "    pool = fork.Pool(2)\n"
        "    assert pool.map(work, [1, 2, 3]) == [1, 2, 3]\n"
        "    pool.close(); pool.join()\n"
        "    logging.getLogger('parent').info('parent done')\n"
    )
    messages = sorted(json.loads(line)["message"] for line in out.splitlines())
    assert messages == ["child 0", "child 1", "child 2", "child 3", "parent done"]
