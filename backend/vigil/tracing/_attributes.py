"""The attribute names Vigil puts on spans, and values made fit for OpenTelemetry.

OpenTelemetry attribute values are strings, booleans, numbers or sequences of one of them;
an SDK drops anything else with a warning. Agent code has always been able to attach JSON
objects to its spans (``recorder.span(attributes={"query": {...}})``), so such values travel
as their JSON text instead of being lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

RUN_ID: Final = "vigil.run_id"
"""The run a span belongs to (``run_context``, or ``recorder.span(run_id=...)``)."""
PROJECT_ID: Final = "vigil.project_id"
"""The project of the run, or of the API key a controller request was made with."""
REQUEST_ID: Final = "vigil.request_id"
"""The request id (``X-Request-Id``) of a server span: joins the span to the access record."""

_PRIMITIVES: Final = (str, bool, int, float)


def attribute_value(value: Any) -> Any:
    """``value`` as OpenTelemetry accepts it: as it is when it is a primitive or a sequence
    of one type of primitive, else its JSON text."""
    if isinstance(value, _PRIMITIVES):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, _PRIMITIVES) for v in value):
        kinds = {type(v) for v in value}
        if len(kinds) <= 1:
            return tuple(value)
    return orjson.dumps(value, default=str).decode()


def attribute_values(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``attributes`` with every value made fit (``attribute_value``)."""
    if not attributes:
        return {}
    return {str(key): attribute_value(value) for key, value in attributes.items()}
