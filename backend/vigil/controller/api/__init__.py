"""The controller's HTTP API, one router per resource."""

from fastapi import APIRouter

from vigil.controller.api import (
    alerts,
    artifacts,
    events,
    keys,
    logs,
    measurements,
    ops,
    runs,
    traces,
    workflows,
)

ROUTERS: tuple[APIRouter, ...] = (
    runs.router,
    artifacts.router,
    traces.router,
    events.router,
    logs.router,
    workflows.router,
    measurements.router,
    alerts.router,
    keys.router,
    ops.router,
)

__all__ = ["ROUTERS"]
