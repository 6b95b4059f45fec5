"""Runs the controller under uvicorn with Vigil's logging (uvicorn's own config left out)."""

from __future__ import annotations

import gc

import uvicorn
from starlette.types import ASGIApp

from vigil.controller.app import create_app
from vigil.controller.http_limits import HttpLimits, bounded_protocol
from vigil.settings import Settings


def server_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration of a controller: bounded HTTP, Vigil's logging."""
    limits = HttpLimits(
        max_head_bytes=settings.http_max_head_bytes,
        head_timeout_s=settings.http_head_timeout_s,
        body_timeout_s=settings.http_body_timeout_s,
        body_min_rate=settings.http_body_min_rate,
    )
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=bounded_protocol(limits),
        # Connections and requests beyond this get uvicorn's 503: memory stays bounded
        # whatever the number of clients (SSE streams have their own, lower caps).
        limit_concurrency=settings.http_max_connections,
        log_config=None,  # create_app configured JSON logging; keep uvicorn from replacing it
        access_log=False,  # the instrumentation writes one access record per request
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def serve(host: str | None = None, port: int | None = None) -> None:
    """Serve the controller until interrupted; ``host``/``port`` override the settings."""
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    app = create_app(settings)
    # The imports and the app are ~140k long-lived objects that every full collection would walk
    # again (about 100 ms on a 2-core VM, a pause for every request in flight). Frozen, they are
    # skipped; they are never garbage anyway.
    gc.collect()
    gc.freeze()
    uvicorn.Server(server_config(app, settings)).run()
