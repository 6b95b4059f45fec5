"""The apps the instrumentation-overhead benchmark compares: one endpoint, bare, instrumented,
and instrumented with tracing on.

``bare`` is FastAPI as users run it; ``instrumented`` is the very same app after
``vigil.instrument``; ``traced`` adds ``tracing=True`` and ``setup_tracing`` with every
request sampled and exported to the store at ``$VIGIL_BENCH_STORE_URL`` (the benchmark
starts a PostgreSQL for it). Served by uvicorn as ``benchmarks.overhead_apps:bare`` /
``:instrumented`` / ``:traced``; ``traced`` is built on first access, so the other variants
never set a TracerProvider (FastAPI would then trace them itself).
"""

from __future__ import annotations

import os
from typing import Any

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


def build_traced() -> FastAPI:
    """``instrumented`` with a server span per request, sampled at 1.0, into the store."""
    from benchmarks.instrumentation_overhead import STORE_URL_VARIABLE
    from vigil.storage import open_store
    from vigil.tracing import setup_tracing

    app = build()
    registry = CollectorRegistry()
    vigil.instrument(app, service="bench", registry=registry, tracing=True)
    setup_tracing(
        "bench", sample_ratio=1.0, store=open_store(os.environ[STORE_URL_VARIABLE]),
        registry=registry, langfuse=False,
    )  # fmt: skip
    return app


def __getattr__(name: str) -> Any:
    if name == "traced":
        app = globals()["traced"] = build_traced()
        return app
    raise AttributeError(name)
