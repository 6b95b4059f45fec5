"""Execution logs: the controller's and the agents' log records, correlated by ids."""

from enum import StrEnum
from typing import Annotated, Final, Literal

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
