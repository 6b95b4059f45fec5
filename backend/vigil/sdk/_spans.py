"""Lightweight spans for agent code that does not run OpenTelemetry.

``with recorder.span("tool.search") as span:`` times the block and queues a ``SpanCreate``
when it ends. Spans nest through a ContextVar: a span opened inside another shares its trace
id and names it as parent, and steps and logs recorded inside carry the trace (and span) id.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from vigil.models import MAX_REASON_LENGTH, JsonObject, SpanKind, SpanStatus
from vigil.sdk._context import AlsoAsync, current_project, current_run_id
from vigil.sdk._events import SPAN, QueuedEvent

_current_span: ContextVar[SpanScope | None] = ContextVar("vigil_sdk_span", default=None)

SPAN_KINDS: dict[str, SpanKind] = {kind.value: kind for kind in SpanKind}
SPAN_STATUSES: dict[str, SpanStatus] = {status.value: status for status in SpanStatus}


def current_span() -> SpanScope | None:
    """The innermost open span of this context, or None."""
    return _current_span.get()


class SpanScope(AlsoAsync):
    """One span being timed; use it as a (sync or async) context manager, once."""

    __slots__ = (
        "_enqueue",
        "_start",
        "_token",
        "attributes",
        "kind",
        "name",
        "parent_span_id",
        "run_id",
        "span_id",
        "status",
        "status_message",
        "trace_id",
    )

    def __init__(
        self,
        enqueue: Callable[[QueuedEvent], bool],
        name: str,
        kind: SpanKind,
        attributes: JsonObject | None,
        run_id: UUID | None,
    ) -> None:
        self._enqueue = enqueue
        self.name = name
        self.kind = kind
        self.attributes: JsonObject = dict(attributes) if attributes else {}
        self.run_id = run_id
        self.status = SpanStatus.UNSET
        self.status_message: str | None = None
        self.trace_id = ""
        self.span_id = ""
        self.parent_span_id: str | None = None
        self._start = 0.0
        self._token: Token[SpanScope | None] | None = None

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def set_status(self, status: SpanStatus | str, message: str | None = None) -> None:
        found = SPAN_STATUSES.get(status)
        if found is None:
            raise ValueError(f"unknown span status {status!r}; one of {sorted(SPAN_STATUSES)}")
        self.status = found
        self.status_message = message

    def __enter__(self) -> Self:
        if self._token is not None:
            raise RuntimeError("this span is already open")
        parent = _current_span.get()
        if parent is None:
            self.trace_id = os.urandom(16).hex()
        else:
            self.trace_id = parent.trace_id
            self.parent_span_id = parent.span_id
            if self.run_id is None:
                self.run_id = parent.run_id
        if self.run_id is None:
            self.run_id = current_run_id()
        self.span_id = os.urandom(8).hex()
        self._start = time.time()
        self._token = _current_span.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        end = time.time()
        if self._token is not None:
            _current_span.reset(self._token)
        if exc is not None and self.status is SpanStatus.UNSET:
            self.status = SpanStatus.ERROR
            self.status_message = f"{type(exc).__name__}: {exc}"[:MAX_REASON_LENGTH]
        self._enqueue(
            (
                SPAN,
                self.trace_id,
                self.span_id,
                self.parent_span_id,
                self.name,
                self.kind,
                self._start,
                end,
                self.status,
                self.status_message,
                self.attributes,
                self.run_id,
                current_project(),
            )
        )
