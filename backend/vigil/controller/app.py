"""The controller application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from sqlalchemy import make_url
from starlette.concurrency import run_in_threadpool

import vigil
from vigil.artifacts import ArtifactStore, open_artifact_store
from vigil.backups import open_backup_location
from vigil.controller import chaos, info
from vigil.controller.alert_reconciler import AlertReconciler
from vigil.controller.api import ROUTERS
from vigil.controller.api._deps import COMMON_RESPONSES
from vigil.controller.api.artifacts import FORM_OVERHEAD_BYTES, UPLOAD_PATH
from vigil.controller.auth import KeyRing, authenticate, bearer
from vigil.controller.backends import describe_backends
from vigil.controller.backup_runner import BackupRunner
from vigil.controller.bootstrap import provision_keys
from vigil.controller.heap import startup_heap_frozen
from vigil.controller.maintenance import Maintenance
from vigil.controller.metrics import ControllerMetrics
from vigil.controller.pg_listener import StepNotificationListener
from vigil.controller.step_feed import StepFeed
from vigil.controller.store_errors import install_store_error_handlers
from vigil.instrumentation import HealthProbes
from vigil.instrumentation.body_limit import RequestBodyLimitMiddleware, RouteBodyLimit
from vigil.instrumentation.exposition import MetricsGuard
from vigil.instrumentation.json_logging import configure_logging
from vigil.models import Scope
from vigil.sdk import AgentRecorder, ExecutionLogHandler, StoreSink
from vigil.settings import Settings
from vigil.storage import EventStore, open_store, upgrade

logger = logging.getLogger("vigil.controller")

# Whole request bodies above this are refused with 413 before they are parsed.
MAX_BODY_BYTES = 16 * 1024 * 1024
# How long shutdown waits for a running backup before leaving it (its set stays incomplete).
BACKUP_SHUTDOWN_WAIT_S = 60.0


def new_registry() -> CollectorRegistry:
    """A registry with the process, platform and GC collectors, as the global one has."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the controller for ``settings`` (default: from the environment)."""
    settings = settings or Settings()
    probes = HealthProbes()
    registry = new_registry()
    metrics = ControllerMetrics(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info(
            "Vigil controller starting",
            extra={"backends": describe_backends(settings), "version": vigil.__version__},
        )
        store = await run_in_threadpool(prepare_store, settings.database_url)
        app.state.store = store
        artifacts: ArtifactStore = await run_in_threadpool(open_artifact_store, settings)
        app.state.artifacts = artifacts
        location = await run_in_threadpool(open_backup_location, settings)
        backups = BackupRunner(settings, metrics, artifacts, location)
        app.state.backups = backups
        await run_in_threadpool(provision_keys, store, settings)
        probes.add_readiness_check("store", lambda: _check_store(store))
        probes.add_readiness_check("store_writes", store.write_probe)
        probes.add_readiness_check("disk", lambda: check_free_space(settings, metrics))
        probes.add_readiness_check("artifacts", artifacts.check, timeout_s=5.0)
        async with (
            traced_requests(settings, store, registry),
            persisted_logs(settings, store, registry),
            step_notifications(store, app),
            background(Maintenance(store, settings, metrics).run_forever(), "maintenance"),
            background(_reconciliation(store, settings, metrics), "alert-reconciliation"),
            background(backups.run_schedule(), "backup-schedule"),
        ):
            probes.startup_task_done("migrations")
            probes.lifespan_started()  # also when instrumentation (which would say so) is off
            with startup_heap_frozen():
                try:
                    yield
                finally:
                    logger.info("Vigil controller stopping")
        # A backup under way finishes (its thread holds the store's and the stores' URLs).
        await run_in_threadpool(backups.wait, BACKUP_SHUTDOWN_WAIT_S)
        await run_in_threadpool(location.close)
        await run_in_threadpool(artifacts.close)
        await run_in_threadpool(store.close)
        logger.info("Vigil controller stopped")

    app = FastAPI(
        title="Vigil controller",
        version=vigil.__version__,
        description="Records agent runs, steps, logs, metrics, alerts and artifacts.",
        lifespan=lifespan,
        responses=COMMON_RESPONSES,
    )
    app.state.settings = settings
    app.state.keyring = KeyRing()
    app.state.step_feed = StepFeed(
        settings.stream_poll_interval_s,
        max_open=settings.stream_max_open,
        max_per_key=settings.stream_max_per_key,
        max_duration_s=settings.stream_max_duration_s,
    )
    app.include_router(info.router)
    for router in ROUTERS:
        app.include_router(router)
    if settings.chaos:
        app.include_router(chaos.router)
    install_store_error_handlers(app)
    # Innermost of the controller's layers (added first), so that even without the
    # instrumentation an oversized body is refused before it is parsed. Artifact uploads
    # stream to their store, under their own limit.
    upload_limit = RouteBodyLimit(
        "POST",
        re.compile(UPLOAD_PATH),
        settings.artifacts_max_upload_bytes + FORM_OVERHEAD_BYTES,
    )
    app.add_middleware(RequestBodyLimitMiddleware, max_bytes=MAX_BODY_BYTES, routes=[upload_limit])

    probes.add_startup_task("migrations")
    if settings.instrumentation_enabled:
        vigil.instrument(
            app,
            service=settings.service_name,
            registry=registry,
            project_ids=settings.project_allowlist or None,
            project_label_cap=settings.project_label_cap,
            log_level=settings.log_level,
            log_flush_interval=settings.log_flush_interval_s,
            probes=probes,
            metrics_guard=metrics_guard(settings),
            tracing=settings.tracing_enabled,
        )
    else:
        configure_logging(
            settings.service_name,
            settings.log_level,
            flush_interval=settings.log_flush_interval_s,
        )
        probes.install(app)
    return app


def metrics_guard(settings: Settings) -> MetricsGuard | None:
    """``GET /metrics`` behind a key of the metrics scope, when the settings ask for it."""
    if not settings.metrics_need_key:
        return None

    async def guard(request: Request) -> None:
        principal = await authenticate(request, await bearer(request))
        if not principal.allows(Scope.METRICS):
            raise HTTPException(403, "this API key does not have the metrics scope")

    return guard


@asynccontextmanager
async def persisted_logs(
    settings: Settings, store: EventStore, registry: CollectorRegistry
) -> AsyncIterator[None]:
    """Store the controller's own log records (queryable at /logs) through the SDK's writer.

    Logging stays non-blocking: records are queued and written in batches; at shutdown the
    queue is drained before the store closes.
    """
    if settings.persist_logs == "off":
        yield
        return
    recorder = AgentRecorder(
        StoreSink(store),
        service=settings.service_name,
        registry=registry,
        flush_interval=settings.persist_log_flush_interval_s,
    )
    handler = ExecutionLogHandler(
        recorder,
        level=logging.getLevelNamesMapping()[settings.persist_log_level],
        scope=settings.persist_logs,
    )
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        await run_in_threadpool(recorder.close, 10.0)


@asynccontextmanager
async def traced_requests(
    settings: Settings, store: EventStore, registry: CollectorRegistry
) -> AsyncIterator[None]:
    """With ``VIGIL_TRACING_ENABLED``: the controller's TracerProvider, exporting its spans to
    its own store (``VIGIL_TRACING_STORE_EXPORT``), to OTLP (``VIGIL_TRACING_OTLP_ENDPOINT``)
    and, for agent spans, to Langfuse when the ``LANGFUSE_*`` variables are set. At shutdown
    what is queued is written before the store closes. (Request spans come from the
    instrumentation: with ``VIGIL_INSTRUMENTATION_ENABLED=false`` there are none.)"""
    if not (settings.tracing_enabled and settings.instrumentation_enabled):
        yield
        return
    from vigil.tracing import setup_tracing, shutdown_tracing

    exporters = []
    if settings.tracing_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporters.append(OTLPSpanExporter(endpoint=settings.tracing_otlp_endpoint))
    await run_in_threadpool(
        lambda: setup_tracing(
            settings.service_name,
            version=vigil.__version__,
            environment=settings.tracing_environment,
            sample_ratio=settings.tracing_sample_ratio,
            store=store if settings.tracing_store_export else None,
            exporters=exporters,
            registry=registry,
            max_queue_size=settings.tracing_queue_size,
        )
    )
    try:
        yield
    finally:
        await run_in_threadpool(shutdown_tracing)


@asynccontextmanager
async def step_notifications(store: EventStore, app: FastAPI) -> AsyncIterator[None]:
    """On PostgreSQL, listen for steps stored by other processes (LISTEN/NOTIFY)."""
    if store.backend != "postgresql":
        yield
        return
    listener = StepNotificationListener(app.state.settings.database_url, app.state.step_feed)
    async with background(listener.run(), "step-notifications"):
        yield


@asynccontextmanager
async def background(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run ``work`` as a task for the lifespan's duration; cancelled at shutdown."""
    task = asyncio.create_task(work, name=f"vigil-{name}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _reconciliation(
    store: EventStore, settings: Settings, metrics: ControllerMetrics
) -> None:
    if settings.alertmanager_url is not None:
        await AlertReconciler(store, settings, metrics).run_forever()


def check_free_space(settings: Settings, metrics: ControllerMetrics) -> None:
    """Readiness: enough free disk where the controller writes (its data directory and, on
    SQLite, the database's directory, and the filesystem artifact store's). A full disk made
    every SQLite write a 503 while readiness said 200 (issue 10)."""
    paths = {settings.data_dir.resolve()}
    if settings.artifacts_backend == "filesystem":
        paths.add(settings.artifacts_path.resolve())
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        paths.add(Path(url.database).resolve().parent)
    minimum = settings.min_free_disk_mb * 1024 * 1024
    for path in sorted(paths):
        existing = next(p for p in (path, *path.parents) if p.exists())
        free = shutil.disk_usage(existing).free
        metrics.disk_free_bytes.labels(str(path)).set(free)
        if free < minimum:
            raise OSError(f"{free // (1024 * 1024)} MB free at {path}, below the minimum")


def prepare_store(url: str) -> EventStore:
    """Run the migrations, then open the store."""
    upgrade(url)
    return open_store(url)


def _check_store(store: EventStore) -> None:
    if not store.health_check(timeout=2.0):
        raise ConnectionError("the store did not answer SELECT 1")
