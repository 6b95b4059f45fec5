"""Runs the controller under uvicorn with Vigil's logging (uvicorn's own config left out)."""

from __future__ import annotations

import gc

import uvicorn

from vigil.controller.app import create_app
from vigil.settings import Settings


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
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # create_app configured JSON logging; keep uvicorn from replacing it
        access_log=False,  # the instrumentation writes one access record per request
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
