"""Execution logs: the controller's and the agents' log records, correlated by ids."""

from enum import StrEnum
from typing import Annotated, Final, Literal, NamedTuple
from uuid import UUID

from pydantic import Field, StringConstraints

from vigil.models._limits import MAX_LOG_MESSAGE_LENGTH
from vigil.models._types import (
    BoundedMetadata,
    FreeText,
    Id,
    Identifier,
    JsonObject,
    Lax,
    Name,
    SpanId,
    StrictModel,
    TraceId,
    UtcDatetime,
)


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


LOG_LEVEL_ORDER: Final = tuple(LogLevel)
"""Levels from the least to the most severe; a level filter means "this one or worse"."""


def levels_at_least(level: LogLevel) -> tuple[LogLevel, ...]:
    """The levels a minimum-level filter selects."""
    return LOG_LEVEL_ORDER[LOG_LEVEL_ORDER.index(level) :]


LogMessage = Annotated[str, StringConstraints(max_length=MAX_LOG_MESSAGE_LENGTH), FreeText]


class LogCreate(StrictModel):
    event: Literal["log"] = "log"
    timestamp: UtcDatetime | None = None
    """When the record was emitted; the controller's clock when omitted."""
    level: Annotated[LogLevel, Lax]
    logger: Name
    message: LogMessage
    service: Name
    request_id: Identifier | None = None
    run_id: Id | None = None
    step_id: Id | None = None
    trace_id: TraceId | None = None
    span_id: SpanId | None = None
    attributes: BoundedMetadata = Field(default_factory=dict)
    project_id: Identifier | None = None
    """The project the record belongs to; with a project's key, that project."""


class LogEntry(NamedTuple):
    """A log record as the SDK's writer hands it to ``EventStore.write_batch``: a
    ``LogCreate`` already checked, so no model is built (~20 us per record here, as much as
    the store's write; the controller stores every request's access record this way).

    Not a model on purpose, like ``StepRecord``; whoever builds one (the SDK's writer,
    ``vigil.sdk._events.log_entry``) guarantees what ``LogCreate`` would check: ``logger``
    and ``service`` names of 1..``MAX_NAME_LENGTH`` characters without U+0000 or lone
    surrogates, ``message`` at most ``MAX_LOG_MESSAGE_LENGTH`` characters with U+0000
    replaced and no lone surrogate, ``request_id`` and ``project_id`` identifiers,
    ``trace_id`` 32 and ``span_id`` 16 lowercase hex digits (or None), ``attributes_json`` a
    JSON object of at most ``MAX_METADATA_BYTES`` with no ``\\u0000`` in it. ``timestamp``
    is in seconds since the epoch, as ``time.time()`` gave it (the store writes it as text
    without a ``datetime``), or None for the store's clock at the write."""

    level: LogLevel
    logger: str
    message: str
    service: str
    request_id: str | None
    run_id: UUID | None
    step_id: UUID | None
    trace_id: str | None
    span_id: str | None
    attributes_json: str
    project_id: str | None
    timestamp: float | None


class LogRecord(StrictModel):
    id: Id
    timestamp: UtcDatetime
    level: Annotated[LogLevel, Lax]
    logger: str
    message: str
    service: str
    request_id: str | None
    run_id: Id | None
    step_id: Id | None
    trace_id: str | None
    span_id: str | None
    attributes: JsonObject
    project_id: str | None
    ingested_by: str | None
    """The ``key_id`` of the API key that sent the record; null for the controller's own."""
