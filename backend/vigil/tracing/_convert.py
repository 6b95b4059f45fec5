"""A finished OpenTelemetry span as a ``SpanRecord``: what both exporters store.

This runs for every exported span (on the exporter's thread), so it formats ids and
timestamps itself and validates nothing a model would: the producer is the SDK, whose ids
and enums are always well formed. What comes from application code is bounded here: the
name (200 characters, no U+0000), the attributes (redacted, 16 KiB of JSON) and the status
message (2,000 characters).

Span events are not stored, but for the exception: its type, message and stack trace
become the ``exception.*`` attributes of the stored span.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Final
from uuid import UUID

import orjson
from opentelemetry.sdk.trace import ReadableSpan

from vigil.models import (
    MAX_METADATA_BYTES,
    MAX_NAME_LENGTH,
    MAX_REASON_LENGTH,
    SpanKind,
    SpanRecord,
    SpanStatus,
)
from vigil.models._spans import is_span_time
from vigil.models._types import is_identifier
from vigil.sdk._events import bounded_json
from vigil.tracing._attributes import PROJECT_ID, REQUEST_ID, RUN_ID
from vigil.tracing._context import OTEL_KINDS, OTEL_STATUS_CODES

# By the OpenTelemetry enum's int value: its members hash in Python code (Enum.__hash__,
# ~0.3 us a lookup here), an int in C.
KINDS: Final = {otel._value_: kind for kind, otel in OTEL_KINDS.items()}
STATUSES: Final = {otel._value_: status for status, otel in OTEL_STATUS_CODES.items()}
EXCEPTION_EVENT: Final = "exception"
MAX_EXCEPTION_TEXT: Final = 4_000
"""Characters kept of each ``exception.*`` text, so a deep stack trace still fits the
attributes' 16 KiB."""
SERVICE_NAME: Final = "service.name"
TRUSTED_ATTRIBUTES: Final = frozenset(
    {"http.request.method", "url.path", "http.route", "http.response.status_code", REQUEST_ID}
)


def span_record(span: ReadableSpan, service: str) -> SpanRecord:
    """The record of ``span``; ``service`` unless its resource names one."""
    context = span.context
    if context is None:
        raise ValueError("a span without a context cannot be stored")
    hex_ids = getattr(span, "hex_ids", None)  # a request span: formatted already
    request_span = hex_ids is not None
    if hex_ids is None:
        hex_ids = format(context.trace_id, "032x"), format(context.span_id, "016x")
    parent = span.parent
    attributes = _attributes_of(span)
    run_id = _uuid(attributes.pop(RUN_ID, None))
    project = attributes.pop(PROJECT_ID, None)
    if getattr(span, "_events", True):  # the property copies them, even when there are none
        for event in span.events:
            if event.name == EXCEPTION_EVENT and event.attributes:
                for key, value in event.attributes.items():
                    if isinstance(value, str):
                        value = value[:MAX_EXCEPTION_TEXT]
                    attributes[key] = value
    status = span.status
    message = status.description
    start = span.start_time or 0
    end = span.end_time or start
    if not (is_span_time(start) and is_span_time(end)):  # a float, or past the year 9999
        raise ValueError(f"span times a datetime cannot hold: {start!r}, {end!r}")
    fields = (
        hex_ids[0],
        hex_ids[1],
        None if parent is None else format(parent.span_id, "016x"),
        _name(span.name),
        KINDS.get(span.kind._value_, SpanKind.INTERNAL),
        _service(span.resource, service),
        start,
        end,
        STATUSES.get(status.status_code._value_, SpanStatus.UNSET),
        None if not message else message[:MAX_REASON_LENGTH].replace("\x00", ""),
        _attributes_json(attributes, trusted=request_span),
        run_id,
        project if is_identifier(project) else None,
    )
    return SpanRecord._make(fields)


def _attributes_of(span: ReadableSpan) -> dict[str, Any]:
    """A copy of the span's attributes. The SDK keeps them in a ``BoundedAttributes``, whose
    mapping interface is Python code (~2.4 us to copy 3 attributes here); its inner dict
    copies in C. Any other shape goes through the public ``attributes``."""
    held = getattr(span, "_attributes", None)
    if type(held) is dict:  # a request span's
        return held.copy()
    inner = getattr(held, "_dict", None)
    if type(inner) is dict or type(inner) is OrderedDict:
        return dict(inner)
    return dict(span.attributes) if span.attributes else {}


def _attributes_json(attributes: dict[str, Any], *, trusted: bool) -> str:
    """Redacted and bounded JSON. What Vigil's request span sets itself (method, the path
    redacted at the source, route, status, request id: the access record's fields) is not
    free text, and skips the redaction cost when it is all there is (``trusted``); any other
    span's attributes are redacted, whatever their keys."""
    if not attributes:
        return "{}"
    if trusted and attributes.keys() <= TRUSTED_ATTRIBUTES:
        text = orjson.dumps(attributes)
        if len(text) <= MAX_METADATA_BYTES:
            return text.decode()
    return bounded_json(attributes).decode()


_services: dict[int, tuple[object, str]] = {}


def _service(resource: Any, default: str) -> str:
    """The resource's ``service.name`` (resources are few and immutable: cached by id)."""
    known = _services.get(id(resource))
    if known is not None and known[0] is resource:
        return known[1]
    name = _name(resource.attributes.get(SERVICE_NAME) or default)
    if len(_services) > 64:
        _services.clear()
    _services[id(resource)] = (resource, name)
    return name


def _name(value: object) -> str:
    text = str(value)[:MAX_NAME_LENGTH].replace("\x00", "\ufffd")
    return text or "unnamed"


def _uuid(value: object) -> UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None
