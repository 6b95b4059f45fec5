"""Request bodies above a limit: refused with the project's JSON 413, before they are parsed.

Starlette's own ``RequestBodyLimitMiddleware`` (what ``FastAPI(max_body_size=...)`` installs)
answers a declared oversized ``Content-Length`` in plain text, without the request id, and
signals it with an exception that escapes the app: every such request was logged as an
unhandled ``_RequestBodyLimitResponseSent`` with a 5 KB traceback and counted in
``unhandled_exceptions_total`` (issue 10), and the SDK's normal 413-split path triggered it.
This layer answers a declared oversized body at once, as JSON; a body that grows past the
limit while it is read (chunked, or a lying ``Content-Length``) raises an ``HTTPException``
from ``receive``, which FastAPI re-raises and the app's handlers turn into the same JSON 413.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigil.instrumentation._headers import header_value
from vigil.instrumentation.errors import error_response

TOO_LARGE = 413


@dataclass(frozen=True)
class RouteBodyLimit:
    """Another limit for the requests of one method whose path matches ``path``: artifact
    uploads stream gigabytes to their store while every other body stays small."""

    method: str
    path: re.Pattern[str]
    max_bytes: int


class RequestBodyLimitMiddleware:
    """Refuses HTTP request bodies of more than ``max_bytes`` bytes with a JSON 413 (or the
    limit of the first of ``routes`` that matches the request)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, routes: Sequence[RouteBodyLimit] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.routes = tuple(routes)

    def _limit(self, scope: Scope) -> int:
        for route in self.routes:
            if scope["method"] == route.method and route.path.fullmatch(scope["path"]):
                return route.max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = header_value(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await error_response(TOO_LARGE, _too_large(limit))(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(TOO_LARGE, _too_large(limit))
            return message

        await self.app(scope, limited_receive, send)


def _too_large(limit: int) -> str:
    """The 413's detail (built only when one is answered, not for every request)."""
    return f"request body larger than {limit} bytes"
