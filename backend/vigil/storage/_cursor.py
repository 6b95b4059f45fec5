"""Opaque keyset-pagination cursors.

A cursor is the sort key of the last row of a page, tagged with the listing it belongs to,
as URL-safe base64 of JSON. It is opaque to clients: anything this module did not produce
for the same listing is refused with ``InvalidCursor``.
"""

import base64
import binascii
from datetime import datetime
from uuid import UUID

import orjson

from vigil.storage.errors import InvalidCursor

CursorKey = tuple[datetime, UUID] | tuple[UUID]


def encode_cursor(listing: str, key: CursorKey) -> str:
    parts: list[str] = [listing]
    for value in key:
        parts.append(value.isoformat() if isinstance(value, datetime) else value.hex)
    return base64.urlsafe_b64encode(orjson.dumps(parts)).decode().rstrip("=")


def _decode_parts(listing: str, cursor: str, size: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    if (
        not isinstance(parts, list)
        or len(parts) != size + 1
        or parts[0] != listing
        or not all(isinstance(part, str) for part in parts)
    ):
        raise InvalidCursor(f"not a cursor of the {listing} listing")
    return parts[1:]


def decode_id_cursor(listing: str, cursor: str) -> UUID:
    (id_hex,) = _decode_parts(listing, cursor, 1)
    return _uuid(id_hex)


def decode_time_id_cursor(listing: str, cursor: str) -> tuple[datetime, UUID]:
    when, id_hex = _decode_parts(listing, cursor, 2)
    try:
        instant = datetime.fromisoformat(when)
    except ValueError as exc:
        raise InvalidCursor("malformed cursor") from exc
    if instant.tzinfo is None:
        raise InvalidCursor("malformed cursor")
    return instant, _uuid(id_hex)


def _uuid(id_hex: str) -> UUID:
    try:
        return UUID(hex=id_hex)
    except ValueError as exc:
        raise InvalidCursor("malformed cursor") from exc
