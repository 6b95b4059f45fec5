"""Execution logs: what the controller and agents logged, by request, run, level and time."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from vigil.controller.api._deps import (
    AUTH_RESPONSES,
    Cursor,
    IdentifierFilter,
    Limit,
    Store,
    error_responses,
)
from vigil.controller.api._json_body import JsonBodyRoute
from vigil.controller.auth import Read, project_filter
from vigil.models import DEFAULT_PAGE_SIZE, LogLevel, LogRecord, Page, UtcDatetime

router = APIRouter(
    route_class=JsonBodyRoute, prefix="/logs", tags=["logs"], responses=AUTH_RESPONSES
)


@router.get("", response_model=Page[LogRecord], responses=error_responses(400, 503))
async def query_logs(
    store: Store,
    principal: Read,
    request_id: IdentifierFilter = None,
    run_id: UUID | None = None,
    level: Annotated[LogLevel | None, Query(description="this level and more severe")] = None,
    since: Annotated[UtcDatetime | None, Query(description="inclusive")] = None,
    until: Annotated[UtcDatetime | None, Query(description="exclusive")] = None,
    project_id: IdentifierFilter = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[LogRecord]:
    """Log records, oldest first, filtered by any combination of the parameters.

    A project's key sees its project's records: those its agents sent, and the controller's
    own records of the requests made with a key of that project (their access records).
    ``ingested_by`` tells records sent through ``/events/batch`` (the sending key's id) from
    the controller's own (null).
    """
    return await run_in_threadpool(
        store.query_logs,
        request_id=request_id,
        run_id=run_id,
        level=level,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
        project_id=project_filter(principal, project_id),
    )
