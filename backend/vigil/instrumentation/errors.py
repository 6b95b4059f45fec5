"""JSON error responses that carry the request id: 404, 405, 422 and 500 alike.

Validation errors never echo what was rejected: not the offending values (a rejected body may
hold a secret), and not the keys that were refused (an unexpected field, an invalid dict key:
a 15 MB key once came back in a 15 MB answer). Each error keeps its location with such keys
replaced by a placeholder, its message and type; at most ``MAX_VALIDATION_ERRORS`` are listed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi.exceptions import RequestValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.instrumentation.request_id import current_request_id
from vigil.instrumentation.route_template import route_template


def error_body(status: int, detail: Any) -> dict[str, Any]:
    """The one error shape of every Vigil endpoint."""
    return {"status": status, "detail": detail, "request_id": current_request_id()}


def error_response(status: int, detail: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON error response for ``status``."""
    return JSONResponse(error_body(status, detail), status_code=status, headers=headers)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 - registered for HTTPException only
    if exc.status_code < 400:  # e.g. 304 raised as an exception carries no body
        return Response(status_code=exc.status_code, headers=exc.headers)
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request, headers)}
    return error_response(exc.status_code, exc.detail, headers=headers)


def _allowed_methods(request: Request, headers: Mapping[str, str] | None) -> str:
    """Every method the path supports, not only those of the first route that matched.

    Starlette answers 405 from the first route whose path matched and lists only its methods,
    so ``GET /runs`` and ``POST /runs`` (two routes) would each deny the other. RFC 9110
    wants all of them in ``Allow``: we add those the OpenAPI schema documents for the path.
    """
    methods = {m.strip() for m in (headers or {}).get("Allow", "").split(",") if m.strip()}
    openapi = getattr(request.app, "openapi", None)
    if callable(openapi):
        template = route_template(request.scope, "")
        methods |= {m.upper() for m in openapi().get("paths", {}).get(template, {})}
    return ", ".join(sorted(methods))


MAX_VALIDATION_ERRORS: Final = 20
MAX_MESSAGE_LENGTH: Final = 300
REJECTED_KEY: Final = "<rejected key>"
# Field names, aliases and the parameter sources pydantic and FastAPI put in a location.
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


def safe_location(loc: Sequence[Any], error_type: object) -> list[str | int]:
    """An error's location without any key the client sent and we refused."""
    parts: list[str | int] = [part if isinstance(part, int) else str(part) for part in loc]
    if error_type == "extra_forbidden" and parts:
        parts[-1] = REJECTED_KEY  # the unexpected field's name is the client's text
    for index, part in enumerate(parts):
        if part == "[key]" and index > 0:  # pydantic: the key before it failed validation
            parts[index - 1] = REJECTED_KEY
        elif isinstance(part, str) and not _PLAIN_NAME.fullmatch(part) and part != "[key]":
            parts[index] = REJECTED_KEY
    return parts


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The body of a 422: bounded, and echoing nothing that was rejected."""
    shown = [
        {
            "loc": safe_location(error.get("loc", ()), error.get("type")),
            "msg": str(error.get("msg", ""))[:MAX_MESSAGE_LENGTH],
            "type": error.get("type"),
        }
        for error in errors[:MAX_VALIDATION_ERRORS]
    ]
    if len(errors) > MAX_VALIDATION_ERRORS:
        more = len(errors) - MAX_VALIDATION_ERRORS
        shown.append({"loc": [], "msg": f"and {more} more errors", "type": "too_many_errors"})
    return shown


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    return error_response(422, validation_errors(exc.errors()))


def install_error_handlers(app: Starlette) -> None:
    """Replace the framework's error responses with Vigil's JSON shape."""
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
