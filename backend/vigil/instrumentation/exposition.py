"""``GET /metrics``: the Prometheus text format, or OpenMetrics when the scraper asks for it.

Exemplars only travel in OpenMetrics, so the format follows the ``Accept`` header
(prometheus_client's ``choose_encoder``). Rendering runs in the thread pool: a large registry
takes milliseconds and must not stall the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

METRICS_PATH = "/metrics"

MetricsGuard = Callable[[Request], Awaitable[None]]
"""Decides who may scrape: returns to allow, raises an ``HTTPException`` (401/403) to refuse."""


class MetricsEndpoint:
    """Serves one registry, to everyone or to whom ``guard`` lets through."""

    def __init__(self, registry: CollectorRegistry, guard: MetricsGuard | None = None) -> None:
        self.registry = registry
        self.guard = guard

    async def render(self, request: Request) -> Response:
        """The registry in the format the scraper asked for."""
        if self.guard is not None:
            await self.guard(request)
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await run_in_threadpool(encoder, self.registry)
        return Response(body, media_type=None, headers={"Content-Type": content_type})

    def install(self, app: Starlette, path: str = METRICS_PATH) -> None:
        """Add the route to ``app``, outside its OpenAPI schema."""
        app.add_route(path, self.render, methods=["GET"], include_in_schema=False)
