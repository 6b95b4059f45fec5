"""One access log record per request, with the request id, route template and duration."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import weakref
from typing import Any, Protocol

from vigil.instrumentation._records import AccessFields, access_fields
from vigil.instrumentation.red_metrics import RequestObservation

ACCESS_LOGGER = "vigil.access"


class AccessHandler(Protocol):
    """A ``logging.Handler`` that can take a request's observation in place of its access
    record (Vigil's ``JsonLineHandler`` and the SDK's ``ExecutionLogHandler``)."""

    def takes_access(self) -> bool:
        """Whether ``emit_access`` now does what ``handle`` of the record would (no filter
        on the handler, its own class and formatter)."""
        ...

    def emit_access(self, request: RequestObservation, logger: str, level: str) -> None:
        """What ``handle`` of the INFO record (``level``, its name) from ``logger`` for
        ``request`` would do, with no ``LogRecord`` made."""
        ...


class AccessLog:
    """Writes the access record of a finished request to the ``vigil.access`` logger.

    This runs once per request, so it builds the record itself: ``logger.info`` would walk the
    stack to find the caller (~4 us) for a file and line that say nothing here, and
    ``LogRecord.__init__`` works out the same constant fields for every record (~2.5 us). So a
    record is a copy of a template record's attributes, with its time, message and (when
    ``logging`` records them) thread and task set as ``LogRecord`` would; the process's own
    fields are the template's, made again in a forked child. With a record factory of the
    application's own (``logging.setLogRecordFactory``), records are made by ``makeRecord``.
    The fields travel as a dict message (``AccessFields``), python-json-logger's documented
    form for structured records.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(ACCESS_LOGGER)
        self._make_template()
        _in_forked_children.add(self)

    def _make_template(self) -> None:
        template = logging.LogRecord(self._logger.name, logging.INFO, "", 0, "", (), None)
        self._template = template.__dict__
        # When ``logging`` was loaded: what ``relativeCreated`` counts from.
        self._logging_started = template.created - template.relativeCreated / 1000

    def emit(self, observation: RequestObservation) -> None:
        """Log ``METHOD path status`` with the structured fields of the observation."""
        logger = self._logger
        if not logger.isEnabledFor(logging.INFO):
            return
        if logging.getLogRecordFactory() is not logging.LogRecord:
            fields = access_fields(observation)
            logger.handle(logger.makeRecord(logger.name, logging.INFO, "", 0, fields, (), None))
            return
        direct = _direct_handlers(logger)
        if direct is not None:  # each handler takes the observation: no record
            level = self._template["levelname"]
            for handler in direct:
                handler.emit_access(observation, logger.name, level)
        else:
            logger.handle(self._record(access_fields(observation)))

    def _record(self, fields: AccessFields) -> logging.LogRecord:
        record: logging.LogRecord = logging.LogRecord.__new__(logging.LogRecord)
        attributes: dict[str, Any] = self._template.copy()
        created = time.time()
        attributes["msg"] = fields
        attributes["created"] = created
        attributes["msecs"] = int((created - int(created)) * 1000) + 0.0
        attributes["relativeCreated"] = (created - self._logging_started) * 1000
        if logging.logThreads:
            attributes["thread"] = threading.get_ident()
            attributes["threadName"] = threading.current_thread().name
        else:
            attributes["thread"] = attributes["threadName"] = None
        if logging.logMultiprocessing:  # as LogRecord: multiprocessing names its children late
            attributes["processName"] = _process_name()
        if "taskName" in attributes:
            tasks = getattr(logging, "logAsyncioTasks", False)
            attributes["taskName"] = _task_name() if tasks else None
        record.__dict__ = attributes
        return record


def _direct_handlers(logger: logging.Logger) -> list[AccessHandler] | None:
    """The handlers ``logger``'s INFO records reach, as ``Logger.callHandlers`` finds them,
    if every one takes the observation (``AccessHandler.takes_access``) and no filter of
    the logger sees the record first; None otherwise, or when none would be reached (then
    ``logging.lastResort`` decides, through the record). A ``LogRecord`` would be made only
    to be read, ~6 us here (and in the controller, whose records reach its JSON lines and
    its stored logs, python-json-logger's generic path besides). A few attribute reads per
    request, so a handler or filter added later is seen at once."""
    if logger.filters or type(logger) is not logging.Logger:
        return None  # (a logger class of the application's may handle records its own way)
    found: list[AccessHandler] = []
    node: logging.Logger | None = logger
    while node is not None:
        for handler in node.handlers:
            if handler.level > logging.INFO:
                continue  # it would not handle the record
            takes = getattr(handler, "takes_access", None)
            if takes is None or not takes():
                return None
            found.append(handler)  # type: ignore[arg-type]  # it has takes_access
        node = node.parent if node.propagate else None
    return found or None


_in_forked_children: weakref.WeakSet[AccessLog] = weakref.WeakSet()


def _remake_templates() -> None:
    for access_log in list(_in_forked_children):
        access_log._make_template()


os.register_at_fork(after_in_child=_remake_templates)


def _process_name() -> str:
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return "MainProcess"
    try:
        return str(multiprocessing.current_process().name)
    except Exception:  # what LogRecord does too
        return "MainProcess"


def _task_name() -> str | None:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return None
    return None if task is None else task.get_name()
