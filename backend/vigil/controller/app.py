"""The controller application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

import vigil
from vigil.controller import info
from vigil.controller.backends import describe_backends
from vigil.instrumentation.json_logging import configure_logging
from vigil.settings import Settings

logger = logging.getLogger("vigil.controller")


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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info(
            "Vigil controller starting",
            extra={"backends": describe_backends(settings), "version": vigil.__version__},
        )
        yield
        logger.info("Vigil controller stopped")

    app = FastAPI(
        title="Vigil controller",
        version=vigil.__version__,
        description="Records agent runs, steps, logs, metrics, alerts and artifacts.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(info.router)

    if settings.instrumentation_enabled:
        vigil.instrument(
            app,
            service=settings.service_name,
            registry=new_registry(),
            project_ids=settings.project_allowlist or None,
            project_label_cap=settings.project_label_cap,
            log_level=settings.log_level,
        )
    else:
        configure_logging(settings.service_name, settings.log_level)
    return app
