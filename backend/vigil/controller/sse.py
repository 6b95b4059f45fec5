"""Server-Sent Events for the step stream, on Starlette's ``StreamingResponse``.

FastAPI's own ``EventSourceResponse`` streaming (``response_class`` on a generator operation)
forwards events through a keepalive task that raises ``BrokenResourceError`` when a client leaves
while an event or ping is in flight: every such normal disconnect was logged as "Exception in
ASGI application" and counted as an unhandled exception (9 of about 60 streams in a one-minute
load run; fastapi/fastapi discussion #15725, fix PR #15824 closed unmerged). Starlette's
``StreamingResponse`` cancels the generator when the client disconnects, which ends the
stream cleanly; keepalive comments come from the generator itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from vigil.controller.step_feed import StreamEnd
from vigil.models import Step

# Also tells proxies such as nginx not to buffer the stream.
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class EventStream(StreamingResponse):
    """A ``text/event-stream`` response (also what the OpenAPI document says for 200).

    ``on_close`` runs however the stream ends (finished, cut by the client, failed): it is how
    an admitted stream gives its place back, even if its generator never started.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterator[bytes],
        status_code: int = 200,
        *,
        headers: dict[str, str] | None = None,
        on_close: Callable[[], None] | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(content, status_code, headers=headers, background=background)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self._on_close is not None:
                self._on_close()


async def step_events(steps: AsyncIterator[Step | StreamEnd | None]) -> AsyncIterator[bytes]:
    """Each step as an ``event: step`` with its ``seq`` as ``id``; ``None`` as a keepalive
    ping; the end of a finished run as ``event: end`` with its status."""
    async for step in steps:
        if step is None:
            yield KEEPALIVE_COMMENT
        elif isinstance(step, StreamEnd):
            yield format_sse_event(data_str=f'{{"status":"{step.status}"}}', event="end")
        else:
            yield format_sse_event(data_str=step.model_dump_json(), event="step", id=str(step.seq))
