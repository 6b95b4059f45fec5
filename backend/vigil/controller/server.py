"""Runs the controller under uvicorn with Vigil's logging (uvicorn's own config left out)."""

from __future__ import annotations

import uvicorn

from vigil.controller.app import create_app
from vigil.settings import Settings


def serve(host: str | None = None, port: int | None = None) -> None:
    """Serve the controller until interrupted; ``host``/``port`` override the settings."""
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    app = create_app(settings)
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
