"""The apps the instrumentation-overhead benchmark compares: one endpoint, bare, instrumented,
and instrumented with tracing on.

``bare`` is FastAPI as users run it; ``instrumented`` is the very same app after
``vigil.instrument``; ``traced`` adds ``tracing=True`` and ``setup_tracing`` with every
request sampled and exported to the store at ``$VIGIL_BENCH_STORE_URL`` (the benchmark
starts a PostgreSQL for it). Served by uvicorn as ``benchmarks.overhead_apps:bare`` /
``:instrumented`` / ``:traced``; ``:traced_null`` (a diagnostic) makes the same spans and
hands them to an exporter that drops them, so the span's own cost shows apart from its
export; ``:passthrough`` (``bare`` and a layer that does nothing) and ``:instrumented_quiet``
(the access record off), the diagnostics that split the instrumentation's cost into the
layer, the record and the rest. The instrumented apps are built on first access: building
one configures logging for the process (Vigil's JSON handler, uvicorn's access log off), which
made ``bare`` quiet too, and ``traced`` sets a TracerProvider (FastAPI would then trace
the other variants itself).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Receive, Scope, Send

import vigil
from benchmarks.endpoint_app import build, built_on_first_use
from vigil.instrumentation.access_log import ACCESS_LOGGER

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

bare = build()


def build_instrumented() -> FastAPI:
    """The app after ``vigil.instrument`` with every default feature."""
    app = build()
    vigil.instrument(app, service="bench", registry=CollectorRegistry())
    return app


def build_passthrough() -> FastAPI:
    """``bare`` with one pure ASGI layer that only passes each request on: what any layer
    costs before it does anything (a diagnostic)."""
    app = build()
    app.add_middleware(PassThrough)
    return app


class PassThrough:
    """A pure ASGI middleware that does nothing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def build_instrumented_quiet() -> FastAPI:
    """``instrumented`` with the access record off (``vigil.access`` at WARNING, as a user
    would turn it off): the record's cost apart from the rest (a diagnostic)."""
    app = build_instrumented()
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.WARNING)
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


def build_traced_null() -> FastAPI:
    """``traced`` with the spans batched as for the store, then dropped."""
    # Imported here: the SDK stays out of the other variants' processes (a bigger heap for
    # their collector to walk).
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from vigil.tracing import setup_tracing

    class NullSpanExporter(SpanExporter):
        """Takes every batch and keeps nothing."""

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    app = build()
    registry = CollectorRegistry()
    vigil.instrument(app, service="bench", registry=registry, tracing=True)
    setup_tracing(
        "bench", sample_ratio=1.0, exporters=[NullSpanExporter()],
        registry=registry, langfuse=False,
    )  # fmt: skip
    return app


_BUILDERS = {
    "instrumented": build_instrumented,
    "instrumented_quiet": build_instrumented_quiet,
    "passthrough": build_passthrough,
    "traced": build_traced,
    "traced_null": build_traced_null,
}


__getattr__ = built_on_first_use(_BUILDERS, globals())
