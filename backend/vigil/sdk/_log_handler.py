"""``ExecutionLogHandler``: the agent's own ``logging`` records, stored as execution logs.

Install it on the root logger next to the JSON handler. With ``scope="runs"`` (the default for
agents) a record is kept when it is emitted inside a ``run_context`` or carries ``run_id`` in
its ``extra``; every other record costs one ContextVar read and is ignored. With
``scope="all"`` (the controller's setting) every record at or above the handler's level is
kept, so a request's access record can be found by its request id. Kept records are queued
on the recorder without waiting for room (a full queue drops them, counted), so logging never
blocks on the store.

Recursion: the SDK's own records (logger ``vigil.sdk``, e.g. its drop warnings), records
emitted while this handler is already handling one on the same thread, and records emitted on
the recorder's writer thread (database and HTTP client logs) are never queued.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Final, Literal
from uuid import UUID

from vigil._run_context import current_run_id, current_step_id
from vigil.instrumentation._records import access_fields, record_extras
from vigil.models import LogLevel
from vigil.sdk._recorder import AgentRecorder

if TYPE_CHECKING:
    from vigil.instrumentation.red_metrics import RequestObservation

SDK_LOGGER: Final = "vigil.sdk"
# Carried as columns of the stored record, not as attributes.
_COLUMN_EXTRAS: Final = frozenset({"run_id", "step_id"})
_exception_formatter = logging.Formatter()


def log_level(levelno: int) -> LogLevel:
    """The stored level of a ``logging`` level number (custom levels round down)."""
    if levelno >= logging.CRITICAL:
        return LogLevel.CRITICAL
    if levelno >= logging.ERROR:
        return LogLevel.ERROR
    if levelno >= logging.WARNING:
        return LogLevel.WARNING
    if levelno >= logging.INFO:
        return LogLevel.INFO
    return LogLevel.DEBUG


class ExecutionLogHandler(logging.Handler):
    """Queues the log records of runs on an ``AgentRecorder``."""

    def __init__(
        self,
        recorder: AgentRecorder,
        level: int = logging.NOTSET,
        *,
        scope: Literal["runs", "all"] = "runs",
    ) -> None:
        super().__init__(level)
        self.recorder = recorder
        self.keep_all = scope == "all"
        self._local = threading.local()

    def handle(self, record: logging.LogRecord) -> bool:
        # No handler lock: emit only reads the record and appends to a thread-safe queue,
        # and every record of the process passes through here.
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        extras = record.__dict__
        # ``extra={"run_id": ...}`` wins over the enclosing run_context.
        run_id: Any = extras.get("run_id") or current_run_id()
        if not self._admits(run_id, record.name):
            return
        self._local.busy = True
        try:
            step_id = extras.get("step_id") or current_step_id()
            self.recorder.log(
                log_level(record.levelno),
                _message(record),
                run_id=run_id if run_id is None or isinstance(run_id, UUID) else str(run_id),
                step_id=step_id if step_id is None or isinstance(step_id, UUID) else str(step_id),
                logger=record.name,
                attributes=_attributes(record),
                timestamp=record.created,
                wait=False,
            )
        except Exception:
            self.handleError(record)
        finally:
            self._local.busy = False

    def takes_access(self) -> bool:
        """The instrumentation's ``AccessLog`` may hand this handler a request's observation
        in place of its access record (``emit_access``): no filter, and this very class."""
        return type(self) is ExecutionLogHandler and not self.filters

    def emit_access(self, request: RequestObservation, logger: str, level: str) -> None:
        """What ``emit`` of the request's INFO access record from ``logger`` would queue
        (its message, and its fields as attributes), with no ``LogRecord``: in the
        controller every request's record reaches this handler."""
        run_id = current_run_id()
        if not self._admits(run_id, logger):
            return
        self._local.busy = True
        try:
            attributes = access_fields(request)
            message = attributes.pop("message")
            self.recorder.log(
                LogLevel.INFO, message, run_id=run_id, step_id=current_step_id(), logger=logger,
                attributes=attributes, timestamp=time.time(), wait=False,
            )  # fmt: skip
        except Exception:
            # The route template, not the path: the record's text reaches stderr unredacted.
            text = f"access record of {request.method} {request.endpoint}"
            self.handleError(logging.makeLogRecord({"name": logger, "msg": text}))
        finally:
            self._local.busy = False

    def _admits(self, run_id: object, logger: str) -> bool:
        """Whether a record of ``logger`` (in run ``run_id``) is kept, by ``emit`` and by
        ``emit_access`` alike: in scope, and not one that would feed the queue back (the SDK's
        own, one emitted while this thread queues another, one of the recorder's writer)."""
        if run_id is None and not self.keep_all:
            return False
        if logger.startswith(SDK_LOGGER) or getattr(self._local, "busy", False):
            return False
        return not self.recorder.in_writer_thread()


def _message(record: logging.LogRecord) -> str:
    if isinstance(record.msg, dict):  # python-json-logger's structured form (access records)
        return str(record.msg.get("message", ""))
    try:
        return record.getMessage()
    except Exception:  # bad format arguments: keep the template rather than lose the record
        return str(record.msg)


def _attributes(record: logging.LogRecord) -> dict[str, Any] | None:
    attributes: dict[str, Any] = {}
    if isinstance(record.msg, dict):
        attributes = {k: v for k, v in record.msg.items() if k != "message"}
    attributes |= record_extras(record, exclude=_COLUMN_EXTRAS)
    if record.exc_info:
        attributes["exception"] = record.exc_text or _exception_formatter.formatException(
            record.exc_info
        )
    if record.stack_info:
        attributes["stack"] = record.stack_info
    return attributes or None
