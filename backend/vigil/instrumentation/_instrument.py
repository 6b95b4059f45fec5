"""``vigil.instrument(app)``: request ids, RED metrics, JSON logs, probes and JSON errors."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry
from starlette.applications import Starlette

from vigil.instrumentation.access_log import AccessLog
from vigil.instrumentation.errors import install_error_handlers
from vigil.instrumentation.exposition import METRICS_PATH, MetricsEndpoint, MetricsGuard
from vigil.instrumentation.json_logging import DEFAULT_FLUSH_INTERVAL_S, configure_logging
from vigil.instrumentation.probes import PROBE_PATHS, HealthProbes
from vigil.instrumentation.project_label import ProjectLabelPolicy
from vigil.instrumentation.red_metrics import RedMetrics
from vigil.instrumentation.telemetry_middleware import RequestTelemetryMiddleware

if TYPE_CHECKING:
    from vigil.tracing._request import RequestTracer


@dataclass(frozen=True, slots=True)
class Instrumentation:
    """What :func:`instrument` installed on an app (also at ``app.state.vigil``)."""

    service: str
    registry: CollectorRegistry
    metrics: RedMetrics
    probes: HealthProbes
    project_labels: ProjectLabelPolicy


def instrument(
    app: Starlette,
    *,
    service: str,
    registry: CollectorRegistry | None = None,
    project_ids: Collection[str] | None = None,
    project_label_cap: int = 100,
    metrics_path: str = METRICS_PATH,
    configure_logs: bool = True,
    log_level: str = "INFO",
    log_flush_interval: float = DEFAULT_FLUSH_INTERVAL_S,
    probes: HealthProbes | None = None,
    metrics_guard: MetricsGuard | None = None,
    tracing: bool = False,
) -> Instrumentation:
    """Instrument a FastAPI or Starlette app; call it once, before the app serves requests.

    - Every response carries ``X-Request-Id`` (a safe incoming id is kept, otherwise minted).
    - ``request_count``, ``request_duration_seconds``, ``response_status_count``,
      ``requests_in_progress`` and ``unhandled_exceptions`` are recorded in ``registry``
      (default: prometheus_client's global registry) and served at ``metrics_path``.
    - Logs go to stdout as JSON, one access record per request (``configure_logs=False`` leaves
      logging alone), written in blocks: INFO and DEBUG lines wait at most
      ``log_flush_interval`` seconds (WARNING and above never wait; 0: no line waits).
    - ``/health/live``, ``/health/ready`` and ``/health/startup`` are added; register checks on
      the returned ``probes`` (or pass your own ``HealthProbes`` to register them up front).
    - 404/405/422/500 responses are JSON carrying the request id.

    ``metrics_guard`` decides who may scrape ``metrics_path`` (default: anyone): an async
    callable taking the request that raises an ``HTTPException`` to refuse.

    ``project_ids`` is an allowlist for the ``project_id`` label; without it, the first
    ``project_label_cap`` distinct ids get their own label and the rest share ``other``.

    ``tracing=True`` opens one OpenTelemetry SERVER span per request on the global
    TracerProvider (``vigil.tracing.setup_tracing`` sets one up, or use the application's),
    continuing an incoming ``traceparent``; log lines get ``trace_id``/``span_id`` and the
    latency histogram a ``trace_id`` exemplar. FastAPI's own request spans are then turned
    off for this app, so a request has one server span, not two. Needs the OpenTelemetry SDK
    (``vigil[tracing]``). Probes and ``metrics_path`` are never traced.
    """
    registry = REGISTRY if registry is None else registry
    if configure_logs:
        configure_logging(service, log_level, flush_interval=log_flush_interval)
    metrics = RedMetrics.for_registry(registry)
    probes = probes or HealthProbes()
    project_labels = ProjectLabelPolicy(project_ids, cap=project_label_cap)

    tracer = None
    if tracing:
        tracer = _request_tracer()
        if tracer is not None:
            _turn_off_fastapi_request_spans(app)
    probes.install(app)
    MetricsEndpoint(registry, metrics_guard).install(app, metrics_path)
    install_error_handlers(app)
    # One layer for request ids and telemetry: the access log line and the 500 it may send
    # both carry the id.
    app.add_middleware(
        RequestTelemetryMiddleware,
        service=service,
        metrics=metrics,
        access_log=AccessLog(),
        project_labels=project_labels,
        excluded_paths=PROBE_PATHS | {metrics_path},
        probes=probes,
        tracer=tracer,
        restore_logs=configure_logs,
    )

    instrumentation = Instrumentation(service, registry, metrics, probes, project_labels)
    app.state.vigil = instrumentation
    return instrumentation


def _turn_off_fastapi_request_spans(app: Starlette) -> None:
    """FastAPI 0.16x opens its own server span per request (and one per dependency, endpoint
    and serialization) as soon as a TracerProvider is set (``fastapi/telemetry/_asgi.py``,
    ``NativeTelemetry``); Vigil's middleware opens the one server span. Its settings live in
    the app's ``_telemetry`` dict, read per request: ``tracing`` off there keeps FastAPI's
    metrics and logs as configured. Pinned by tests/tracing/test_request_spans.py."""
    telemetry = getattr(app, "_telemetry", None)
    if isinstance(telemetry, dict):
        telemetry["tracing"] = False


def _request_tracer() -> RequestTracer | None:
    """The server-span maker, or None (and a warning) without the OpenTelemetry SDK: an
    app asking for tracing still serves, untraced."""
    from vigil.tracing._otel import INSTALL_HINT, SDK_INSTALLED

    if not SDK_INSTALLED:
        logging.getLogger("vigil.tracing").warning(
            "tracing=True, but the OpenTelemetry SDK is not installed (%s): requests are "
            "not traced",
            INSTALL_HINT,
        )
        return None
    from vigil.tracing._request import RequestTracer

    return RequestTracer()
