"""Trace and span ids as text: read from the OpenTelemetry context, minted, or parsed from a
W3C ``traceparent`` header.

``current_trace_ids`` runs for every log record and event, so it reads the context through
the API's one ContextVar and formats two integers (~1 us); without OpenTelemetry it returns
None at once, and so it does when the current context is empty (no span, no baggage: what
an untraced service always has), one ``get_current()`` instead of the ~4,000 instructions of
``get_current_span`` and the checks after it.
"""

from __future__ import annotations

import os
import re
from typing import Final

from vigil.tracing._otel import API_INSTALLED, otel_context, otel_trace

TRACEPARENT_HEADER: Final = "traceparent"
TRACESTATE_HEADER: Final = "tracestate"

# The W3C Trace Context format, as OpenTelemetry's propagator reads it: version, trace id,
# parent (span) id, flags; a future version may append fields, version 00 may not.
_TRACEPARENT: Final = re.compile(
    r"[ \t]*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^ \t]*)?[ \t]*"
)
_INVALID_TRACE_ID: Final = "0" * 32
_INVALID_SPAN_ID: Final = "0" * 16


def new_trace_id() -> str:
    """A random trace id: 32 lowercase hex digits."""
    return os.urandom(16).hex()


def new_span_id() -> str:
    """A random span id: 16 lowercase hex digits."""
    return os.urandom(8).hex()


def current_trace_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` of the span active in this context, or None."""
    if not API_INSTALLED or not otel_context.get_current():  # a Context is a dict
        return None
    span = otel_trace.get_current_span()
    known = getattr(span, "hex_ids", None)  # Vigil's request spans carry them formatted
    if known is not None:
        return known  # type: ignore[no-any-return]
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def generate_correlation_id() -> str:
    """The current trace id when a span is active (so the id joins logs, steps and the
    trace), else a random 32-hex id."""
    ids = current_trace_ids()
    return ids[0] if ids is not None else new_trace_id()


def parse_traceparent(value: str) -> tuple[int, int, int] | None:
    """``(trace_id, span_id, flags)`` of a valid ``traceparent`` value, else None: a
    malformed header is ignored, never an error (W3C Trace Context, section 3.2)."""
    match = _TRACEPARENT.fullmatch(value)
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == _INVALID_TRACE_ID or span_id == _INVALID_SPAN_ID:
        return None
    return int(trace_id, 16), int(span_id, 16), int(flags, 16)


def format_traceparent(trace_id: int, span_id: int, sampled: bool) -> str:
    """A version-00 ``traceparent`` value."""
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}"
