"""A step event as a client sends it (the JSON object of ``POST /events/batch``, parsed) made
into a ``StepRecord`` directly, without building the ``StepEvent`` model.

Validating a step with the model costs several times what storing it does; most steps are
plainly valid. ``step_record_of`` takes the common, unambiguous forms only, and answers None
for anything else, which then goes through the model: the model stays the one judge of what
is refused (and with which error) or repaired (U+0000 in data). So everything taken here must
be taken by the model too, into the same stored row; ``tests/models/test_step_documents.py``
checks that on generated documents.

Taken: ``"event": "step"`` and only ``StepEvent``'s fields; ids in their canonical 36-character
form; a step type by its value; a name ``Name`` accepts; data a JSON object whose orjson
serialization (what the store writes) has no ``\\u0000`` escape, fits ``MAX_STEP_DATA_BYTES``
and holds finite numbers only; request and trace ids the models' patterns accept;
``created_at`` absent, null or UTC text in ``2026-12-01T20:15:00.123456Z`` / ``+00:00`` form
for years 1970..2105 (where a float keeps every microsecond); at most
``MAX_ARTIFACTS_PER_STEP`` artifact ids.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

import orjson

from vigil.models._limits import MAX_ARTIFACTS_PER_STEP, MAX_STEP_DATA_BYTES
from vigil.models._runs import STEP_TYPES, StepEvent, StepRecord
from vigil.models._types import is_identifier, is_name, is_trace_id

_UTC_SECOND: Final = re.compile(
    r"(19[7-9][0-9]|20[0-9][0-9]|210[0-5])-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
).fullmatch
"""The second of the UTC forms taken here (``datetime.fromisoformat`` checks the field
ranges). Below 2106 a timestamp is under 2**32 s, where a float's step is under half a
microsecond, so the stored text (rounded to microseconds) is the model's exactly."""

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECONDS_PER_DIGIT: Final = (0, 100_000, 10_000, 1_000, 100, 10, 1)
"""What the last of n fraction digits is worth."""
_MAX_SECONDS_CACHED: Final = 4096
_seconds: dict[str, int] = {}
"""Seconds since the epoch of the second texts seen lately: a batch's steps share few."""

_CANONICAL_UUID: Final = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
).fullmatch
_MISSING: Final = object()
STEP_FIELDS: Final = frozenset(StepEvent.model_fields)
_NO_DATA: Final = "{}"


def canonical_uuid(value: object, known: dict[str, UUID]) -> UUID | None:
    """The UUID of ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` hex text (either case), or None;
    ``known`` keeps those of a batch (its steps name few runs). The pattern first: ``UUID()``
    parses its digits with ``int()``, which also takes spaces, a sign, ``_`` and non-ASCII
    digits that the model refuses (``uuid_parsing``)."""
    if type(value) is not str:
        return None
    uuid = known.get(value)
    if uuid is not None:
        return uuid
    if _CANONICAL_UUID(value) is None:
        return None
    uuid = known[value] = UUID(value)
    return uuid


def _finite(value: Any) -> bool:
    """No NaN or infinity anywhere in a parsed JSON value (orjson writes them as null; the
    model refuses them: ``finite_number``)."""
    if type(value) is float:
        return math.isfinite(value)
    if type(value) is dict:
        return all(_finite(item) for item in value.values())
    if type(value) is list:
        return all(_finite(item) for item in value)
    return True


def _data_text(data: object) -> str | None:
    if type(data) is not dict:
        return None
    try:
        encoded = orjson.dumps(data)  # refuses lone surrogates and integers beyond 64 bits
    except orjson.JSONEncodeError:
        return None
    if len(encoded) > MAX_STEP_DATA_BYTES:
        return None
    text = encoded.decode()  # (``in`` on str: ~6x faster here than on bytes)
    if "\\u0000" in text or ("null" in text and not _finite(data)):
        return None
    return text


def _created(value: object) -> float | None:
    """Seconds since the epoch of UTC text in a form taken here, else None; exactly
    ``datetime.timestamp()`` (microseconds over 10**6, rounded once)."""
    if type(value) is not str:
        return None
    second = value[:19]
    seconds: int | None = _seconds.get(second)
    if seconds is None:
        if _UTC_SECOND(second) is None:
            return None
        try:
            instant = datetime.fromisoformat(second).replace(tzinfo=UTC)
        except ValueError:  # a month 13, a February 30th...
            return None
        if len(_seconds) >= _MAX_SECONDS_CACHED:
            _seconds.clear()
        seconds = _seconds[second] = (instant - _EPOCH) // timedelta(seconds=1)
    rest = value[19:]
    if rest == "Z" or rest == "+00:00":
        return float(seconds)
    if rest[-1:] == "Z":
        digits = rest[1:-1]
    elif rest[-6:] == "+00:00":
        digits = rest[1:-6]
    else:
        return None
    if rest[:1] != "." or not 0 < len(digits) <= 6 or not (digits.isascii() and digits.isdigit()):
        return None
    microseconds = int(digits) * _MICROSECONDS_PER_DIGIT[len(digits)]
    return (seconds * 1_000_000 + microseconds) / 1_000_000


def _artifacts(value: object, known: dict[str, UUID]) -> tuple[UUID, ...] | None:
    if type(value) is not list or len(value) > MAX_ARTIFACTS_PER_STEP:
        return None
    ids = []
    for item in value:
        uuid = canonical_uuid(item, known)
        if uuid is None:
            return None
        ids.append(uuid)
    return tuple(ids)


def step_record_of(document: object, known: dict[str, UUID]) -> StepRecord | None:
    """The record of a plainly valid step event document, else None (the model's turn).

    A step without ``created_at`` gets None, the store's clock at the write (as the model's
    step does); ``known`` caches the UUIDs of one batch's ids. Written for speed (~1.5 us a
    step here): one ``get`` per field, type checks by identity."""
    if type(document) is not dict:
        return None
    get = document.get
    if get("event") != "step":
        return None
    run_text = get("run_id")
    run_id = known.get(run_text) if type(run_text) is str else None
    if run_id is None:
        run_id = canonical_uuid(run_text, known)
        if run_id is None:
            return None
    step_type = get("step_type")
    if type(step_type) is not str or step_type not in STEP_TYPES:
        return None
    name = get("name")
    if not is_name(name):
        return None
    data = get("data", _MISSING)
    data_text = _NO_DATA if data is _MISSING else _data_text(data)
    if data_text is None:
        return None
    request_id = get("request_id")  # absent and null are the same to the model
    if request_id is not None and not is_identifier(request_id):
        return None
    trace_id = get("trace_id")
    if trace_id is not None and not is_trace_id(trace_id):
        return None
    created_at = get("created_at")
    created = None  # the store's clock, as for the model's step
    if created_at is not None:
        created = _created(created_at)
        if created is None:
            return None
    artifact_ids: tuple[UUID, ...] | None = ()
    linked = get("artifact_ids", ())
    if type(linked) is not list and linked != ():
        return None  # null, "", 0 are the model's to refuse (and absent is taken)
    if linked:
        artifact_ids = _artifacts(linked, known)
        if artifact_ids is None:
            return None
    if not document.keys() <= STEP_FIELDS:  # a field StepEvent does not have
        return None
    return StepRecord._make(
        (run_id, STEP_TYPES[step_type], name, data_text, request_id, trace_id, created,
         artifact_ids)
    )  # fmt: skip
