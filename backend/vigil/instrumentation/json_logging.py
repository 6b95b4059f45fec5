"""Structured JSON logs: one object per line on stdout, with the request context and no secrets.

Every record carries ``timestamp`` (RFC 3339, UTC), ``service``, ``level``, ``logger``,
``message``, ``request_id`` and ``project_id``; inside a span ``trace_id`` and ``span_id``
(read from the OpenTelemetry context), inside a ``run_context`` ``run_id``; plus whatever the
caller passed in ``extra``.
Uvicorn's loggers are routed through the same handler. Values under sensitive keys are redacted
wherever they appear in the record, and ``key=value`` secrets in free text are masked.

Lines are written in blocks, as established loggers do (zap's ``BufferedWriteSyncer``): a
``JsonLineHandler`` keeps formatted lines and writes them when 64 KiB are waiting, every
``flush_interval`` seconds (50 ms by default), at once for a record of WARNING or above or
of uvicorn's own loggers (its start-up and shutdown lines: uvicorn ends by re-raising
SIGTERM, and a process that dies of a signal runs no ``atexit``), and at shutdown
(``logging.shutdown``, which ``atexit`` runs). A line per write, with a flush each, was most
of what the access log cost. The price: a process killed with SIGKILL (or by the OOM
killer, or by a signal it does not handle) loses the INFO and DEBUG lines of its last
``flush_interval``; warnings and errors are never held. ``flush_interval=0`` writes every
line at once. A process that ``multiprocessing`` forks ends with ``os._exit`` (no
``atexit``): a finalizer of ``multiprocessing``'s writes its lines as it exits.

``uvicorn.run(app)`` applies uvicorn's logging config after the app is built, undoing this
module's; ``uvicorn_logging.restore_logging`` (run by the instrumentation when the app's
lifespan starts) puts it back.

The access record (``access_log.AccessLog``, one per request) takes a fast path: its fields
are known, so the line is built in one dict and serialized by orjson without
python-json-logger's generic steps; every other record goes through python-json-logger.
While every handler an access record would reach takes its observation instead (this
module's, the SDK's ``ExecutionLogHandler``) and no filter would see it, the line is written
with no ``LogRecord`` at all (``JsonLineHandler.emit_access``; ~14,000 instructions a request
less, callgrind); a handler or filter added later, or a record factory of the application's,
is seen on the next request and gets records again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Final, TextIO

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter

from vigil._run_context import current_run_id
from vigil.instrumentation._records import AccessFields, duration_ms, record_extras
from vigil.instrumentation.project_label import current_project_id
from vigil.instrumentation.request_id import current_request_id
from vigil.instrumentation.uvicorn_logging import route_uvicorn_loggers
from vigil.redaction import REDACTED, is_sensitive_key, redact, redact_text
from vigil.tracing._ids import current_trace_ids

if TYPE_CHECKING:
    from vigil.instrumentation.red_metrics import RequestObservation

# Fields filled from trusted sources or redacted already (the access record's structured fields
# among them: none is free text).
_TRUSTED_FIELDS = frozenset(
    {
        "timestamp",
        "service",
        "level",
        "logger",
        "message",
        "request_id",
        "project_id",
        "trace_id",
        "span_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "client",
    }
)

SERVER_LOGGERS: Final = frozenset({"uvicorn", "uvicorn.error"})
"""Written at once whatever their level: the server's start-up and shutdown lines."""
HANDLER_NAME: Final = "vigil-json"
DEFAULT_FLUSH_INTERVAL_S: Final = 0.05
BUFFER_BYTES: Final = 64 * 1024
"""Lines waiting beyond this are written at once."""


class _Rfc3339Clock:
    """``2026-11-22T15:30:00.123Z`` for a record time (the millisecond as ``LogRecord.msecs``
    works it out: ``int(created * 1000)`` would round a time just below a millisecond up).
    The last millisecond's text is kept (records come several per millisecond), and the
    date-and-seconds part of the last second's: a little arithmetic and a compare for a
    record in the same millisecond as the one before."""

    def __init__(self) -> None:
        self._millisecond = -1
        self._text = ""
        self._second = -1
        self._prefix = ""

    def format(self, created: float) -> str:
        second = int(created)
        fraction = int((created - second) * 1000)
        millisecond = second * 1000 + fraction
        if millisecond == self._millisecond:
            return self._text
        return self._made(millisecond, second, fraction)

    def format_ns(self, created_ns: int) -> str:
        """The text for a time in nanoseconds (``time.time_ns()``, the access line's clock):
        one integer division where a float time takes ~0.3 us of arithmetic."""
        millisecond = created_ns // 1_000_000
        if millisecond == self._millisecond:
            return self._text
        second, fraction = divmod(millisecond, 1000)
        return self._made(millisecond, second, fraction)

    def _made(self, millisecond: int, second: int, fraction: int) -> str:
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        text = f"{self._prefix}.{fraction:03d}Z"
        self._millisecond, self._text = millisecond, text
        return text


class VigilJsonFormatter(OrjsonFormatter):
    """python-json-logger's orjson formatter with Vigil's fixed fields and redaction.

    A record's fields come from ``extra=`` or, for the hot access-log path, from a dict message
    (python-json-logger's documented dict-message form), which skips attribute copying.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self._clock = _Rfc3339Clock()

    def format(self, record: logging.LogRecord) -> str:
        fields = record.msg
        if type(fields) is AccessFields:
            return self._access_line(record, fields)
        return super().format(record)

    def _access_line(self, record: logging.LogRecord, fields: AccessFields) -> str:
        return self.access_line(
            self._clock.format(record.created), record.levelname, record.name, fields["method"],
            fields["path"], fields["route"], fields["status"], fields["duration_ms"],
            fields["client"],
        )  # fmt: skip

    def access_line(
        self,
        timestamp: str,
        level: str,
        logger: str,
        method: str,
        path: str,
        route: str,
        status: int,
        duration_ms: float,
        client: str | None,
    ) -> str:
        """An access record's line: the fields ``add_fields`` would give it, in the same
        order, with its path redacted as free text (the rest of its fields are not).
        ``timestamp`` is the text of :meth:`access_time` or of the record's time."""
        path = redact_text(path)  # the message is "METHOD path status"
        line: dict[str, Any] = {
            "timestamp": timestamp,
            "service": self.service,
            "level": level,
            "logger": logger,
            "message": f"{method} {path} {status}",
        }
        _add_context(line)
        line["method"] = method
        line["path"] = path
        line["route"] = route
        line["status"] = status
        line["duration_ms"] = duration_ms
        line["client"] = client
        return orjson.dumps(line).decode()

    def access_time(self) -> str:
        """The text of the time now, for an access line made without a record."""
        return self._clock.format_ns(time.time_ns())

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["timestamp"] = self._clock.format(record.created)
        log_data["service"] = self.service
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = redact_text(str(message_dict.pop("message", record.message)))
        _add_context(log_data)
        exception = message_dict.pop("exc_info", None)
        stack = message_dict.pop("stack_info", None)
        if message_dict:
            log_data.update(message_dict)
        log_data.update(record_extras(record))
        if exception is not None:
            log_data["exception"] = exception
        if stack is not None:
            log_data["stack"] = stack

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        for key, value in log_data.items():
            if key in _TRUSTED_FIELDS:
                continue
            if is_sensitive_key(key):
                log_data[key] = REDACTED
            elif isinstance(value, str):
                log_data[key] = redact_text(value)
            elif isinstance(value, dict | list | tuple):
                log_data[key] = redact(value)
        return log_data


def _add_context(line: dict[str, Any]) -> None:
    """The ids of the context a record was logged in: request, project, span, run."""
    line["request_id"] = current_request_id()
    line["project_id"] = current_project_id()
    ids = current_trace_ids()
    if ids is not None:
        line["trace_id"], line["span_id"] = ids
    run_id = current_run_id()
    if run_id is not None:
        line["run_id"] = str(run_id)


class JsonLineHandler(logging.StreamHandler[TextIO]):
    """A ``StreamHandler`` that writes its lines in blocks: when ``BUFFER_BYTES`` wait, every
    ``flush_interval`` seconds (a daemon thread), at once for ``flush_level`` and above and
    for the ``flush_loggers``' records, and on ``flush``/``close`` (``logging.shutdown`` calls
    both). ``flush_interval=0``: every line at once, as ``StreamHandler`` does."""

    def __init__(
        self,
        stream: TextIO,
        *,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL_S,
        flush_level: int = logging.WARNING,
        flush_loggers: frozenset[str] = SERVER_LOGGERS,
    ) -> None:
        super().__init__(stream)
        if flush_interval < 0:
            raise ValueError("flush_interval must be >= 0")
        self.flush_interval = flush_interval
        self.flush_level = 0 if flush_interval == 0 else flush_level
        self.flush_loggers = flush_loggers
        self._lines: list[str] = []
        """Cleared in place, never replaced: the finalizer below holds this very list."""
        self._waiting = 0
        self._write_failed = False
        self._stopped = threading.Event()
        self._ticker: threading.Thread | None = None
        if flush_interval:
            self._start_ticker()
            _after_fork.add(self)
        # A handler dropped without close() (removeHandler, then its last reference) still
        # writes what waits, as a StreamHandler would have written it already.
        self._finalizer = weakref.finalize(self, _write_rest, self._lines, stream, self.lock)

    @property
    def closed(self) -> bool:
        """Whether ``close`` ran (the handler then writes each line at once)."""
        return self._stopped.is_set()

    def setStream(self, stream: TextIO) -> TextIO | None:  # noqa: N802  (logging's name)
        """``StreamHandler.setStream``: what waits goes to the old stream (as it would have
        been written there already), what follows to ``stream``, at exit too."""
        old = super().setStream(stream)  # flushes (writes what waits) under the lock
        if old is not None:
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _write_rest, self._lines, stream, self.lock)
        return old

    def _start_ticker(self) -> None:
        self._ticker = threading.Thread(
            target=_tick, args=(weakref.ref(self), self._stopped, self.flush_interval),
            name="vigil-log-flush", daemon=True,
        )  # fmt: skip
        self._ticker.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._keep(self.format(record), record.levelno, record.name)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def takes_access(self) -> bool:
        """``AccessLog`` may hand this handler observations (``emit_access``): no filter,
        and this class and formatter, whose line ``emit_access`` writes."""
        return (
            type(self) is JsonLineHandler
            and not self.filters
            and type(self.formatter) is VigilJsonFormatter
        )

    def emit_access(self, request: RequestObservation, logger: str, level: str) -> None:
        """A request's access line, without a ``LogRecord``: what ``handle`` of an INFO
        record (``level``, its name) from ``logger`` would write, formatted under the lock as
        ``handle`` formats (``AccessLog`` calls this only while ``takes_access``)."""
        # As takes_access checked (an annotation, not typing.cast: that is a call a request).
        formatter: VigilJsonFormatter = self.formatter  # type: ignore[assignment]
        try:
            with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
                line = formatter.access_line(
                    formatter.access_time(), level, logger, request.method, request.path,
                    request.endpoint, request.status, duration_ms(request.duration_s),
                    request.client,
                )  # fmt: skip
                self._keep(line, logging.INFO, logger)
        except RecursionError:
            raise
        except Exception:
            # The route template, not the path: the record's text reaches stderr unredacted.
            message = f"access line of {request.method} {request.endpoint}"
            self.handleError(logging.makeLogRecord({"name": logger, "msg": message}))

    def _keep(self, line: str, level: int, logger: str) -> None:
        """Add a formatted line; write what waits if the line or the buffer asks for it
        (the caller holds the handler's lock)."""
        self._lines.append(line)
        self._waiting += len(line)
        if (
            level >= self.flush_level
            or self._waiting >= BUFFER_BYTES
            or logger in self.flush_loggers
        ):
            self._write()

    def _write(self) -> None:
        """Write what waits (the caller holds the handler's lock)."""
        lines = self._lines
        if lines:
            text = "\n".join(lines) + "\n"
            lines.clear()
            self._waiting = 0
            self.stream.write(text)
        self.stream.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # created by Handler.__init__
            if self.stream:
                self._write()

    def close(self) -> None:
        """Stop the ticker and write what waits. A closed handler that is still attached
        (``logging.config.dictConfig``, which ``uvicorn.run`` calls, closes every handler
        but leaves the root's in place) writes each line at once from then on."""
        self._stopped.set()
        self.flush_level = 0
        _after_fork.discard(self)
        self.flush()
        super().close()

    def flush_on_tick(self) -> None:
        """The ticker's flush: a failed write is reported once, as ``handleError`` does,
        and the ticker goes on."""
        with self.lock:  # type: ignore[union-attr]
            if self._stopped.is_set() or not self.stream:
                return
            try:
                self._write()
            except Exception as exc:  # the lines are lost, as StreamHandler loses a record
                self._lines.clear()
                self._waiting = 0
                if not self._write_failed and logging.raiseExceptions and sys.stderr:
                    sys.stderr.write(f"--- Vigil's JSON log handler could not write: {exc!r}\n")
                self._write_failed = True

    def restart_after_fork(self) -> None:
        """In a forked child: the parent's waiting lines are the parent's to write, and the
        ticker thread did not survive the fork."""
        self._lines.clear()
        self._waiting = 0
        self._stopped = threading.Event()
        self._start_ticker()


def _write_rest(lines: list[str], stream: TextIO, lock: Any) -> None:
    """The finalizer's write (also at exit, where it may run before ``logging.shutdown``),
    under the handler's lock; what it writes is taken out of the list, so nothing is
    written twice."""
    with lock:
        if not lines:
            return
        text = "\n".join(lines) + "\n"
        lines.clear()
        with contextlib.suppress(Exception):  # at interpreter exit, the stream may be gone
            stream.write(text)
            stream.flush()


def _tick(
    handler_ref: weakref.ref[JsonLineHandler], stopped: threading.Event, every: float
) -> None:
    while not stopped.wait(every):
        handler = handler_ref()
        if handler is None:
            return
        handler.flush_on_tick()
        del handler


_after_fork: weakref.WeakSet[JsonLineHandler] = weakref.WeakSet()


_flushed_in_processes: weakref.WeakSet[JsonLineHandler] = weakref.WeakSet()


def _before_fork() -> None:
    # A process that ``multiprocessing`` forks (a ``Process``, a ``Pool``'s or a
    # ``ProcessPoolExecutor``'s worker) ends with ``os._exit``: no ``atexit``, so no
    # ``logging.shutdown``. Its exit runs ``multiprocessing``'s own finalizers instead, which
    # it clears as the child starts and then runs the after-fork hooks registered here.
    util = sys.modules.get("multiprocessing.util")  # loaded by whoever forks through it
    for handler in list(_after_fork):
        if util is not None and handler not in _flushed_in_processes:
            util.register_after_fork(handler, _flush_at_process_exit)
            _flushed_in_processes.add(handler)
    # Every write of these handlers happens under their lock: holding them across the fork
    # means no ticker is inside a write (holding the stream's own lock) when the child is
    # made, so the child's first write cannot wait for ever on a lock nobody will release.
    for handler in list(_after_fork):
        handler.acquire()


def _flush_at_process_exit(handler: JsonLineHandler) -> None:
    """In a process ``multiprocessing`` forked: write what waits when it exits normally."""
    from multiprocessing.util import Finalize

    Finalize(handler, handler.flush, exitpriority=-100)  # after the others: their lines too


def _after_fork_in_parent() -> None:
    for handler in list(_after_fork):
        handler.release()


def _after_fork_in_child() -> None:
    for handler in list(_after_fork):
        # logging's own at-fork hook (registered first) may have made the lock anew.
        with contextlib.suppress(RuntimeError):
            handler.release()
        handler.restart_after_fork()


os.register_at_fork(
    before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
)


def flush_logs() -> None:
    """Write the JSON lines waiting in Vigil's handler now (tests, before an ``os._exit``)."""
    for handler in logging.getLogger().handlers:
        if handler.get_name() == HANDLER_NAME:
            handler.flush()


def configure_logging(
    service: str,
    level: str = "INFO",
    stream: TextIO | None = None,
    *,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL_S,
) -> None:
    """Send every log record, uvicorn's included, to ``stream`` (stdout) as one JSON line,
    written in blocks at most ``flush_interval`` seconds apart (WARNING and above at once;
    0: every line at once).

    Idempotent: calling it again replaces the handler instead of adding another.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == HANDLER_NAME:
            root.removeHandler(existing)
            existing.close()  # before the new one takes the name: close() unregisters it
    handler = JsonLineHandler(stream or sys.stdout, flush_interval=flush_interval)
    handler.setFormatter(VigilJsonFormatter(service))
    handler.set_name(HANDLER_NAME)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # None of these reach the JSON, and LogRecord looks each up for every record: the logging
    # docs' "Optimization" section switches them off the same way.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    if hasattr(logging, "logAsyncioTasks"):  # Python 3.12+
        logging.logAsyncioTasks = False
    route_uvicorn_loggers()
