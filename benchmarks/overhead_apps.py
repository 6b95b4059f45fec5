"""The apps the instrumentation-overhead benchmark compares: one endpoint, bare, instrumented,
and instrumented with tracing on.

``bare`` is FastAPI as users run it; ``instrumented`` is the very same app after
``vigil.instrument``; ``traced`` adds ``tracing=True`` and ``setup_tracing`` with every
request sampled and exported to the store at ``$VIGIL_BENCH_STORE_URL`` (the benchmark
starts a PostgreSQL for it). Served by uvicorn as ``benchmarks.overhead_apps:bare`` /
``:instrumented`` / ``:traced``. The instrumented apps are built on first access: building
one configures logging for the process (Vigil's JSON handler, uvicorn's access log off), which
made ``bare`` quiet too, and ``traced`` sets a TracerProvider (FastAPI would then trace
the other variants itself).
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

import vigil
from benchmarks.endpoint_app import build, built_on_first_use

bare = build()


def build_instrumented() -> FastAPI:
    """The app after ``vigil.instrument`` with every default feature."""
    app = build()
    vigil.instrument(app, service="bench", registry=CollectorRegistry())
    return app


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


_BUILDERS = {"instrumented": build_instrumented, "traced": build_traced}


__getattr__ = built_on_first_use(_BUILDERS, globals())
