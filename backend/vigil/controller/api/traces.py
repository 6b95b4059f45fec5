"""Traces: the span tree of one trace, as the store holds it (the controller's own request
spans, agents' spans, any service exporting to this store)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from starlette.concurrency import run_in_threadpool

from vigil.controller.api._deps import AUTH_RESPONSES, Store, error_responses
from vigil.controller.api._json_body import JsonBodyRoute
from vigil.controller.auth import Read
from vigil.models import MAX_TRACE_SPANS, TraceTree

router = APIRouter(
    route_class=JsonBodyRoute, prefix="/traces", tags=["traces"], responses=AUTH_RESPONSES
)

TraceIdPath = Annotated[
    str, Path(pattern=r"^[0-9a-f]{32}$", description="W3C trace id: 32 lowercase hex digits")
]


@router.get("/{trace_id}", response_model=TraceTree, responses=error_responses(404, 503))
async def get_trace(trace_id: TraceIdPath, store: Store, principal: Read) -> TraceTree:
    """The spans of a trace as a tree, children by start time (a project's key sees its
    project's spans). At most ``MAX_TRACE_SPANS`` (10,000): ``truncated`` says more exist.
    404 when no span of the trace is visible to the key."""
    spans = await run_in_threadpool(
        store.get_trace, trace_id, project_id=principal.project_id, limit=MAX_TRACE_SPANS + 1
    )
    if not spans:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"trace {trace_id} not found")
    return TraceTree.of(trace_id, spans[:MAX_TRACE_SPANS], truncated=len(spans) > MAX_TRACE_SPANS)
