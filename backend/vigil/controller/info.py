"""``GET /info``: what this controller is and which backends it runs on."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

import vigil
from vigil.controller.api._deps import AUTH_RESPONSES
from vigil.controller.auth import Read
from vigil.controller.backends import describe_backends
from vigil.settings import Settings

router = APIRouter(tags=["info"])


class ControllerInfo(BaseModel):
    """Identity and configuration summary of the controller (no secrets)."""

    service: str
    version: str
    backends: dict[str, str]
    instrumentation_enabled: bool
    tracing_enabled: bool


@router.get("/info", response_model=ControllerInfo, responses=AUTH_RESPONSES)
async def get_info(request: Request, principal: Read) -> ControllerInfo:
    """Identity of this controller and the backends it uses."""
    settings: Settings = request.app.state.settings
    return ControllerInfo(
        service=settings.service_name,
        version=vigil.__version__,
        backends=describe_backends(settings),
        instrumentation_enabled=settings.instrumentation_enabled,
        tracing_enabled=settings.tracing_enabled,
    )
