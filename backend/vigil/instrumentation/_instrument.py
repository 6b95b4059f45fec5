"""``vigil.instrument(app)``: request ids, RED metrics, JSON logs, probes and JSON errors."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry
from starlette.applications import Starlette

from vigil.instrumentation.access_log import AccessLog
from vigil.instrumentation.errors import install_error_handlers
from vigil.instrumentation.exposition import METRICS_PATH, MetricsEndpoint, MetricsGuard
from vigil.instrumentation.json_logging import configure_logging
from vigil.instrumentation.probes import PROBE_PATHS, HealthProbes
from vigil.instrumentation.project_label import ProjectLabelPolicy
from vigil.instrumentation.red_metrics import RedMetrics
from vigil.instrumentation.request_id import RequestIdMiddleware
from vigil.instrumentation.telemetry_middleware import RequestTelemetryMiddleware


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
    probes: HealthProbes | None = None,
    metrics_guard: MetricsGuard | None = None,
) -> Instrumentation:
    """Instrument a FastAPI or Starlette app; call it once, before the app serves requests.

    - Every response carries ``X-Request-Id`` (a safe incoming id is kept, otherwise minted).
    - ``request_count``, ``request_duration_seconds``, ``response_status_count``,
      ``requests_in_progress`` and ``unhandled_exceptions`` are recorded in ``registry``
      (default: prometheus_client's global registry) and served at ``metrics_path``.
    - Logs go to stdout as JSON, one access record per request (``configure_logs=False`` leaves
      logging alone).
    - ``/health/live``, ``/health/ready`` and ``/health/startup`` are added; register checks on
      the returned ``probes`` (or pass your own ``HealthProbes`` to register them up front).
    - 404/405/422/500 responses are JSON carrying the request id.

    ``metrics_guard`` decides who may scrape ``metrics_path`` (default: anyone): an async
    callable taking the request that raises an ``HTTPException`` to refuse.

    ``project_ids`` is an allowlist for the ``project_id`` label; without it, the first
    ``project_label_cap`` distinct ids get their own label and the rest share ``other``.
    """
    registry = REGISTRY if registry is None else registry
    if configure_logs:
        configure_logging(service, log_level)
    metrics = RedMetrics.for_registry(registry)
    probes = probes or HealthProbes()
    project_labels = ProjectLabelPolicy(project_ids, cap=project_label_cap)

    probes.install(app)
    MetricsEndpoint(registry, metrics_guard).install(app, metrics_path)
    install_error_handlers(app)
    # add_middleware puts the last added outermost: request ids wrap the telemetry layer, so the
    # access log line and the 500 it may send both carry the id.
    app.add_middleware(
        RequestTelemetryMiddleware,
        service=service,
        metrics=metrics,
        access_log=AccessLog(),
        project_labels=project_labels,
        excluded_paths=PROBE_PATHS | {metrics_path},
        probes=probes,
    )
    app.add_middleware(RequestIdMiddleware)

    instrumentation = Instrumentation(service, registry, metrics, probes, project_labels)
    app.state.vigil = instrumentation
    return instrumentation
