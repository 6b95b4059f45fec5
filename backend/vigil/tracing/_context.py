"""``get_tracer`` and ``TracingContext``: spans for any code, a no-op without OpenTelemetry.

    with TracingContext("load_orders", {"batch": 7}) as ctx:
        log.info("loading", extra={"trace_id": ctx.trace_id})

A ``TracingContext`` starts a span on the global TracerProvider (``setup_tracing`` sets it,
or the application's own), makes it current for what runs inside (logs, steps and child
spans carry its ids), and ends it on exit; an exception is recorded on the span, which gets
status ERROR, and re-raised. Without the OpenTelemetry SDK, or before any TracerProvider is
set, entering and leaving cost well under a microsecond and the ids are random ones minted
on first read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, cast

import vigil
from vigil._also_async import AlsoAsync
from vigil.models import MAX_REASON_LENGTH, SpanKind, SpanStatus
from vigil.tracing._attributes import attribute_value, attribute_values
from vigil.tracing._ids import new_span_id, new_trace_id
from vigil.tracing._otel import API_INSTALLED, otel_context, otel_trace

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

DEFAULT_SCOPE: Final = "vigil"
"""The instrumentation scope of ``TracingContext`` spans unless a tracer is given."""
AGENT_SCOPE: Final = "vigil.agent"
"""The scope of ``AgentRecorder.span`` spans: the ones Vigil sends to Langfuse."""
HTTP_SCOPE: Final = "vigil.http"
"""The scope of the server span of each instrumented request."""

if API_INSTALLED:
    from opentelemetry.trace import NoOpTracer, ProxyTracer, ProxyTracerProvider, Status, StatusCode
    from opentelemetry.trace import SpanKind as OtelSpanKind

    GLOBAL_TRACERS: Final[tuple[type, ...]] = (ProxyTracer, NoOpTracer)
    """The API's tracers of the global provider: they record nothing until one is set."""

    OTEL_KINDS: Final[dict[SpanKind, OtelSpanKind]] = {
        SpanKind.INTERNAL: OtelSpanKind.INTERNAL,
        SpanKind.SERVER: OtelSpanKind.SERVER,
        SpanKind.CLIENT: OtelSpanKind.CLIENT,
        SpanKind.PRODUCER: OtelSpanKind.PRODUCER,
        SpanKind.CONSUMER: OtelSpanKind.CONSUMER,
    }
    OTEL_STATUS_CODES: Final[dict[SpanStatus, StatusCode]] = {
        SpanStatus.UNSET: StatusCode.UNSET,
        SpanStatus.OK: StatusCode.OK,
        SpanStatus.ERROR: StatusCode.ERROR,
    }

_tracers: dict[str, Tracer] = {}
_KINDS: Final[dict[str, SpanKind]] = {kind.value: kind for kind in SpanKind}


def get_tracer(name: str = DEFAULT_SCOPE) -> Tracer:
    """The tracer of instrumentation scope ``name`` from the global TracerProvider.

    Before a provider is set it is OpenTelemetry's proxy, which starts forwarding to the
    provider once one is set; without OpenTelemetry it is a tracer whose spans do nothing.
    """
    found = _tracers.get(name)
    if found is None:
        if API_INSTALLED:
            found = otel_trace.get_tracer(name, vigil.__version__)
        else:
            found = cast("Tracer", _NoTracer())
        _tracers[name] = found
    return found


_configured = False
# OpenTelemetry creates a provider from this variable on first use, if it is set.
_PROVIDER_FROM_ENVIRONMENT: Final = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


def tracing_configured() -> bool:
    """Whether a real TracerProvider is set (spans are recorded somewhere).

    Every ``TracingContext`` asks, so the answer must cost next to nothing when tracing is
    off: ``get_tracer_provider()`` looks an environment variable up on each call (~1.2 us
    here), while the API's global, read directly, is None until a provider is set (pinned by
    tests/tracing/test_context.py). A provider, once set, is never unset.
    """
    global _configured
    if _configured:
        return True
    if not API_INSTALLED:
        return False
    if getattr(otel_trace, "_TRACER_PROVIDER", None) is None and not _PROVIDER_FROM_ENVIRONMENT:
        return False
    _configured = not isinstance(otel_trace.get_tracer_provider(), ProxyTracerProvider)
    return _configured


class TracingContext(AlsoAsync):
    """A span around a block: ``with`` or ``async with``, entered once.

    ``attributes`` may hold any JSON value (non-primitive ones travel as JSON text); ``kind``
    is a ``SpanKind`` (``internal`` by default); ``tracer`` defaults to ``get_tracer()``.
    """

    __slots__ = ("_attributes", "_ids", "_kind", "_span", "_token", "_tracer", "operation_name")

    def __init__(
        self,
        operation_name: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        kind: SpanKind | str = SpanKind.INTERNAL,
        tracer: Tracer | None = None,
    ) -> None:
        self.operation_name = operation_name
        self._attributes = attributes
        found = _KINDS.get(kind)
        if found is None:
            raise ValueError(f"unknown span kind {kind!r}; one of {sorted(_KINDS)}")
        self._kind = found
        self._tracer = tracer
        self._span: Span | None = None
        self._token: object = None
        self._ids: tuple[str, str] | None = None

    # The span ----------------------------------------------------------------------------

    @property
    def span(self) -> Span | None:
        """The OpenTelemetry span while the context is entered (None in no-op mode)."""
        return self._span

    @property
    def trace_id(self) -> str:
        """The trace id: 32 lowercase hex digits."""
        return self._hex_ids()[0]

    @property
    def span_id(self) -> str:
        """The span id: 16 lowercase hex digits."""
        return self._hex_ids()[1]

    def _hex_ids(self) -> tuple[str, str]:
        if self._ids is None:
            context = None if self._span is None else self._span.get_span_context()
            if context is not None and context.is_valid:
                self._ids = format(context.trace_id, "032x"), format(context.span_id, "016x")
            else:  # no-op mode: random ids of this context's own; no log line carries them
                self._ids = new_trace_id(), new_span_id()
        return self._ids

    def set_attribute(self, key: str, value: Any) -> None:
        """Set an attribute on the span (any JSON value; see ``attribute_value``)."""
        if self._span is not None:
            self._span.set_attribute(key, attribute_value(value))

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        """Record an event at this instant on the span."""
        if self._span is not None:
            self._span.add_event(name, attribute_values(attributes))

    def set_status(self, status: SpanStatus | str, message: str | None = None) -> None:
        """Set the span's status: ``unset``, ``ok`` or ``error`` (with an optional message)."""
        found = SpanStatus(status)
        if self._span is not None:
            code = OTEL_STATUS_CODES[found]
            description = (
                message[:MAX_REASON_LENGTH] if message and code is StatusCode.ERROR else None
            )
            self._span.set_status(Status(code, description))

    # Entering and leaving ----------------------------------------------------------------

    def __enter__(self) -> Self:
        if self._token is not None:
            raise RuntimeError("this TracingContext is already entered; create a new one")
        tracer = self._tracer
        # Without a global provider, the no-op mode unless the tracer given is one of a
        # provider of the application's own (not the API's proxy, which records nothing
        # until a provider is set; without the API, only the no-op one ``get_tracer`` makes).
        if not API_INSTALLED or (
            (tracer is None or type(tracer) in GLOBAL_TRACERS) and not tracing_configured()
        ):
            self._token = False  # entered, in no-op mode
            return self
        if tracer is None:
            tracer = get_tracer()
        span = tracer.start_span(
            self.operation_name,
            kind=OTEL_KINDS[self._kind],
            attributes=attribute_values(self._attributes),
        )
        self._span = span
        self._token = otel_context.attach(otel_trace.set_span_in_context(span))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token, span = self._token, self._span
        self._token = None
        if span is None:
            return
        try:
            if exc is not None:
                span.record_exception(exc)
                reason = f"{type(exc).__name__}: {exc}"[:MAX_REASON_LENGTH]
                span.set_status(Status(StatusCode.ERROR, reason))
        finally:
            otel_context.detach(token)  # type: ignore[arg-type]
            span.end()


class _NoSpan:
    """What ``_NoTracer`` starts: accepts every call and records nothing."""

    def __getattr__(self, name: str) -> Any:
        return _ignore

    def is_recording(self) -> bool:
        return False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _ignore(*args: object, **kwargs: object) -> None:
    return None


class _NoTracer:
    """The tracer of a process without OpenTelemetry (``get_tracer``)."""

    def start_span(self, name: str, context: Context | None = None, **kwargs: Any) -> _NoSpan:
        return _NoSpan()

    def start_as_current_span(self, name: str, **kwargs: Any) -> _NoSpan:
        return _NoSpan()
