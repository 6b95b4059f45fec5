"""``AgentRecorder``: what agent code calls to record runs, steps, logs, metrics and spans.

Producer calls (``log_step``, ``log``, ``measure``) never do I/O: they check their
arguments, queue a tuple and return (~1-3 us here). ``span`` is an OpenTelemetry span
(``vigil.tracing``); ``setup_tracing(..., recorder=recorder)`` queues the finished ones
here. A writer thread turns queued events into models and writes them in batches through
an ``EventSink``. ``start_run`` and ``finish_run``
go to the sink synchronously (the controller assigns the id); ``begin_run`` and ``end_run``
queue the start and the end like steps, with an id made here (a UUIDv7, as the
controller's), so that a controller that is down never holds the agent up. With
``spool=<file>``, what the sink cannot take is kept in that file and sent when the sink is
back (``_spool.py``, ``_writer.py``).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self
from uuid import UUID

import orjson
from prometheus_client import CollectorRegistry

from vigil._closing import ClosedOnExit
from vigil._run_context import (
    as_uuid,
    current_project,
    current_run_id,
    current_step_id,
    run_context,
)
from vigil.instrumentation._records import AccessFields
from vigil.instrumentation.request_id import current_request_id
from vigil.models import (
    MAX_BATCH_EVENTS,
    MAX_METADATA_BYTES,
    MAX_NAME_LENGTH,
    MAX_STEP_DATA_BYTES,
    ArtifactRecord,
    JsonObject,
    LogLevel,
    MeasurementCreate,
    MeasurementKind,
    Run,
    RunCreate,
    RunFinish,
    RunStatus,
    SpanKind,
    SpanRecord,
    StepType,
    new_id,
)
from vigil.models._runs import CLIENT_FINISH_STATUSES, STEP_TYPES
from vigil.models._types import is_identifier
from vigil.sdk._artifacts import ArtifactUpload, ArtifactUploader, Source
from vigil.sdk._drops import DropAccount
from vigil.sdk._events import (
    LATER,
    LOG,
    MEASUREMENT,
    RUN_FINISH,
    RUN_START,
    SPAN,
    STEP,
    STEP_LATER,
    QueuedEvent,
)
from vigil.sdk._metrics import SdkMetrics
from vigil.sdk._queue import EventQueue, Marker
from vigil.sdk._sink import EventSink, SinkError
from vigil.sdk._spool import DEFAULT_MAX_BYTES, EventSpool
from vigil.sdk._writer import BatchWriter
from vigil.tracing._attributes import RUN_ID
from vigil.tracing._context import AGENT_SCOPE, TracingContext, get_tracer
from vigil.tracing._ids import current_trace_ids

sdk_logger = logging.getLogger("vigil.sdk")

# Enum lookups through a dict: ~50 ns against ~370 ns for ``StepType(value)``. StrEnum
# members hash like their values, so members and plain strings both find their entry.
MEASUREMENT_KINDS: Final[dict[str, MeasurementKind]] = {
    member.value: member for member in MeasurementKind
}
LOG_LEVELS: Final[dict[str | int, LogLevel]] = {
    **{member.value: member for member in LogLevel},
    **{member.value.upper(): member for member in LogLevel},
    logging.DEBUG: LogLevel.DEBUG,
    logging.INFO: LogLevel.INFO,
    logging.WARNING: LogLevel.WARNING,
    logging.ERROR: LogLevel.ERROR,
    logging.CRITICAL: LogLevel.CRITICAL,
}
RUN_STATUSES: Final[dict[str, RunStatus]] = {
    member.value: member for member in CLIENT_FINISH_STATUSES
}
KNOWN_METRIC_NAMES_CAP: Final = 4096
CANCELLING: Final = (KeyboardInterrupt, SystemExit, asyncio.CancelledError, GeneratorExit)


class AgentRecorder(ClosedOnExit):
    """Records an agent's runs, steps, execution logs, measurements and spans.

        recorder = AgentRecorder(HttpSink("http://controller:8000"), service="support-agent")
        with recorder.run("triage", agent="support", project_id="p1") as run:
            recorder.log_step(run.id, "thought", data={"text": "look the order up"})
        recorder.close()

    Thread-safe; producer calls are plain non-blocking functions, usable from coroutines.
    ``close`` (or leaving ``with recorder:``) writes everything accepted before it; an
    ``atexit`` hook closes recorders the program forgot. ``spool`` names a file that keeps,
    up to ``spool_max_bytes`` of JSON, what the sink could not take; a recorder opening it
    later sends what is left. ``batch_size`` defaults to the sink's (``EventSink.batch_size``:
    5,000 into a PostgreSQL store, else 1,000). See docs/sdk.md.
    """

    def __init__(
        self,
        sink: EventSink,
        *,
        service: str = "agent",
        batch_size: int | None = None,
        flush_interval: float = 0.05,
        max_queue: int = 100_000,
        put_timeout: float = 0.1,
        max_attempts: int = 5,
        retry_backoff: float = 0.1,
        registry: CollectorRegistry | None = None,
        spool: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = DEFAULT_MAX_BYTES,
        artifacts: ArtifactUploader | None = None,
    ) -> None:
        if batch_size is None:  # the sink's, within a queue chosen smaller
            batch_size = min(sink.batch_size, max_queue)
        if not 1 <= batch_size <= MAX_BATCH_EVENTS:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH_EVENTS}")
        if max_queue < batch_size:
            raise ValueError("max_queue must hold at least one batch")
        if flush_interval <= 0 or put_timeout < 0 or max_attempts < 1 or retry_backoff < 0:
            raise ValueError(
                "flush_interval must be > 0, put_timeout and retry_backoff >= 0, max_attempts >= 1"
            )
        self.service = service
        self.sink = sink
        # Opened here, so that a bad path or a file another recorder holds fails the call.
        self._spool = None if spool is None else EventSpool(spool, spool_max_bytes)
        self._pid = os.getpid()
        metrics = SdkMetrics.for_registry(registry)
        self._drops = DropAccount(metrics, service)
        self._queue = EventQueue(
            maxsize=max_queue, wake_size=batch_size, put_timeout=put_timeout, drops=self._drops
        )
        self._put = self._queue.put
        self._writer = BatchWriter(
            self._queue,
            sink,
            service=service,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_attempts=max_attempts,
            retry_backoff=retry_backoff,
            metrics=metrics,
            drops=self._drops,
            spool=self._spool,
        )
        self._metric_names: set[str] = set()
        self._artifacts = artifacts
        self._close_lock = threading.Lock()
        self._closed = False
        self._close_result = True
        self._writer.start()
        atexit.register(self.close)
        _recorders.add(self)

    # Runs: synchronous, through the sink ---------------------------------------------

    def start_run(
        self,
        name: str,
        *,
        agent: str,
        project_id: str,
        metadata: JsonObject | None = None,
    ) -> Run:
        """Create a run (one round trip to the sink; ``SinkError`` if it fails)."""
        create = RunCreate(name=name, agent=agent, project_id=project_id, metadata=metadata or {})
        return self.sink.create_run(create)

    def finish_run(self, run_id: UUID | str, status: RunStatus | str = RunStatus.SUCCEEDED) -> Run:
        """End a run (one round trip). Events still queued are written after it, which the
        store accepts; call ``flush`` first if readers must see them with the final status."""
        return self.sink.finish_run(as_uuid(run_id), RunFinish(status=RunStatus(status)))

    async def astart_run(
        self,
        name: str,
        *,
        agent: str,
        project_id: str,
        metadata: JsonObject | None = None,
    ) -> Run:
        """``start_run`` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(
            self.start_run, name, agent=agent, project_id=project_id, metadata=metadata
        )

    async def afinish_run(
        self, run_id: UUID | str, status: RunStatus | str = RunStatus.SUCCEEDED
    ) -> Run:
        return await asyncio.to_thread(self.finish_run, run_id, status)

    @contextmanager
    def run(
        self,
        name: str,
        *,
        agent: str,
        project_id: str,
        metadata: JsonObject | None = None,
    ) -> Iterator[Run]:
        """Start a run, attribute the block to it (``run_context``), and finish it:
        ``succeeded``, ``failed`` on an exception, ``cancelled`` on interruption.

        Starting raises ``SinkError`` if the sink is down (there is no run id without it);
        a failure to finish is logged instead, so it never replaces the block's outcome."""
        run = self.start_run(name, agent=agent, project_id=project_id, metadata=metadata)
        status = RunStatus.SUCCEEDED
        try:
            with run_context(run.id, project_id=project_id):
                yield run
        except BaseException as exc:
            status = RunStatus.CANCELLED if isinstance(exc, CANCELLING) else RunStatus.FAILED
            raise
        finally:
            self._finish_quietly(run.id, status)

    @asynccontextmanager
    async def arun(
        self,
        name: str,
        *,
        agent: str,
        project_id: str,
        metadata: JsonObject | None = None,
    ) -> AsyncIterator[Run]:
        """``run`` for coroutines: the two round trips happen in a worker thread."""
        run = await self.astart_run(name, agent=agent, project_id=project_id, metadata=metadata)
        status = RunStatus.SUCCEEDED
        try:
            async with run_context(run.id, project_id=project_id):
                yield run
        except BaseException as exc:
            status = RunStatus.CANCELLED if isinstance(exc, CANCELLING) else RunStatus.FAILED
            raise
        finally:
            await asyncio.to_thread(self._finish_quietly, run.id, status)

    def begin_run(
        self,
        name: str,
        *,
        agent: str,
        project_id: str,
        metadata: Mapping[str, Any] | None = None,
        run_id: UUID | str | None = None,
    ) -> UUID:
        """Queue a run's start and return its id at once: no round trip, so a controller that
        is down never holds the agent up (the start waits in the queue and the spool like a
        step). The id is a new UUIDv7 unless ``run_id`` is given; the store keeps one run
        per id. Steps recorded after this call are written after the start.

        Dropped like any event when the queue stays full (counted); its steps are then
        refused by the store as steps of an unknown run (``rejected``).
        """
        for field, value in (("name", name), ("agent", agent)):
            if type(value) is not str or not 0 < len(value) <= MAX_NAME_LENGTH:
                raise ValueError(f"{field} must be a str of 1..{MAX_NAME_LENGTH} characters")
            if "\x00" in value:  # RunCreate's rule: refused here, not dropped as invalid later
                raise ValueError(f"{field} must not contain U+0000")
        if not is_identifier(project_id):
            raise ValueError(f"project_id {project_id!r} is not an identifier")
        metadata_json = None
        if metadata:
            metadata_json = orjson.dumps(dict(metadata))  # TypeError if not JSON-serializable
            if len(metadata_json) > MAX_METADATA_BYTES:
                raise ValueError(
                    f"metadata is {len(metadata_json)} bytes as JSON; "
                    f"the limit is {MAX_METADATA_BYTES}"
                )
        made = new_id() if run_id is None else as_uuid(run_id)
        self._put((RUN_START, made, name, agent, project_id, metadata_json, time.time()))
        return made

    def end_run(self, run_id: UUID | str, status: RunStatus | str = RunStatus.SUCCEEDED) -> bool:
        """Queue a run's end (``succeeded``, ``failed`` or ``cancelled``): no round trip.
        Written after every event recorded before it; a run that already ended stays as it
        ended. Returns False if the event was dropped (counted)."""
        found = RUN_STATUSES.get(status)
        if found is None:
            raise ValueError(f"a run ends as one of {sorted(RUN_STATUSES)}, not {status!r}")
        return self._put((RUN_FINISH, as_uuid(run_id), found, time.time()))

    def _finish_quietly(self, run_id: UUID, status: RunStatus) -> None:
        # The block's own outcome matters more: an unreachable controller must neither mask
        # the block's exception nor fail a block that succeeded.
        try:
            self.finish_run(run_id, status)
        except SinkError as exc:
            sdk_logger.warning(
                "agent SDK could not finish run %s as %s: %s",
                run_id,
                status.value,
                exc,
                extra={"sdk_service": self.service},
            )

    # Events: queued, never blocking on I/O ---------------------------------------------

    def log_step(
        self,
        run_id: UUID | str | None,
        step_type: StepType | str,
        name: str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        request_id: str | None = None,
        trace_id: str | None = None,
        artifacts: Sequence[ArtifactUpload | ArtifactRecord | UUID | str] | None = None,
    ) -> bool:
        """Queue a step of a run (``None``: the run of the enclosing ``run_context``).

        ``name`` defaults to the step type; ``data`` is a JSON object, serialized here (so
        later changes to it are not recorded) and limited to ``MAX_STEP_DATA_BYTES``.
        ``request_id`` and ``trace_id`` default to the current request and span.
        ``artifacts`` links the step to artifacts of the run: uploads (still running or
        not, see ``upload_artifact``), records or ids.
        Returns False if the event was dropped (queue full or recorder closed; counted).
        Raises ``ValueError``/``TypeError`` for arguments the store would refuse.
        """
        kind = STEP_TYPES.get(step_type)
        if kind is None:
            raise ValueError(f"unknown step_type {step_type!r}; one of {sorted(STEP_TYPES)}")
        if run_id is None or type(run_id) is not UUID:
            run_id = self._run_id(run_id)
        if name is None:
            name = kind.value
        elif type(name) is not str or not 0 < len(name) <= MAX_NAME_LENGTH:
            raise ValueError(f"name must be a str of 1..{MAX_NAME_LENGTH} characters")
        data_json = None
        if data:
            if type(data) is not dict and not isinstance(data, Mapping):  # ABC check: ~185 ns
                raise TypeError(f"data must be a JSON object (a Mapping), not {type(data)}")
            data_json = orjson.dumps(data)  # TypeError if not JSON-serializable
            if len(data_json) > MAX_STEP_DATA_BYTES:
                raise ValueError(
                    f"data is {len(data_json)} bytes as JSON; the limit is {MAX_STEP_DATA_BYTES}"
                )
        if request_id is None:
            request_id = current_request_id()
        if trace_id is None:
            ids = current_trace_ids()
            if ids is not None:
                trace_id = ids[0]
        if artifacts:
            linked = [a.id if isinstance(a, ArtifactUpload | ArtifactRecord) else as_uuid(a)
                      for a in artifacts]  # fmt: skip
            return self._put((STEP, run_id.int, kind._value_, name, data_json, request_id,
                              trace_id, time.time(), linked))  # fmt: skip
        # The layout of _events.encode_step: nothing in it the cyclic GC tracks.
        step = (STEP, run_id.int, kind._value_, name, data_json, request_id, trace_id, time.time())
        return self._put(step)

    def log_step_later(
        self,
        run_id: UUID,
        step_type: StepType | str,
        name: str,
        build: Callable[[], Mapping[str, Any]],
        *,
        trace_id: str | None = None,
    ) -> bool:
        """Queue a step whose ``data`` ``build()`` makes later, on the writer thread.

        For callers on a hot path whose step data costs more to assemble than to queue (the
        LangGraph callback handler: prompts, outputs, tool calls): the agent's thread pays
        the queue append only. ``build`` must read only objects nobody changes after the
        call. Data over ``MAX_STEP_DATA_BYTES`` is replaced by a marker
        (``{"truncated": true, "serialized_bytes": n}``); a ``build`` that raises costs the
        step, counted as ``invalid``. ``request_id`` is the current request's.
        """
        kind = STEP_TYPES.get(step_type)
        if kind is None:
            raise ValueError(f"unknown step_type {step_type!r}; one of {sorted(STEP_TYPES)}")
        if type(name) is not str or not 0 < len(name) <= MAX_NAME_LENGTH:
            raise ValueError(f"name must be a str of 1..{MAX_NAME_LENGTH} characters")
        request_id = current_request_id()
        return self._put((STEP_LATER, run_id, kind, name, build, request_id, trace_id, time.time()))

    def record_later(self, build: Callable[[], Sequence[QueuedEvent]], *, events: int) -> bool:
        """Queue ``events`` events that ``build()`` makes later, on the writer thread: the
        hook of Vigil's integrations whose callbacks must cost next to nothing (the LangGraph
        handler queues one per finished call: its step and its duration measurement).

        ``build`` returns queued events in the layouts of ``vigil.sdk._events`` (``STEP``
        from ``step_item``, ``MEASUREMENT``), checked like every batch; it must
        read only objects nobody changes after this call. A ``build`` that raises costs its
        ``events``, counted as ``invalid``; a full or closed queue counts ``events`` drops.
        """
        return self._put((LATER, build, events))

    def upload_artifact(
        self,
        run_id: UUID | str | None,
        source: Source,
        *,
        kind: str,
        step_id: UUID | str | None = None,
        content_type: str | None = None,
        file_name: str | None = None,
    ) -> ArtifactUpload:
        """Upload a file (a path, or bytes) of a run in the background; returns at once.

        The returned upload's ``id`` is the artifact's already: pass the upload to
        ``log_step(..., artifacts=[...])``. ``result()`` waits for the stored record.
        Sent to the controller of the recorder's ``HttpSink`` (or ``VIGIL_URL``), by
        ``ArtifactUploader`` threads (docs/artifacts.md).
        """
        if self._artifacts is None:
            with self._close_lock:
                if self._artifacts is None:
                    self._artifacts = ArtifactUploader.for_sink(self.sink)
        return self._artifacts.upload(
            self._run_id(run_id),
            source,
            kind=kind,
            step_id=None if step_id is None else as_uuid(step_id),
            content_type=content_type,
            file_name=file_name,
        )

    def log(
        self,
        level: LogLevel | str | int,
        message: str,
        *,
        run_id: UUID | str | None = None,
        step_id: UUID | str | None = None,
        logger: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        timestamp: float | datetime | None = None,
        wait: bool = True,
    ) -> bool:
        """Queue an execution log record.

        ``level`` is a ``LogLevel``, its name, or a ``logging`` level number; ``run_id`` and
        ``step_id`` default to the enclosing ``run_context``; ``logger`` to the service name;
        ``timestamp`` (epoch seconds or an aware datetime) to now. Messages over the limit
        are truncated; secrets are redacted as in the JSON logs. ``wait=False`` drops at once
        when the queue is full instead of waiting up to ``put_timeout``.
        """
        found = LOG_LEVELS.get(level)
        if found is None:
            raise ValueError(f"unknown log level {level!r}")
        if type(message) is not str:
            raise TypeError(f"message must be a str, not {type(message).__name__}")
        run_id = current_run_id() if run_id is None else as_uuid(run_id)
        step_id = current_step_id() if step_id is None else as_uuid(step_id)
        if timestamp is None:
            timestamp = time.time()
        elif isinstance(timestamp, datetime):
            timestamp = timestamp.timestamp()
        trace_id, span_id = current_trace_ids() or (None, None)
        item = (
            LOG,
            found,
            logger or self.service,
            message,
            run_id,
            step_id,
            current_request_id(),
            trace_id,
            span_id,
            _copy(attributes) if attributes else None,
            current_project(),
            timestamp,
        )
        return self._queue.put(item, wait=wait)

    def measure(
        self,
        name: str,
        value: float,
        kind: MeasurementKind | str = MeasurementKind.GAUGE,
        labels: Mapping[str, str] | None = None,
        *,
        run_id: UUID | str | None = None,
    ) -> bool:
        """Queue a numeric point (a duration, a token count, a cost).

        ``name`` follows Prometheus naming rules (checked on first use of each name);
        ``run_id`` defaults to the enclosing ``run_context``.
        """
        found = MEASUREMENT_KINDS.get(kind)
        if found is None:
            raise ValueError(
                f"unknown measurement kind {kind!r}; one of {sorted(MEASUREMENT_KINDS)}"
            )
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"measurement value must be finite, not {number}")
        if name not in self._metric_names:
            # The model's own rule, once per name: ValidationError is a ValueError.
            MeasurementCreate(name=name, value=number, kind=found)
            if len(self._metric_names) < KNOWN_METRIC_NAMES_CAP:
                self._metric_names.add(name)
        run_id = current_run_id() if run_id is None else as_uuid(run_id)
        return self._put(
            (
                MEASUREMENT,
                name,
                number,
                found,
                dict(labels) if labels else None,
                run_id,
                current_project(),
                time.time(),
            )
        )

    def span(
        self,
        name: str,
        *,
        kind: SpanKind | str = SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        run_id: UUID | str | None = None,
    ) -> TracingContext:
        """An OpenTelemetry span (scope ``vigil.agent``) timing a ``with``/``async with``
        block: a ``TracingContext``.

        Nested spans share the trace; steps and logs recorded inside carry its trace and
        span ids. ``run_id`` defaults to the parent span's or the enclosing
        ``run_context``'s. An exception is recorded on the span (status ``error``) and
        re-raised. The span reaches this recorder's sink once tracing is set up with it
        (``vigil.tracing.setup_tracing(service, recorder=recorder)``); without that, or
        without the OpenTelemetry SDK, it is a no-op.
        """
        if type(name) is not str or not 0 < len(name) <= MAX_NAME_LENGTH:
            raise ValueError(f"name must be a str of 1..{MAX_NAME_LENGTH} characters")
        if run_id is not None:
            attributes = {**(attributes or {}), RUN_ID: str(as_uuid(run_id))}
        return TracingContext(name, attributes, kind=kind, tracer=get_tracer(AGENT_SCOPE))

    def record_span(self, span: SpanRecord) -> bool:
        """Queue a finished span (``vigil.tracing.RecorderSpanExporter`` calls this).

        Returns False if it was dropped (queue full or recorder closed; counted)."""
        return self._put((SPAN, span))

    def _run_id(self, run_id: UUID | str | None) -> UUID:
        if run_id is None:
            current = current_run_id()
            if current is None:
                raise ValueError("run_id is None and no run_context is active")
            return current
        return as_uuid(run_id)

    # Lifecycle -------------------------------------------------------------------------

    def in_writer_thread(self) -> bool:
        """True on this recorder's writer thread, where nothing may be recorded (the sink's
        own logging would feed the queue it drains)."""
        return self._writer.owns_current_thread()

    @property
    def queue_depth(self) -> int:
        """Events waiting to be written."""
        return len(self._queue)

    @property
    def spool_depth(self) -> int:
        """Events kept in the spool until the sink takes them (0 without a spool)."""
        return 0 if self._spool is None else self._spool.events

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every event accepted before this call is written, kept in the spool,
        or dropped and counted; False if ``timeout`` seconds passed first."""
        return self._queue_marker().wait(timeout)

    async def aflush(self, timeout: float | None = 10.0) -> bool:  # noqa: ASYNC109  (as flush)
        """``flush`` for coroutines: awaits without blocking the event loop."""
        return await self._queue_marker().wait_async(timeout)

    def _queue_marker(self) -> Marker:
        if self.in_writer_thread():
            raise RuntimeError("flush called from the recorder's own writer thread")
        marker = Marker()
        self._queue.put_marker(marker)
        return marker

    def close(self, timeout: float = 10.0) -> bool:
        """Write what is queued, stop the writer thread and close the sink. Idempotent.

        Events recorded after ``close`` are dropped (``closed``). If the writer has not
        finished within ``timeout`` (the sink is down and retrying), it is told to give up:
        what is left is kept in the spool, or without one dropped, counted and logged, and
        False is returned. What the spool still holds stays in its file for the next
        recorder that opens it.
        """
        with self._close_lock:
            if self._closed:
                return self._close_result
            self._closed = True
            atexit.unregister(self.close)
            self._queue.close()
            self._queue.put_marker(Marker(stops=True))
            finished = self._writer.join(timeout)
            if not finished:
                queued = len(self._queue)
                self._writer.abandon()
                finished = self._writer.join(min(timeout, 1.0))
                sdk_logger.warning(
                    "agent SDK writer did not finish within %.1f s; %d queued events %s",
                    timeout,
                    queued,
                    "dropped" if self._spool is None else "kept in the spool",
                    extra={"sdk_service": self.service},
                )
            if finished:
                # Normally a no-op; after a fork the threads do not exist in the child, and
                # what it queued must still be counted rather than vanish.
                self._queue.finish()
                self._close_spool()
            if self._artifacts is not None and not self._artifacts.close(timeout):
                sdk_logger.warning(
                    "agent SDK artifact uploads did not finish within %.1f s",
                    timeout,
                    extra={"sdk_service": self.service},
                )
                finished = False
            self._drops.report_if_due(force=True)
            if not self._in_forked_child():  # there the sink's connections are the parent's
                try:
                    self.sink.close()
                except Exception:
                    sdk_logger.exception("closing the agent SDK sink failed")
            self._close_result = finished
            return finished

    def _in_forked_child(self) -> bool:
        """Whether this process is a child forked after the recorder was made."""
        return os.getpid() != self._pid

    def _close_spool(self) -> None:
        # Only once the writer has stopped: it is the spool's one user. A forked child leaves
        # it alone: the connection and the file's lock are its parent's.
        spool = self._spool
        if spool is None or self._in_forked_child():
            return
        if spool.events:
            sdk_logger.warning(
                "agent SDK closed with %d events in its spool %s; a recorder opening it sends them",
                spool.events,
                spool.path,
                extra={"sdk_service": self.service},
            )
        spool.close()

    async def aclose(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109  (as close)
        """``close`` in a worker thread, so the event loop keeps running."""
        return await asyncio.to_thread(self.close, timeout)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


FORKED_DETAIL: Final = (
    "this recorder was made before the process forked: its writer thread and its sink's "
    "connections are the parent's, so it records nothing here; make a recorder in the child"
)

_recorders: weakref.WeakSet[AgentRecorder] = weakref.WeakSet()


def _refuse_in_forked_child() -> None:
    """A recorder does not cross a fork (gunicorn's ``--preload``, ``multiprocessing``): in
    the child its events would be queued for a writer thread that does not exist there and
    never be written, nor counted if the child ends with ``os._exit``. They are refused at
    once instead, counted as ``closed``, and the drop log says why (``FORKED_DETAIL``)."""
    for recorder in list(_recorders):
        recorder._drops.reset_after_fork()
        recorder._queue.refuse_after_fork(FORKED_DETAIL)


os.register_at_fork(after_in_child=_refuse_in_forked_child)


def _copy(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a log record's attributes; an access record's keep their type, which tells
    the writer what their redaction is (``bounded_json``)."""
    return AccessFields(attributes) if type(attributes) is AccessFields else dict(attributes)
