"""The peers of ``vigil.instrument`` in the overhead benchmark's ``--peers`` mode, on the same
endpoint (``endpoint_app.build``); served from their own virtual environment
(``benchmarks/peers-requirements.txt``), which has no Vigil.

- ``starlette_exporter``: starlette-exporter's ``PrometheusMiddleware`` and ``/metrics``
  (metrics only: served with uvicorn's access log off);
- ``instrumentator_stack``: prometheus-fastapi-instrumentator (RED metrics, ``/metrics``),
  asgi-correlation-id (a request id in and out, and on every log record), uvicorn's access
  log formatted as JSON by python-json-logger (served with the access log on, at INFO);
- ``otel_fastapi``: opentelemetry-instrumentation-fastapi, every request sampled, spans
  batched to an exporter that drops them (the cost of tracing without that of a backend).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from fastapi import FastAPI

from benchmarks.endpoint_app import build, built_on_first_use


def build_starlette_exporter() -> FastAPI:
    from starlette_exporter import PrometheusMiddleware, handle_metrics

    app = build()
    app.add_middleware(PrometheusMiddleware)
    app.add_route("/metrics", handle_metrics)
    return app


def build_instrumentator_stack() -> FastAPI:
    from asgi_correlation_id import CorrelationIdFilter, CorrelationIdMiddleware
    from prometheus_fastapi_instrumentator import Instrumentator
    from pythonjsonlogger.json import JsonFormatter

    app = build()
    Instrumentator().instrument(app).expose(app)
    app.add_middleware(CorrelationIdMiddleware)
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(CorrelationIdFilter())
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s")
    )

    # uvicorn configures its loggers at startup, after this import: its access logger's own
    # handler is replaced once the server runs (``on_startup``), before any request.
    def json_access_log() -> None:
        access = logging.getLogger("uvicorn.access")
        access.handlers = [handler]
        access.propagate = False

    app.router.on_startup.append(json_access_log)
    return app


def build_otel_fastapi() -> FastAPI:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class DroppingExporter(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    app = build()
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
    return app


_BUILDERS = {
    "starlette_exporter": build_starlette_exporter,
    "instrumentator_stack": build_instrumentator_stack,
    "otel_fastapi": build_otel_fastapi,
}


__getattr__ = built_on_first_use(_BUILDERS, globals())
