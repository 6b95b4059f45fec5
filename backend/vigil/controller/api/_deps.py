"""What every API module needs: the store, the error shape and its documentation."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Query, Request
from pydantic import BaseModel

from vigil.models import MAX_PAGE_SIZE
from vigil.models._types import IDENTIFIER_PATTERN
from vigil.storage import EventStore


class ErrorBody(BaseModel):
    """The JSON body of every error response."""

    status: int
    detail: Any
    request_id: str | None


_DESCRIPTIONS = {
    400: "Bad request (e.g. an invalid cursor)",
    401: "No API key, or an unknown or revoked one (or a wrong webhook token)",
    403: "The API key lacks the scope, or is for another project",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Payload too large",
    415: "The body is not of the media type the operation takes",
    429: "Too many open streams (Retry-After says when to try again)",
    503: "The store (or the artifact store) is unavailable",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an operation can return (always JSON)."""
    return {
        code: {
            "model": ErrorBody,
            "description": _DESCRIPTIONS[code],
            "content": {"application/json": {}},
        }
        for code in codes
    }


# Every operation: a body that cannot be parsed at all (not JSON, bad encoding) is a 400.
COMMON_RESPONSES = error_responses(400)
# Every operation behind an API key (vigil.controller.auth).
AUTH_RESPONSES = error_responses(401, 403)


async def get_store(request: Request) -> EventStore:
    """The store opened by the controller's lifespan.

    ``async`` on purpose, like the operations: the store's calls block, so every operation makes
    exactly one hop to the thread pool (``run_in_threadpool``) for all of its store work. A sync
    dependency, a sync operation and the serialisation FastAPI then moves to the thread pool
    would cost three hops, and each hop waits for the GIL behind the event loop.
    """
    store: EventStore = request.app.state.store
    return store


Store = Annotated[EventStore, Depends(get_store)]


# The paging parameters every list operation takes.
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="page size")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=512,
        pattern=r"^[A-Za-z0-9_-]*$",  # URL-safe base64, as issued
        description="next_cursor of the previous page",
    ),
]

# Filters hold what the stored values can hold, so a filter no record can match (a NUL byte,
# which PostgreSQL refuses and SQLite would look up) is the same 422 on both backends.
IdentifierFilter = Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)]

MAX_SEQ = 2**31 - 1
"""The largest step number (an INTEGER column): larger numbers are 422s, never overflows."""


def _uuid_header(schema: dict[str, Any]) -> None:
    # A header is a string or absent, never JSON null: documented as ``anyOf [uuid, null]``,
    # schemathesis sent the text "null" as a schema-valid key (and got the 422).
    schema.pop("anyOf", None)
    schema.update(type="string", format="uuid")


RecordKey = Annotated[
    UUID | None,
    Header(
        alias="Idempotency-Key",
        json_schema_extra=_uuid_header,
        description="The record's id, a UUID the client derived (e.g. from a Temporal "
        "execution: vigil.integrations.temporal): a call repeated with the same key gets the "
        "stored record back (200) instead of a second one. A malformed key is a 422.",
    ),
]
"""``Idempotency-Key`` on a create: the key becomes the new record's id."""
