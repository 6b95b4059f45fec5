"""Storage errors as HTTP answers: the API modules just let them rise."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from vigil.instrumentation.errors import error_response
from vigil.storage import (
    Conflict,
    InvalidCursor,
    InvalidData,
    NotFound,
    StoreError,
    StoreUnavailable,
)

_STATUS: dict[type[StoreError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidCursor: 400,
    InvalidData: 422,
    StoreUnavailable: 503,
}


async def _store_error(request: Request, exc: Exception) -> Response:
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 500)
    detail = "the store is unavailable, retry later" if status == 503 else str(exc)
    headers = {"Retry-After": "1"} if status == 503 else None
    return error_response(status, detail, headers=headers)


def install_store_error_handlers(app: FastAPI) -> None:
    """Map NotFound, Conflict, InvalidCursor, InvalidData and StoreUnavailable to 404, 409,
    400, 422 and 503."""
    for kind in _STATUS:
        app.add_exception_handler(kind, _store_error)
