"""Spans: the trace tree of a request or an agent run, in OpenTelemetry's shape."""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from vigil.models._types import (
    BoundedMetadata,
    Id,
    Identifier,
    JsonObject,
    Lax,
    Name,
    Reason,
    SpanId,
    StrictModel,
    TraceId,
    UtcDatetime,
)


class SpanKind(StrEnum):
    INTERNAL = "internal"
    SERVER = "server"
    CLIENT = "client"
    PRODUCER = "producer"
    CONSUMER = "consumer"


class SpanStatus(StrEnum):
    UNSET = "unset"
    OK = "ok"
    ERROR = "error"


class SpanCreate(StrictModel):
    event: Literal["span"] = "span"
    trace_id: TraceId
    span_id: SpanId
    parent_span_id: SpanId | None = None
    name: Name
    kind: Annotated[SpanKind, Lax] = SpanKind.INTERNAL
    service: Name
    start_time: UtcDatetime
    end_time: UtcDatetime
    status: Annotated[SpanStatus, Lax] = SpanStatus.UNSET
    status_message: Reason | None = None
    attributes: BoundedMetadata = Field(default_factory=dict)
    run_id: Id | None = None
    project_id: Identifier | None = None


class Span(StrictModel):
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: Annotated[SpanKind, Lax]
    service: str
    start_time: UtcDatetime
    end_time: UtcDatetime
    status: Annotated[SpanStatus, Lax]
    status_message: str | None
    attributes: JsonObject
    run_id: Id | None
    project_id: str | None
