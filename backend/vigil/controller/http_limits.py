"""Limits uvicorn's HTTP/1.1 server lacks: request-head size, head and body read timeouts.

uvicorn's httptools protocol (the fast one, ``uvicorn[standard]``) has no limit on the size
of a request line and headers, and no read timeout at all (``timeout_keep_alive`` only covers
the idle time between two requests, and a connection that never sends a byte is never closed).
Measured on the controller before this module (issue 10): one client streaming a 120 MiB
header stalled every other request (``/health/live`` p50 2.6 s); 3,000 slow-header and
slow-body connections stayed open and held ~100 MB. uvicorn's h11 protocol caps the head
(``h11_max_incomplete_event_size``, what vLLM adopted for GHSA-rxc4-3w6r-4v47) but has no
read timeouts either, and serves about half the requests per second.

:func:`bounded_protocol` subclasses the httptools protocol of the pinned uvicorn (0.54.0;
``tests/controller/test_http_limits.py`` pins the behaviour against the real server):

- **head size**: bytes received while a request's head is incomplete are counted; past
  ``max_head_bytes`` the client gets ``431 Request Header Fields Too Large`` and the
  connection is closed, after at most one extra read (asyncio reads 256 KiB at a time);
- **head timeout**: a connection must complete a request head within ``head_timeout_s`` of
  its first byte, or of the connection's start for its first request (``408``, closed);
- **body timeout**, after Apache's mod_reqtimeout (``body=20,MinRate=500``): the body must
  arrive within ``body_timeout_s``, and every chunk that arrives extends that deadline by
  its size divided by ``body_min_rate`` bytes per second, so a large upload at any useful
  speed completes while a client trickling bytes is cut off (``408``, closed; the app sees
  the client leave).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_head_bytes: int = 64 * 1024
    head_timeout_s: float = 10.0
    body_timeout_s: float = 20.0
    body_min_rate: float = 500.0
    """Bytes per second a body must keep up for its deadline to move on."""


def _status(code: int, reason: str) -> bytes:
    body = f"{code} {reason}\n".encode()
    return (
        f"HTTP/1.1 {code} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


HEAD_TOO_LARGE = _status(431, "Request Header Fields Too Large")
TIMED_OUT = _status(408, "Request Timeout")


def bounded_protocol(limits: HttpLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol class with ``limits`` applied (``Config(http=...)``)."""

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._in_head = True
            self._head_bytes = 0
            self._deadline: asyncio.TimerHandle | None = None
            self._body_deadline = 0.0

        # The head ------------------------------------------------------------------

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(limits.head_timeout_s)

        def data_received(self, data: bytes) -> None:
            if self._in_head and self._deadline is None:
                self._arm(limits.head_timeout_s)  # the first byte of a keep-alive request
            super().data_received(data)
            if self._in_head:
                self._head_bytes += len(data)
                if self._head_bytes > limits.max_head_bytes:
                    self._refuse(HEAD_TOO_LARGE)

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_bytes = 0
            self._disarm()
            super().on_headers_complete()
            if self.cycle is not None and self.cycle.more_body and self._expects_body():
                self._body_deadline = self.loop.time() + limits.body_timeout_s
                self._arm(limits.body_timeout_s)

        def _expects_body(self) -> bool:
            for name, value in self.headers:
                if name == b"content-length":
                    return value.strip() not in (b"0", b"")
                if name == b"transfer-encoding":
                    return True
            return False

        # The body ------------------------------------------------------------------

        def on_body(self, body: bytes) -> None:
            super().on_body(body)
            if self._deadline is not None:
                self._body_deadline += len(body) / limits.body_min_rate
                self._arm(self._body_deadline - self.loop.time())

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._in_head = True  # the next request's head, after the keep-alive wait
            self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        # Timers --------------------------------------------------------------------

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(max(seconds, 0.0), self._timed_out)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _timed_out(self) -> None:
            self._deadline = None
            self._refuse(TIMED_OUT)

        def _refuse(self, answer: bytes) -> None:
            """Answer and close, unless the app already started its own response."""
            if self.transport.is_closing():
                return
            cycle = self.cycle
            if cycle is None or cycle.response_complete or not cycle.response_started:
                self.transport.write(answer)
            if cycle is not None and not cycle.response_complete:
                # The app sees its client leave; what it sends from now on goes nowhere.
                cycle.disconnected = True
                cycle.message_event.set()
            self.transport.close()

    return BoundedHttpToolsProtocol
