"""The SERVER span of each HTTP request, for the instrumentation's telemetry middleware.

One span per request, continuing an incoming W3C ``traceparent`` (a malformed one is
ignored), current while the app runs and while the access record is written, then ended with
the route template, status and request id. ``opentelemetry-instrumentation-asgi`` makes
three spans per request (the request and one per ``receive``/``send``); FastAPI's own
telemetry (0.16x) one per request plus one per dependency, endpoint and serialization:
``vigil.instrument(tracing=True)`` turns FastAPI's off so there is exactly one.

Why not ``tracer.start_span``: the SDK's span costs ~19 us to start and end here (sampler
call, attribute bounding under a lock, a copy into a ``ReadableSpan`` at the end), a sixth of
a whole request. On an SDK ``TracerProvider`` this module builds the span itself: a
``RequestSpan`` is both an OpenTelemetry API span (what code inside the request sees as
current, and what child spans take as parent) and the SDK's ``ReadableSpan``, handed at the
end to the provider's span processors (``on_start``, then ``on_end``) like any SDK span, so
it reaches every exporter of the provider. Sampling follows the provider's sampler: Vigil's
own ``ParentBased(TraceIdRatioBased)`` is applied inline, any other is called. On another
kind of provider (or none) the tracer's ``start_span`` is used. Starting and ending one costs
~10 us here; its export is the exporter's (``benchmarks/instrumentation_overhead.py``,
variant ``tracing``, measures both).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)
from opentelemetry.trace import SpanKind as OtelSpanKind
from opentelemetry.util import types
from starlette.types import Scope

import vigil
from vigil._run_context import current_project
from vigil.instrumentation._headers import header_value
from vigil.instrumentation.request_id import current_request_id
from vigil.instrumentation.route_template import UNMATCHED_ENDPOINT
from vigil.redaction import redact_text
from vigil.tracing._attributes import PROJECT_ID, REQUEST_ID
from vigil.tracing._context import HTTP_SCOPE
from vigil.tracing._ids import TRACEPARENT_HEADER, TRACESTATE_HEADER, parse_traceparent

_TRACEPARENT_BYTES: Final = TRACEPARENT_HEADER.encode()
_TRACESTATE_BYTES: Final = TRACESTATE_HEADER.encode()
_UNSET: Final = Status(StatusCode.UNSET)
_ERROR: Final = Status(StatusCode.ERROR)
_SAMPLED: Final = TraceFlags(TraceFlags.SAMPLED)
_SAMPLED_RANDOM: Final = TraceFlags(TraceFlags.SAMPLED | 0x02)  # W3C level 2 "random" flag
_NOT_SAMPLED: Final = TraceFlags(TraceFlags.DEFAULT)
_NOT_SAMPLED_RANDOM: Final = TraceFlags(0x02)
_PRIMITIVES: Final = (str, bool, int, float)


class RequestSpan(ReadableSpan, otel_trace.Span):
    """The server span of one request: an API span while it runs, a ``ReadableSpan`` once
    ended. Used by one request's task; attributes are kept as given (the exporters bound
    them)."""

    def __init__(
        self,
        processor: Any,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        resource: Any,
        scope: InstrumentationScope,
        hex_ids: tuple[str, str],
    ) -> None:
        # ReadableSpan's fields, set as its __init__ does (without the keyword call: this
        # runs for every request).
        self._name = name
        self._context = context
        self._kind = OtelSpanKind.SERVER
        self._instrumentation_info = None
        self._instrumentation_scope = scope
        self._parent = parent
        self._start_time = time.time_ns()
        self._end_time = None
        self._attributes: dict[str, Any] = {}
        self._events: list[Event] = []
        self._links = ()
        self._resource = resource
        self._status = _UNSET
        self._processor = processor
        self._ended = False
        self.hex_ids = hex_ids
        """``(trace_id, span_id)`` as text, read by the log formatter for every record."""

    # opentelemetry.trace.Span ---------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self._context  # type: ignore[return-value]  # always set (ReadableSpan's is optional)

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        if not self._ended and _valid_value(value):
            self._attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        if not self._ended:
            self._events.append(Event(name, dict(attributes or {}), timestamp or time.time_ns()))

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        pass  # links are given at start; a request span starts with none

    def update_name(self, name: str) -> None:
        if not self._ended:
            self._name = name

    def is_recording(self) -> bool:
        return not self._ended

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._ended or self._status.status_code is StatusCode.OK:
            return  # OK is final (the API's rule)
        self._status = status if isinstance(status, Status) else Status(status, description)

    # The SDK's own: it builds the ``exception`` event and calls ``add_event`` above.
    record_exception = SdkSpan.record_exception

    def end(self, end_time: int | None = None) -> None:
        if self._ended:
            return
        self._end_time = end_time or time.time_ns()
        self._ended = True
        self._processor.on_end(self)


def _valid_value(value: object) -> bool:
    """What OpenTelemetry takes as an attribute value (its SDK drops anything else)."""
    if isinstance(value, _PRIMITIVES):
        return True
    return isinstance(value, list | tuple) and all(isinstance(v, _PRIMITIVES) for v in value)


@dataclass(slots=True)
class TracedRequest:
    """What ``RequestTracer.start`` returns: the span and the context token to restore."""

    span: otel_trace.Span
    token: object
    exemplar_trace_id: str | None
    """The trace id for the latency exemplar: set when the span is sampled (recorded)."""


class _FastPath:
    """What ``RequestTracer`` needs of an SDK tracer to build spans itself: its processor,
    resource, and a sampler it can apply inline (``_inline_bound``)."""

    __slots__ = ("bound", "processor", "resource", "scope")

    def __init__(self, tracer: SdkTracer, bound: int) -> None:
        self.processor = tracer.span_processor
        self.resource = tracer.resource
        self.scope = InstrumentationScope(HTTP_SCOPE, vigil.__version__)
        self.bound = bound


class RequestTracer:
    """Starts and finishes the server span of each request on the global TracerProvider."""

    def __init__(self) -> None:
        self._provider: object = None
        self._tracer: otel_trace.Tracer | None = None
        self._fast: _FastPath | None = None

    def _resolve(self) -> None:
        provider = otel_trace.get_tracer_provider()
        if provider is self._provider:
            return
        tracer = provider.get_tracer(HTTP_SCOPE, vigil.__version__)
        fast = None
        if type(tracer) is SdkTracer and type(tracer.id_generator) is RandomIdGenerator:
            bound = _inline_bound(tracer.sampler)
            if bound is not None:
                fast = _FastPath(tracer, bound)
        self._tracer, self._fast, self._provider = tracer, fast, provider

    def start(self, scope: Scope) -> TracedRequest:
        """Open the request's span and make it current; ``finish`` ends it."""
        self._resolve()
        parent = _incoming_parent(scope)
        method = scope["method"]
        fast = self._fast
        if fast is None:
            assert self._tracer is not None  # noqa: S101 - set by _resolve
            context = None
            if parent is not None:
                context = otel_trace.set_span_in_context(NonRecordingSpan(parent))
            span: otel_trace.Span = self._tracer.start_span(
                method, context=context, kind=OtelSpanKind.SERVER
            )
            token = otel_context.attach(otel_trace.set_span_in_context(span))
            sampled = span.is_recording()
            ids = span.get_span_context()
            return TracedRequest(span, token, format(ids.trace_id, "032x") if sampled else None)
        span, sampled = _fast_span(fast, method, parent)
        token = otel_context.attach(otel_trace.set_span_in_context(span))
        exemplar = span.hex_ids[0] if sampled else None  # type: ignore[attr-defined]
        return TracedRequest(span, token, exemplar)

    @staticmethod
    def flush() -> bool:
        """Export what Vigil's destinations hold (at the end of the app's lifespan)."""
        from vigil.tracing._setup import flush_tracing

        return flush_tracing()

    @staticmethod
    def finish(
        traced: TracedRequest,
        scope: Scope,
        *,
        endpoint: str,
        status: int,
        error: BaseException | None,
    ) -> None:
        """End the span with the route, status and request id, and restore the context."""
        otel_context.detach(traced.token)  # type: ignore[arg-type]
        span = traced.span
        if not span.is_recording():
            return
        method = scope["method"]
        attributes: dict[str, Any] = {
            "http.request.method": method,
            # Redacted as the access line redacts it: a path can carry a secret, and every
            # exporter of the provider (an OTLP backend's too) gets these attributes.
            "url.path": redact_text(scope["path"]),
            "http.response.status_code": status,
        }
        name = method
        if endpoint != UNMATCHED_ENDPOINT:
            attributes["http.route"] = endpoint
            name = f"{method} {endpoint}"
        request_id = current_request_id()
        if request_id is not None:
            attributes[REQUEST_ID] = request_id
        project = current_project()
        if project is not None:
            attributes[PROJECT_ID] = project
        if type(span) is RequestSpan:  # the common case, without the API's checks
            span._name = name
            span._attributes.update(attributes)
        else:
            span.update_name(name)
            span.set_attributes(attributes)
        if error is not None:
            span.record_exception(error, escaped=False)
        if status >= 500 or error is not None:
            span.set_status(_ERROR)
        span.end()


def _inline_bound(sampler: object) -> int | None:
    """The root-span bound of a ``ParentBased`` sampler with the default parent rules over
    ``TraceIdRatioBased``, ``ALWAYS_ON`` or ``ALWAYS_OFF`` (what ``setup_tracing`` and a
    default ``TracerProvider`` use): a root is sampled when the low 64 bits of its trace id
    are below it, as ``TraceIdRatioBased`` decides. None for any other sampler, which is then
    called for every request. (Attributes of opentelemetry-sdk 1.45, pinned by
    tests/tracing/test_request_spans.py.)"""
    if type(sampler) is not ParentBased:
        return None
    if (
        getattr(sampler, "_remote_parent_sampled", None) is not ALWAYS_ON
        or getattr(sampler, "_remote_parent_not_sampled", None) is not ALWAYS_OFF
    ):
        return None
    root = getattr(sampler, "_root", None)
    if type(root) is TraceIdRatioBased:
        return root.bound
    if root is ALWAYS_ON:
        return 1 << 64
    if root is ALWAYS_OFF:
        return 0
    return None


_TRACE_ID_LOW_BITS: Final = (1 << 64) - 1
_RANDOM_FLAG: Final = 0x02


def _fast_span(
    fast: _FastPath, method: str, parent: SpanContext | None
) -> tuple[otel_trace.Span, bool]:
    span_id = random.getrandbits(64) or 1
    if parent is None:
        trace_id = random.getrandbits(128) or 1
        sampled = trace_id & _TRACE_ID_LOW_BITS < fast.bound
        random_trace_id, trace_state = True, None
    else:  # ParentBased: a remote parent's decision stands
        trace_id = parent.trace_id
        sampled = parent.trace_flags.sampled
        random_trace_id, trace_state = bool(parent.trace_flags & _RANDOM_FLAG), parent.trace_state
    if sampled:
        flags = _SAMPLED_RANDOM if random_trace_id else _SAMPLED
    else:
        flags = _NOT_SAMPLED_RANDOM if random_trace_id else _NOT_SAMPLED
    context = SpanContext(trace_id, span_id, False, flags, trace_state)
    if not sampled:
        return NonRecordingSpan(context), False
    hex_ids = (format(trace_id, "032x"), format(span_id, "016x"))
    span = RequestSpan(fast.processor, method, context, parent, fast.resource, fast.scope, hex_ids)
    # Processors take it as the SDK's Span: it has that class's attributes and methods.
    fast.processor.on_start(span, None)  # type: ignore[arg-type]
    return span, True


def _incoming_parent(scope: Scope) -> SpanContext | None:
    """The remote parent named by a valid ``traceparent`` header, else None."""
    header = header_value(scope, _TRACEPARENT_BYTES)
    if header is None:
        return None
    parsed = parse_traceparent(header)
    if parsed is None:
        return None
    trace_id, span_id, flags = parsed
    state = header_value(scope, _TRACESTATE_BYTES)
    trace_state = TraceState.from_header([state]) if state else None
    return SpanContext(trace_id, span_id, True, TraceFlags(flags), trace_state)
