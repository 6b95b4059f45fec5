"""The strict base model and the field types every model is built from.

Strictness: no coercion ("5" is not an int, extra fields are rejected, models are frozen).
FastAPI validates request bodies in Python mode after parsing the JSON, so the types whose
JSON form is a string (timestamps, UUIDs, enum members) accept that string form; this is
exactly pydantic's strict JSON-mode behaviour.
"""

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Final
from uuid import UUID

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StringConstraints,
)

from vigil.models._limits import (
    MAX_IDENTIFIER_LENGTH,
    MAX_LABEL_VALUE_LENGTH,
    MAX_LABELS,
    MAX_METADATA_BYTES,
    MAX_NAME_LENGTH,
    MAX_REASON_LENGTH,
)


class StrictModel(BaseModel):
    """Base of every model: strict types, unknown fields rejected, immutable instances."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


Lax = Strict(False)
"""Field marker for types whose JSON form is a string (see the module docstring)."""


_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _parse_timestamp(value: object) -> object:
    # Only RFC 3339 text (what the schema's "date-time" format promises) or a datetime:
    # pydantic's lax parsing would also take 0 or "0.5" as Unix times.
    if isinstance(value, str):
        if not _RFC3339.fullmatch(value):
            raise ValueError("expected an RFC 3339 timestamp with an offset: 2025-01-31T23:59:59Z")
        return datetime.fromisoformat(value.upper())
    return value


UTC_MIN: Final = datetime.min.replace(tzinfo=UTC)
UTC_MAX: Final = datetime.max.replace(tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # Valid RFC 3339, as the schema's "date-time" promises, but in year 0 or 10000 once
        # in UTC (0001-01-01T00:00:00+00:01): the nearest instant a datetime holds. A filter
        # (since, until) then means what was asked, as nothing is stored beyond those ends.
        return UTC_MIN if value.year == 1 else UTC_MAX


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_parse_timestamp), AfterValidator(_to_utc)]
"""A timezone-aware instant, normalized to UTC; naive datetimes and numbers are rejected.
An instant within a day of the ends of the years 1 to 9999 that leaves them once in UTC is
clamped to the end (0001-01-01T00:00:00Z, 9999-12-31T23:59:59.999999Z)."""


def _integral_float(value: object) -> object:
    # JSON Schema's "integer" includes 3.0 (a number with a zero fraction), and clients that
    # only have doubles send it so: take it as 3; 3.5 and "3" stay refused (strict int).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInteger = Annotated[int, BeforeValidator(_integral_float)]
"""An integer as JSON Schema defines it: ``3`` or ``3.0``, never ``3.5`` or ``"3"``."""

Id = Annotated[UUID, Lax]
"""A row id: a UUIDv7 assigned by the controller."""


NO_NUL: Final = r"^[^\x00]*$"
"""The pattern of text that may not hold U+0000 (names, URLs): PostgreSQL cannot store it."""

REPLACEMENT_CHARACTER: Final = "\ufffd"


def _without_nul(text: str) -> str:
    return text.replace("\x00", REPLACEMENT_CHARACTER) if "\x00" in text else text


Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NO_NUL)]
"""A name a developer chose (run, agent, step, logger, service): U+0000 is refused (422)."""


FreeText = AfterValidator(_without_nul)
"""Marker of text from the world outside (log messages, reasons, label and annotation
values): U+0000, which PostgreSQL cannot store, is replaced by U+FFFD on every backend, so the
record is kept and reads back the same from SQLite and PostgreSQL."""


Reason = Annotated[str, StringConstraints(max_length=MAX_REASON_LENGTH), FreeText]
"""Free text explaining a change (a workflow transition, a span's error status)."""

IDENTIFIER_PATTERN: Final = rf"^[A-Za-z0-9._:-]{{1,{MAX_IDENTIFIER_LENGTH}}}$"
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
"""Opaque ids from outside (project ids, request ids, correlation ids): a safe charset."""

TraceId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
"""W3C trace id: 32 lowercase hex digits."""

# The same rules for code that checks values without a model (the SDK's writer). fullmatch
# with \Z semantics: Python's "$" would also match before a final newline, pydantic's not.
_IDENTIFIER_TEXT: Final = re.compile(IDENTIFIER_PATTERN.removeprefix("^").removesuffix("$"))
_TRACE_ID_TEXT: Final = re.compile(r"[0-9a-f]{32}")
_SPAN_ID_TEXT: Final = re.compile(r"[0-9a-f]{16}")


def is_identifier(value: object) -> bool:
    """True for a str that ``Identifier`` accepts."""
    return type(value) is str and _IDENTIFIER_TEXT.fullmatch(value) is not None


def is_trace_id(value: object) -> bool:
    """True for a str that ``TraceId`` accepts."""
    return type(value) is str and _TRACE_ID_TEXT.fullmatch(value) is not None


def is_span_id(value: object) -> bool:
    """True for a str that ``SpanId`` accepts."""
    return type(value) is str and _SPAN_ID_TEXT.fullmatch(value) is not None


def is_name(value: object) -> bool:
    """True for a str that ``Name`` accepts: 1..``MAX_NAME_LENGTH`` characters, no U+0000, no
    lone surrogate (pydantic refuses those in constrained text: ``string_unicode``)."""
    if type(value) is not str or not 0 < len(value) <= MAX_NAME_LENGTH or "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


SpanId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
"""W3C span id: 16 lowercase hex digits."""

LabelName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]{0,127}$")]
"""Prometheus label name rules; also keeps label keys safe inside SQLite JSON paths."""

LabelValue = Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE_LENGTH), FreeText]

# The JSON schema states every rule the validator applies, so a schema-valid request is never
# refused (schemathesis checks exactly that): hence additionalProperties next to the pattern.
Labels = Annotated[
    dict[LabelName, LabelValue],
    Field(max_length=MAX_LABELS, json_schema_extra={"additionalProperties": False}),
]

JsonObject = dict[str, JsonValue]
"""The one free-form shape allowed: a JSON object (metadata, attributes, step data)."""


def json_text(value: object) -> str:
    """``value`` as compact JSON text: orjson, or the standard library for what orjson refuses
    (integers beyond 64 bits, which JSON allows and both databases store)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


_ESCAPED_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
"""``\u0000`` as an escape in JSON text (an odd number of backslashes before ``u0000``)."""


def _replace_nul(value: Any) -> Any:
    if isinstance(value, str):
        return _without_nul(value)
    if isinstance(value, dict):
        return {_without_nul(k): _replace_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_nul(v) for v in value]
    return value


def max_json_bytes(limit: int) -> Callable[[JsonObject], JsonObject]:
    """An after-validator for free-form JSON objects: U+0000 in any key or string becomes
    U+FFFD (as in free text), and objects whose JSON serialization exceeds ``limit`` bytes, or
    that hold text no database can store, are rejected."""

    def check(value: JsonObject) -> JsonObject:
        try:
            text = json_text(value)
            if "\\u0000" in text and _ESCAPED_NUL.search(text):
                value = _replace_nul(value)
                text = json_text(value)
            size = len(text.encode())
        except UnicodeEncodeError as exc:
            # JSON may carry lone surrogates ("\\udbb8"); no database can store them, and a
            # failed insert would lose a whole batch. (Constrained str fields refuse them in
            # pydantic itself: string_unicode.)
            raise ValueError("text contains a lone surrogate, which is not valid Unicode") from exc
        if size > limit:
            raise ValueError(f"serialized size {size} bytes exceeds the limit of {limit} bytes")
        return value

    return check


BoundedMetadata = Annotated[JsonObject, AfterValidator(max_json_bytes(MAX_METADATA_BYTES))]
"""A JSON object accepted from clients, at most ``MAX_METADATA_BYTES`` serialized."""
