"""Request IDs: accept a safe incoming ``X-Request-Id`` or mint one, expose it to logs and clients.

The id lives in a ContextVar for the duration of the request, so log records and metrics read it
without threading it through call signatures. It is set with a token and reset in ``finally``.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Final

from vigil.instrumentation._headers import header_value

if TYPE_CHECKING:  # the SDK reads the request id without loading Starlette
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
HEADER_BYTES = REQUEST_ID_HEADER.encode("latin-1")

# UUIDs, the 32-hex ids proxies mint, ULIDs and dotted/colon-separated trace ids all fit; anything
# else (CR/LF, spaces, quotes, over-long values) is replaced rather than echoed or logged (log
# injection, header splitting).
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_request_id: ContextVar[str | None] = ContextVar("vigil_request_id", default=None)


current_request_id: Final[Callable[[], str | None]] = _request_id.get
"""The id of the request being served in this context, or None outside a request. The
ContextVar's own ``get`` (no Python frame: every log line and event reads it)."""


def is_valid_request_id(value: str) -> bool:
    """Whether a client-supplied id is safe to keep, echo and log."""
    return _SAFE_REQUEST_ID.fullmatch(value) is not None


def new_request_id() -> str:
    """A fresh random id: 32 hex characters, the same shape proxies such as nginx mint.

    An id, not a secret: made by a Mersenne Twister of this module's own (seeded from the
    OS, again in a forked child) rather than ``os.urandom``, whose system call costs ~1 us
    per request; OpenTelemetry's trace ids are made the same way. Ids are cut from one
    block of random bytes made for ``_IDS_PER_BLOCK`` of them at once (one ``randbytes``
    and one ``hex`` per block): taking one is a list pop, ~0.3 us a request less than a
    ``getrandbits`` formatted each time. ``list.pop`` is atomic, so threads never share an
    id; a forked child drops the parent's block."""
    while True:  # (other threads may empty a block between its refill and this pop)
        try:
            return _take_id()
        except IndexError:
            _refill_ids()


_IDS_PER_BLOCK = 256
_ID_BYTES = 16


def _refill_ids() -> None:
    block = _ids.randbytes(_ID_BYTES * _IDS_PER_BLOCK).hex()
    width = 2 * _ID_BYTES
    _minted.extend([block[i : i + width] for i in range(0, len(block), width)])


def _reseed_in_child() -> None:
    _ids.seed()
    _minted.clear()  # the parent's ids are the parent's


# The module's own generator: an application's random.seed(n) must not make ids repeat
# across runs or replicas, nor be advanced by them. Seeded from the OS, again in a child.
_ids = random.Random()  # noqa: S311 - an id, not a secret
_minted: list[str] = []
"""Ids made and not handed out yet; cleared in place, never replaced (``_take_id``)."""
_take_id = _minted.pop
os.register_at_fork(after_in_child=_reseed_in_child)


def request_id_of(scope: Scope, incoming: str | None) -> tuple[str, tuple[bytes, bytes]]:
    """The request's id (a safe ``incoming`` one, else a new one), also kept in the scope's
    ``state`` (``request.state.request_id``), and its response header."""
    request_id = incoming if incoming is not None and is_valid_request_id(incoming) else None
    if request_id is None:
        request_id = new_request_id()
    scope.setdefault("state", {})["request_id"] = request_id
    return request_id, (HEADER_BYTES, request_id.encode("latin-1"))


# The ContextVar's own methods, not functions around them: a Python frame each costs ~320
# instructions, and these run once a request (as do the project label's).
bind_request_id: Final[Callable[[str], Token[str | None]]] = _request_id.set
"""Make an id the current one; ``reset_request_id`` with the returned token ends that."""
reset_request_id: Final[Callable[[Token[str | None]], None]] = _request_id.reset
"""Restore the id that was current before ``bind_request_id`` (its token)."""


def with_request_id(message: Message, header: tuple[bytes, bytes]) -> None:
    """Put the id header on an ``http.response.start`` message (replacing the app's own).

    The headers are copied (read once: ASGI allows any iterable), never changed in place: a
    response object may be sent again."""
    headers = list(message.get("headers", ()))
    for key, _ in headers:  # names are lower-case as Starlette sends them, or compared so
        if len(key) == _HEADER_LENGTH and key.lower() == HEADER_BYTES:
            kept = [h for h in headers if h[0].lower() != HEADER_BYTES]
            kept.append(header)
            message["headers"] = kept
            return
    headers.append(header)
    message["headers"] = headers


_HEADER_LENGTH = len(HEADER_BYTES)


def sending_request_id(send: Send, header: tuple[bytes, bytes]) -> Send:
    """``send`` with the id header put on the response's start."""

    async def send_with_request_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            with_request_id(message, header)
        await send(message)

    return send_with_request_id


class RequestIdMiddleware:
    """Keeps or mints the request id, holds it in the ContextVar, returns it on every response.

    For an app without Vigil's telemetry layer: ``vigil.instrument`` does the same inside
    ``RequestTelemetryMiddleware`` (one layer, one pass over the headers, instead of two)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id, header = request_id_of(scope, header_value(scope, HEADER_BYTES))

        token = bind_request_id(request_id)
        try:
            await self.app(scope, receive, sending_request_id(send, header))
        finally:
            reset_request_id(token)
