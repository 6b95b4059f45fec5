"""The apps the instrumentation-overhead benchmark compares: one endpoint, bare and instrumented.

``bare`` is FastAPI as users run it; ``instrumented`` is the very same app after
``vigil.instrument``. Served by uvicorn as ``benchmarks.overhead_apps:bare`` / ``:instrumented``.
"""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

import vigil


def build() -> FastAPI:
    """The app under test: a path-parameter endpoint returning a small JSON object."""
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        return {"item_id": item_id, "status": "ok"}

    return app


bare = build()
instrumented = build()
vigil.instrument(instrumented, service="bench", registry=CollectorRegistry())
