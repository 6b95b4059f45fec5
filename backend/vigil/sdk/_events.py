"""Events as they wait in the queue, and how the writer thread turns them into models.

A producer call must cost microseconds, and building a pydantic model costs ~3.5 us per event
here (``model_construct`` is no cheaper). So producers queue a plain tuple: a kind tag, the
fields in a fixed order, and ``time.time()``. The writer thread validates a whole batch at
once with the models of ``vigil.models`` (the single source of size and format rules): it
encodes the batch as one JSON document, splicing in each step's ``data`` exactly as the
producer serialized it (``orjson.Fragment``), and validates that with ``validate_json``,
~25% cheaper than validating event by event. Producers still check, cheaply, what a caller
most likely gets wrong (an unknown enum value, data that is not JSON), so those mistakes
raise ``ValueError`` at the call site instead of becoming drops.

Steps skip the models altogether when the sink takes records (``EventSink.takes_records``:
the store and HTTP sinks): the writer checks the few rules the producer left to it (see
``step_record``) and hands a ``StepRecord`` on, ~2 us against ~11 us for the model. A step
that fails a check takes the model's path, so the drop names the rule it broke.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, cast
from uuid import UUID

import orjson
from pydantic import TypeAdapter, ValidationError

from vigil.instrumentation._records import AccessFields
from vigil.models import (
    MAX_ARTIFACTS_PER_STEP,
    MAX_LOG_MESSAGE_LENGTH,
    MAX_METADATA_BYTES,
    MAX_STEP_DATA_BYTES,
    BatchEvent,
    BatchItem,
    JsonObject,
    LogEntry,
    LogLevel,
    SpanRecord,
    StepRecord,
    StepType,
)
from vigil.models._runs import STEP_TYPES
from vigil.models._spans import span_time
from vigil.models._types import (
    REPLACEMENT_CHARACTER,
    is_identifier,
    is_name,
    is_span_id,
    is_trace_id,
)
from vigil.redaction import redact, redact_text

QueuedEvent = tuple[Any, ...]
"""``(kind, *fields, timestamp)``; the layouts are the ``encode_*`` functions below."""
Document = dict[str, Any]

STEP: Final = 0
LOG: Final = 1
MEASUREMENT: Final = 2
SPAN: Final = 3
RUN_START: Final = 4
RUN_FINISH: Final = 5
STEP_LATER: Final = 6
LATER: Final = 7
"""``(LATER, build, events)``: ``build()``, called on the writer thread, returns queued events
(the layouts below); ``events`` is how many, for the drop counts."""

TRUNCATED: Final = "...[truncated]"

_BATCH: Final = TypeAdapter(list[BatchEvent])
_EVENT: Final = TypeAdapter(BatchEvent)

run_uuid: Final = functools.lru_cache(maxsize=1024)(lambda value: UUID(int=value))
"""The ``UUID`` of a queued run id (an int); a run's steps share one object."""


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _json(value: Any) -> bytes:
    # default=str: what is not JSON in a log record's extras or a span's attributes is kept
    # as its str() rather than costing the event.
    return orjson.dumps(value, default=str)


def encode_step(item: QueuedEvent, service: str) -> Document:
    # (STEP, run_id.int, step type value, name, data_json, request_id, trace_id, created):
    # a ninth field, the linked artifact ids, only when the step names some.
    _, run_id, step_type, name, data_json, request_id, trace_id, created, *linked = item
    document = {
        "event": "step",
        "run_id": run_uuid(run_id),
        "step_type": step_type,
        "name": name,
        "data": {} if data_json is None else orjson.Fragment(data_json),
        "request_id": request_id,
        "trace_id": trace_id,
        "created_at": _at(created),
    }
    if linked:
        document["artifact_ids"] = linked[0]
    return document


def step_record(item: QueuedEvent) -> StepRecord | None:
    """The ``StepRecord`` of a ``STEP`` item, or None if some value needs the model's
    judgment (a check below fails; the model then says which rule, or repairs the value).

    The queued layout guarantees the rest: the run id an int of a UUID, the step type a
    member's value, data at most ``MAX_STEP_DATA_BYTES`` as serialized by orjson, which
    refuses what is not valid Unicode. Name, data shape, nesting and time are checked here
    too: a ``record_later`` build makes its steps without a producer call's checks."""
    name = item[3]
    if not is_name(name):  # (a ``record_later`` build's name was not checked by a producer call)
        return None
    data_json = item[4]
    if data_json is None:
        data_text = "{}"
    elif data_json[:1] != b"{" or b"\\u0000" in data_json:
        # Not an object (a build may return anything), or U+0000 the model replaces.
        return None
    elif _maybe_too_deep(data_json):
        return None
    else:
        data_text = data_json.decode()
    if type(item[7]) is not float:
        return None
    request_id = item[5]
    if request_id is not None and not is_identifier(request_id):
        return None
    trace_id = item[6]
    if trace_id is not None and not is_trace_id(trace_id):
        return None
    if len(item) == 8:  # no linked artifacts (indexing: star-unpacking costs ~0.4 us)
        linked = ()
    elif len(item[8]) > MAX_ARTIFACTS_PER_STEP:
        return None
    else:
        linked = item[8]
    fields = (
        run_uuid(item[1]), STEP_TYPES[item[2]], name, data_text, request_id, trace_id,
        item[7], linked,
    )  # fmt: skip
    return StepRecord._make(fields)


def step_document(record: StepRecord) -> Document:
    """The ``StepEvent`` a record stands for, as ``dump_batch`` writes it."""
    return {
        "event": "step",
        "run_id": record.run_id,
        "step_type": record.step_type,
        "name": record.name,
        "data": orjson.Fragment(record.data_json),
        "request_id": record.request_id,
        "trace_id": record.trace_id,
        "created_at": None if record.created_at is None else _at(record.created_at),
        "artifact_ids": record.artifact_ids,
    }


def encode_log(item: QueuedEvent, service: str) -> Document:
    (
        _,
        level,
        logger_name,
        message,
        run_id,
        step_id,
        request_id,
        trace_id,
        span_id,
        attributes,
        project_id,
        timestamp,
    ) = item
    return {
        "event": "log",
        "timestamp": _at(timestamp),
        "level": level,
        "logger": logger_name,
        "message": _stored_message(message),
        "service": service,
        "request_id": request_id,
        "run_id": run_id,
        "step_id": step_id,
        "trace_id": trace_id,
        "span_id": span_id,
        "attributes": bounded_attributes(attributes),
        "project_id": project_id,
    }


def _stored_message(message: str) -> str:
    # Execution logs are stored and shown; the same redaction as the JSON log lines applies.
    message = redact_text(message)
    if len(message) > MAX_LOG_MESSAGE_LENGTH:
        message = message[: MAX_LOG_MESSAGE_LENGTH - len(TRUNCATED)] + TRUNCATED
    return message


_YEAR_10000: Final = 253_402_300_800.0
"""Seconds since the epoch of 10000-01-01: a ``datetime`` ends before it."""
_NESTING_CHECKED: Final = 128
"""Step data and log attributes with fewer objects and arrays than this, at any depth, are
nested less deeply than the model's JSON parser allows (200 levels, the batch around them
included)."""


def _maybe_too_deep(document: bytes) -> bool:
    """Whether a JSON document may be nested deeper than the model's parser reads (two
    C-speed counts; conservative: a wide document of many objects is left to the model,
    which accepts it). Such a value takes the model's path, which refuses it alone: a
    record of it would be stored, or fail the whole batch it is sent in."""
    return document.count(b"{") + document.count(b"[") >= _NESTING_CHECKED


def log_entry(item: QueuedEvent, service: str) -> LogEntry | None:
    """The ``LogEntry`` of a ``LOG`` item, or None if some value needs the model's judgment
    (a check below fails; the model then says which rule, or repairs the value).

    The checks are ``LogCreate``'s, rule by rule: the message is redacted and truncated as
    ``encode_log`` does and U+0000 replaced as the model replaces it; what the model would
    refuse (a lone surrogate, a bad id) or repair in the attributes (``\\u0000``) takes the
    model's path. The attributes are redacted and bounded (``bounded_json``) either way."""
    (
        _,
        level,
        logger_name,
        message,
        run_id,
        step_id,
        request_id,
        trace_id,
        span_id,
        attributes,
        project_id,
        timestamp,
    ) = item
    if type(level) is not LogLevel or type(timestamp) is not float or type(message) is not str:
        return None
    if not 0.0 <= timestamp < _YEAR_10000:  # (NaN too) the model refuses or judges it
        return None
    if not is_name(logger_name) or not is_name(service):
        return None
    if (run_id is not None and type(run_id) is not UUID) or (
        step_id is not None and type(step_id) is not UUID
    ):
        return None
    if request_id is not None and not is_identifier(request_id):
        return None
    if project_id is not None and not is_identifier(project_id):
        return None
    if trace_id is not None and not is_trace_id(trace_id):
        return None
    if span_id is not None and not is_span_id(span_id):
        return None
    message = _stored_message(message)
    if not message.isascii():
        try:
            message.encode()
        except UnicodeEncodeError:  # a lone surrogate: the model refuses it
            return None
    if "\x00" in message:
        message = message.replace("\x00", REPLACEMENT_CHARACTER)
    if attributes:
        attributes_json = bounded_json(attributes)
        if b"\\u0000" in attributes_json:
            return None  # the model replaces U+0000 in keys and strings
        if _maybe_too_deep(attributes_json):
            return None
        attributes_text = attributes_json.decode()
    else:
        attributes_text = "{}"
    fields = (
        level, logger_name, message, service, request_id, run_id, step_id, trace_id,
        span_id, attributes_text, project_id, timestamp,
    )  # fmt: skip
    return LogEntry._make(fields)


def log_document(entry: LogEntry) -> Document:
    """The ``LogCreate`` an entry stands for, as ``dump_batch`` writes it."""
    return {
        "event": "log",
        "timestamp": None if entry.timestamp is None else _at(entry.timestamp),
        "level": entry.level,
        "logger": entry.logger,
        "message": entry.message,
        "service": entry.service,
        "request_id": entry.request_id,
        "run_id": entry.run_id,
        "step_id": entry.step_id,
        "trace_id": entry.trace_id,
        "span_id": entry.span_id,
        "attributes": orjson.Fragment(entry.attributes_json),
        "project_id": entry.project_id,
    }


def encode_measurement(item: QueuedEvent, service: str) -> Document:
    _, name, value, kind, labels, run_id, project_id, recorded = item
    return {
        "event": "measurement",
        "name": name,
        "value": value,
        "kind": kind,
        "recorded_at": _at(recorded),
        "labels": labels or {},
        "run_id": run_id,
        "project_id": project_id,
    }


def encode_span(item: QueuedEvent, service: str) -> Document:
    # (SPAN, SpanRecord): built by vigil.tracing's RecorderSpanExporter from a finished
    # OpenTelemetry span, its attributes redacted and bounded already; its service is its
    # resource's (the recorder's only when the resource names none).
    record: SpanRecord = item[1]
    return {
        "event": "span",
        "trace_id": record.trace_id,
        "span_id": record.span_id,
        "parent_span_id": record.parent_span_id,
        "name": record.name,
        "kind": record.kind,
        "service": record.service,
        "start_time": span_time(record.start_time),
        "end_time": span_time(record.end_time),
        "status": record.status,
        "status_message": record.status_message,
        "attributes": orjson.Fragment(record.attributes_json),
        "run_id": record.run_id,
        "project_id": record.project_id,
    }


def built_step(item: QueuedEvent) -> QueuedEvent:
    # (STEP_LATER, run_id, step_type, name, build, request_id, trace_id, created): ``build``
    # makes the step's data here, on the writer thread (``AgentRecorder.log_step_later``).
    _, run_id, step_type, name, build, request_id, trace_id, created = item
    return step_item(run_id, step_type, name, build(), request_id, trace_id, created)


def step_item(
    run_id: UUID,
    step_type: StepType | str,
    name: str,
    data: Mapping[str, Any],
    request_id: str | None,
    trace_id: str | None,
    created: float,
) -> QueuedEvent:
    """A ``STEP`` event of data built on the writer thread: data over ``MAX_STEP_DATA_BYTES``
    is replaced by a marker (``{"truncated": true, "serialized_bytes": n}``)."""
    data_json = _json(data)
    if len(data_json) > MAX_STEP_DATA_BYTES:
        data_json = _json({"truncated": True, "serialized_bytes": len(data_json)})
    kind = STEP_TYPES[step_type].value
    run = run_id if type(run_id) is UUID else UUID(str(run_id))  # ValueError: invalid
    return (STEP, run.int, kind, name, data_json, request_id, trace_id, created)


def events_in(item: QueuedEvent) -> int:
    """How many events a queued item stands for (a ``LATER`` item, several)."""
    return item[2] if item[0] == LATER else 1


def encode_run_start(item: QueuedEvent, service: str) -> Document:
    _, run_id, name, agent, project_id, metadata_json, started = item
    return {
        "event": "run_start",
        "id": run_id,
        "name": name,
        "agent": agent,
        "project_id": project_id,
        "metadata": {} if metadata_json is None else orjson.Fragment(metadata_json),
        "started_at": _at(started),
    }


def encode_run_finish(item: QueuedEvent, service: str) -> Document:
    _, run_id, status, finished = item
    return {"event": "run_finish", "run_id": run_id, "status": status, "finished_at": _at(finished)}


def bounded_attributes(attributes: JsonObject | None) -> JsonObject | orjson.Fragment:
    """Redacted attributes, or a marker if they exceed ``MAX_METADATA_BYTES``: an oversized
    extra must not cost the whole log record or span."""
    if not attributes:
        return {}
    return orjson.Fragment(bounded_json(attributes))


def bounded_json(attributes: Mapping[str, Any]) -> bytes:
    """``attributes`` redacted, as JSON of at most ``MAX_METADATA_BYTES`` (else a marker).

    An access record's fields (``AccessFields``, made only by the instrumentation) get the
    access line's redaction: the path is the free text among them; the method is an HTTP
    token, the route the app's template, the client an address, the rest numbers. ~0.4 us
    against ~2.1 us for ``redact`` of the six fields here, once a request in the controller."""
    if type(attributes) is AccessFields:
        fields = dict(attributes)
        path = fields.get("path")
        if type(path) is str:
            fields["path"] = redact_text(path)
        serialized = _json(fields)
    else:
        # redact copies a dict; any other Mapping (OpenTelemetry's BoundedAttributes) is
        # made one.
        serialized = _json(redact(attributes if type(attributes) is dict else dict(attributes)))
    if len(serialized) > MAX_METADATA_BYTES:
        return _json({"truncated": True, "serialized_bytes": len(serialized)})
    return serialized


ENCODERS: Final[tuple[Callable[[QueuedEvent, str], Document], ...]] = (
    encode_step,
    encode_log,
    encode_measurement,
    encode_span,
    encode_run_start,
    encode_run_finish,
)
"""Indexed by the kind tag (``STEP_LATER`` and ``LATER`` items are expanded into these
kinds first, by ``build_batch``)."""


def build_batch(
    items: Sequence[QueuedEvent], service: str, *, records: bool = False
) -> tuple[list[BatchItem], list[str]]:
    """The events of ``items`` in order, and one error text per item that failed validation.

    ``records``: steps become ``StepRecord``s and log records ``LogEntry``s where their
    checks pass, not models."""
    built: list[BatchItem | None] = []  # None: the model of the next document goes there
    documents: list[Document] = []

    def add(item: QueuedEvent, out: list[BatchItem | None], docs: list[Document]) -> None:
        if item[0] == STEP_LATER:
            item = built_step(item)
        if records:
            record: BatchItem | None = None
            if item[0] == STEP:
                record = step_record(item)
            elif item[0] == LOG:
                record = log_entry(item, service)
            if record is not None:
                out.append(record)
                return
        docs.append(ENCODERS[item[0]](item, service))
        out.append(None)

    errors: list[str] = []
    for item in items:
        try:
            if item[0] == LATER:  # all of its events or none: a partial item is not kept
                out: list[BatchItem | None] = []
                docs: list[Document] = []
                for event in item[1]():
                    add(event, out, docs)
                built += out
                documents += docs
            else:
                add(item, built, documents)
        except Exception as exc:  # a malformed item is a bug, but it must cost its events
            errors.extend([repr(exc)] * events_in(item))
    if not documents:
        return cast("list[BatchItem]", built), errors
    models = iter(validate_documents(documents, errors))
    events = [next(models) if event is None else event for event in built]
    return [event for event in events if event is not None], errors


def validate_documents(documents: list[Document], errors: list[str]) -> list[BatchEvent | None]:
    """The model of each document (None for an invalid one, its error added to ``errors``)."""
    try:
        return list(_BATCH.validate_json(_json(documents)))
    except (ValidationError, orjson.JSONEncodeError):
        pass
    # Some event is invalid: validate one by one to keep all the others (the rare path).
    models: list[BatchEvent | None] = []
    for document in documents:
        try:
            models.append(_EVENT.validate_json(_json(document)))
        except ValidationError as exc:
            models.append(None)
            errors.append(first_error(exc))
        except orjson.JSONEncodeError as exc:
            models.append(None)
            errors.append(repr(exc))
    return models


def dump_batch(events: Sequence[BatchItem]) -> bytes:
    """Events as a JSON array: the ``events`` that ``HttpSink`` posts, and a spooled batch.

    pydantic's Python-mode dump keeps UUIDs, datetimes and enums, which orjson serializes
    natively: ~1.5 us per step event against ~2.8 us for pydantic's own ``dump_json`` here.
    A ``StepRecord`` is written as the ``StepEvent`` it stands for, a ``LogEntry`` as the
    ``LogCreate``."""
    if not any(type(event) in _RECORD_DOCUMENTS for event in events):
        return orjson.dumps(_BATCH.dump_python(cast("list[BatchEvent]", list(events))))
    return orjson.dumps([_document_of(event) for event in events])


def _document_of(event: BatchItem) -> Document:
    document = _RECORD_DOCUMENTS.get(type(event))
    if document is None:
        return cast("Document", _EVENT.dump_python(cast("BatchEvent", event)))
    return document(event)


_RECORD_DOCUMENTS: Final[dict[type, Callable[[Any], Document]]] = {
    StepRecord: step_document,
    LogEntry: log_document,
}


def load_batch(body: bytes) -> list[BatchEvent]:
    """The events of ``dump_batch``, validated again (~9 us per step event here; only a
    replay from the spool pays it)."""
    return _BATCH.validate_json(body)


def first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    location = ".".join(str(part) for part in error["loc"])
    return f"{exc.title}.{location}: {error['msg']}"
