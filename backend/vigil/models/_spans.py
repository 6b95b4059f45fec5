"""Spans: the trace tree of a request or an agent run, in OpenTelemetry's shape."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, NamedTuple
from uuid import UUID

from pydantic import Field

from vigil.models._limits import MAX_TRACE_DEPTH
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


class SpanRecord(NamedTuple):
    """A finished span as ``vigil.tracing``'s exporters hand it to ``EventStore.write_spans``.

    Not a model on purpose: validating a ``SpanCreate`` costs ~6 us per span here, a third of
    what a span may cost at 50,000 spans/s. The producer guarantees what the model would
    check: ids of 32 and 16 lowercase hex digits, ``name`` and ``service`` of 1..200
    characters without U+0000, ``attributes_json`` a redacted JSON object of at most
    ``MAX_METADATA_BYTES``, ``status_message`` at most ``MAX_REASON_LENGTH``, times inside
    ``datetime``'s years 1 to 9999 (a clock's skew may put an end before its start, as
    ``SpanCreate`` allows). The times are nanoseconds since the epoch, as OpenTelemetry keeps
    them: the store writes them as text at the microsecond (``span_time``) without making a
    ``datetime`` of each (~0.7 us a timestamp here).
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: SpanKind
    service: str
    start_time: int
    end_time: int
    status: SpanStatus
    status_message: str | None
    attributes_json: str
    run_id: UUID | None
    project_id: str | None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST_NS = -62_135_596_800 * 10**9  # 0001-01-01T00:00:00Z
_AFTER_LAST_NS = 253_402_300_800 * 10**9  # 10000-01-01T00:00:00Z


def is_span_time(nanoseconds: object) -> bool:
    """Whether ``nanoseconds`` can be a ``SpanRecord`` time: an int inside ``datetime``'s
    years 1 to 9999 (what ``span_time`` and the store's text can hold, and read back)."""
    return type(nanoseconds) is int and _FIRST_NS <= nanoseconds < _AFTER_LAST_NS


def span_time(nanoseconds: int) -> datetime:
    """A ``SpanRecord`` time as the aware UTC ``datetime`` it is stored as: the microsecond
    the nanosecond falls in (truncated, so an end never comes before its start)."""
    return _EPOCH + timedelta(microseconds=nanoseconds // 1_000)


class SpanNode(Span):
    """A stored span and the spans whose parent it is, by start time."""

    children: list[SpanNode]


class TraceTree(StrictModel):
    """The spans of one trace as a tree (a forest when parents are missing)."""

    trace_id: str
    span_count: int
    truncated: bool
    roots: list[SpanNode]

    @classmethod
    def of(cls, trace_id: str, spans: Sequence[Span], *, truncated: bool = False) -> TraceTree:
        """The tree of ``spans`` (by start time): a span whose parent is not among them is a
        root (its parent lives in another service, was not sampled, or is yet to arrive)."""
        return cls(
            trace_id=trace_id,
            span_count=len(spans),
            truncated=truncated,
            roots=span_forest(spans),
        )


class RunTrace(StrictModel):
    """The spans recorded for one run, as one tree per trace (oldest trace first)."""

    run_id: UUID
    span_count: int
    truncated: bool
    traces: list[TraceTree]

    @classmethod
    def of(cls, run_id: UUID, spans: Sequence[Span], *, truncated: bool = False) -> RunTrace:
        by_trace: dict[str, list[Span]] = {}
        for span in spans:
            by_trace.setdefault(span.trace_id, []).append(span)
        return cls(
            run_id=run_id,
            span_count=len(spans),
            truncated=truncated,
            traces=[TraceTree.of(trace_id, group) for trace_id, group in by_trace.items()],
        )


def span_forest(spans: Iterable[Span]) -> list[SpanNode]:
    """Nest spans under their parents, keeping the order of ``spans`` among siblings.

    Safe on any input, without recursion: a span whose parent is not in ``spans`` is a root;
    spans no root reaches (a forged cycle: a span that is its own ancestor) become roots, so
    no span is hidden; and a span ``MAX_TRACE_DEPTH`` levels down starts a new root (its
    ``parent_span_id`` still names its parent).
    """
    ordered = list(spans)
    ids = {span.span_id for span in ordered}
    children: dict[str, list[Span]] = {}
    roots: list[Span] = []
    for span in ordered:
        parent = span.parent_span_id
        if parent is None or parent not in ids or parent == span.span_id:
            roots.append(span)
        else:
            children.setdefault(parent, []).append(span)
    reached: list[Span] = []  # breadth-first from the roots: parents before their children
    frontier, depth = list(roots), 0
    while frontier:
        reached.extend(frontier)
        depth += 1
        frontier = [child for span in frontier for child in children.get(span.span_id, ())]
        if depth == MAX_TRACE_DEPTH and frontier:
            deep = {span.span_id for span in frontier}
            for siblings in children.values():
                siblings[:] = [kid for kid in siblings if kid.span_id not in deep]
            roots.extend(frontier)
            depth = 0
    if len(reached) < len(ordered):
        seen = {span.span_id for span in reached}
        stranded = [span for span in ordered if span.span_id not in seen]
        roots.extend(stranded)
        reached.extend(stranded)
        for span in stranded:  # cut every cycle: stranded spans keep no children
            children.pop(span.span_id, None)
    nodes: dict[str, SpanNode] = {}
    for span in reversed(reached):  # children first
        kids = [nodes[child.span_id] for child in children.get(span.span_id, ())]
        nodes[span.span_id] = SpanNode.model_construct(**dict(span), children=kids)
    return [nodes[span.span_id] for span in roots]
