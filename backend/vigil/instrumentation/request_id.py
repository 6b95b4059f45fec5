"""Request IDs: accept a safe incoming ``X-Request-Id`` or mint one, expose it to logs and clients.

The id lives in a ContextVar for the duration of the request, so log records and metrics read it
without threading it through call signatures. It is set with a token and reset in ``finally``.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from typing import TYPE_CHECKING

from vigil.instrumentation._headers import header_value

if TYPE_CHECKING:  # the SDK reads the request id without loading Starlette
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_HEADER_BYTES = REQUEST_ID_HEADER.encode("latin-1")

# UUIDs, the 32-hex ids proxies mint, ULIDs and dotted/colon-separated trace ids all fit; anything
# else (CR/LF, spaces, quotes, over-long values) is replaced rather than echoed or logged (log
# injection, header splitting).
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_request_id: ContextVar[str | None] = ContextVar("vigil_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this context, or None outside a request."""
    return _request_id.get()


def is_valid_request_id(value: str) -> bool:
    """Whether a client-supplied id is safe to keep, echo and log."""
    return _SAFE_REQUEST_ID.fullmatch(value) is not None


def new_request_id() -> str:
    """A fresh random id: 32 hex characters, the same shape proxies such as nginx mint."""
    return os.urandom(16).hex()


class RequestIdMiddleware:
    """Keeps or mints the request id, holds it in the ContextVar, returns it on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _incoming_request_id(scope) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        header = (_HEADER_BYTES, request_id.encode("latin-1"))

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() != _HEADER_BYTES]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        token = _request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            _request_id.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    candidate = header_value(scope, _HEADER_BYTES)
    return candidate if candidate is not None and is_valid_request_id(candidate) else None
