"""JSON error responses that carry the request id: 404, 405, 422 and 500 alike.

Validation errors are returned without the offending input values: a rejected body may hold a
secret, and responses never echo secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    errors = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]
    return error_response(422, errors)


def install_error_handlers(app: Starlette) -> None:
    """Replace the framework's error responses with Vigil's JSON shape."""
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
