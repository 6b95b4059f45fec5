"""``GET /metrics``: the Prometheus text format, or OpenMetrics when the scraper asks for it.

Exemplars only travel in OpenMetrics, so the format follows the ``Accept`` header
(prometheus_client's ``choose_encoder``). Rendering runs in the thread pool: a large registry
takes milliseconds and must not stall the event loop.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

METRICS_PATH = "/metrics"


class MetricsEndpoint:
    """Serves one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    async def render(self, request: Request) -> Response:
        """The registry in the format the scraper asked for."""
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await run_in_threadpool(encoder, self.registry)
        return Response(body, media_type=None, headers={"Content-Type": content_type})

    def install(self, app: Starlette, path: str = METRICS_PATH) -> None:
        """Add the route to ``app``, outside its OpenAPI schema."""
        app.add_route(path, self.render, methods=["GET"], include_in_schema=False)
