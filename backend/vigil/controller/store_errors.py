"""Storage errors as HTTP answers: the API modules just let them rise.

One table for both stores: the event store's errors and the artifact store's. An
unavailable artifact store (unreachable, timed out, its bucket missing, the credentials
refused) is a 503 whose detail says only that; what exactly went wrong is logged with the
request id, for the operator.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from starlette.responses import Response

from vigil.artifacts import (
    ArtifactStoreError,
    ArtifactStoreUnavailable,
    ChecksumMismatch,
    ObjectNotFound,
    ObjectTooLarge,
)
from vigil.instrumentation.errors import error_response
from vigil.storage import (
    Conflict,
    InvalidCursor,
    InvalidData,
    NotFound,
    StoreError,
    StoreUnavailable,
)

logger = logging.getLogger("vigil.controller")

_STATUS: dict[type[Exception], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidCursor: 400,
    InvalidData: 422,
    StoreUnavailable: 503,
    ObjectNotFound: 404,
    ChecksumMismatch: 400,
    ObjectTooLarge: 413,
    ArtifactStoreUnavailable: 503,
    ArtifactStoreError: 502,
}
_UNAVAILABLE = {
    StoreError: "the store is unavailable, retry later",
    ArtifactStoreError: "the artifact store is unavailable, retry later",
}


async def _store_error(request: Request, exc: Exception) -> Response:
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 500)
    if status < 500:
        return error_response(status, str(exc))
    if isinstance(exc, ArtifactStoreError):
        logger.error("artifact store failure: %s", exc)
    detail = next(text for kind, text in _UNAVAILABLE.items() if isinstance(exc, kind))
    headers = {"Retry-After": "1"} if status == 503 else None
    return error_response(status, detail, headers=headers)


def install_store_error_handlers(app: FastAPI) -> None:
    """Map the event store's NotFound, Conflict, InvalidCursor, InvalidData and
    StoreUnavailable to 404, 409, 400, 422 and 503, and the artifact store's ObjectNotFound,
    ChecksumMismatch, ObjectTooLarge and ArtifactStoreUnavailable to 404, 400, 413 and 503
    (any other of its errors: 502, an answer of S3 the controller did not expect)."""
    for kind in _STATUS:
        app.add_exception_handler(kind, _store_error)
