"""Fault injection for the alert smoke test; mounted only when ``VIGIL_CHAOS=1``.

Never enable it in production: any client can make the controller answer 500.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from vigil.controller.auth import require
from vigil.models import Scope

# Behind the admin scope: without a key, nobody can make the controller page its operators.
router = APIRouter(
    prefix="/chaos", tags=["chaos"], include_in_schema=False, dependencies=[require(Scope.ADMIN)]
)


class InjectedFaultError(RuntimeError):
    """Raised on purpose: it travels the same path as a real bug (logged, counted, JSON 500)."""


@router.get("/error")
async def inject_error() -> None:
    """Always fails with an unhandled exception, so the 500 path is exercised end to end."""
    raise InjectedFaultError("fault injected by /chaos/error")


@router.get("/status/{code}")
async def inject_status(code: int) -> None:
    """Answers with any 4xx/5xx status chosen by the caller."""
    if not 400 <= code <= 599:
        raise HTTPException(422, "code must be 400..599")
    raise HTTPException(code, "status injected by /chaos/status")
