"""Measurements recorded by agents (not Prometheus metrics: those are at /metrics)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import Field, StringConstraints
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
from vigil.controller.auth import Ingest, Read, owned_project, project_filter
from vigil.models import (
    DEFAULT_PAGE_SIZE,
    MAX_BATCH_EVENTS,
    MeasurementCreate,
    MeasurementPoint,
    Page,
    UtcDatetime,
)
from vigil.models._types import StrictModel

router = APIRouter(
    route_class=JsonBodyRoute,
    prefix="/measurements",
    tags=["measurements"],
    responses=AUTH_RESPONSES,
)

LabelFilter = Annotated[str, StringConstraints(pattern=r"^[^=\x00]+=[^\x00]*$", max_length=300)]
MetricNameFilter = Annotated[
    str, Query(min_length=1, max_length=200, pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
]
LabelFilters = Annotated[
    list[LabelFilter],
    Query(
        alias="label",
        max_length=16,
        description="`key=value`; repeat for several labels (all must match)",
    ),
]


class MeasurementBatch(StrictModel):
    """Points to record."""

    points: Annotated[list[MeasurementCreate], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]


class RecordedCount(StrictModel):
    """How many points were stored."""

    recorded: int


class PercentileResult(StrictModel):
    """A percentile of one metric over a window; ``value`` is null when no point fell in it."""

    name: str
    q: float
    window_seconds: float
    value: float | None


def parse_labels(filters: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` as a dict; a filter without ``=`` is a 422 like any validation error."""
    labels: dict[str, str] = {}
    for index, item in enumerate(filters):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RequestValidationError(
                [
                    {
                        "loc": ("query", "label", index),
                        "msg": "a label filter is key=value",
                        "type": "value_error",
                    }
                ]
            )
        labels[key] = value
    return labels


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordedCount,
    responses=error_responses(503),
)
async def record_measurements(
    batch: MeasurementBatch, store: Store, principal: Ingest
) -> RecordedCount:
    """Record points (counter, gauge or histogram observations) of the key's project."""
    for point in batch.points:
        owned_project(principal, point.project_id)
    recorded = await run_in_threadpool(
        store.record_measurements, batch.points, project_id=principal.project_id
    )
    return RecordedCount(recorded=recorded)


@router.get("", response_model=Page[MeasurementPoint], responses=error_responses(400, 503))
async def query_measurements(
    store: Store,
    principal: Read,
    name: MetricNameFilter,
    label: LabelFilters = [],  # noqa: B006 - FastAPI copies defaults per request
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
    project_id: IdentifierFilter = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[MeasurementPoint]:
    """Points of one metric, oldest first, within a time range and matching labels."""
    return await run_in_threadpool(
        store.query_measurements,
        name,
        since=since,
        until=until,
        labels=parse_labels(label),
        limit=limit,
        cursor=cursor,
        project_id=project_filter(principal, project_id),
    )


@router.get("/percentile", response_model=PercentileResult, responses=error_responses(503))
async def percentile(
    store: Store,
    principal: Read,
    name: MetricNameFilter,
    q: Annotated[Literal["0.5", "0.95", "0.99"], Query(description="p50, p95 or p99")],
    window_seconds: Annotated[float, Query(ge=0.001, le=366 * 86400)] = 3600,
    label: LabelFilters = [],  # noqa: B006 - FastAPI copies defaults per request
    until: UtcDatetime | None = None,
    project_id: IdentifierFilter = None,
) -> PercentileResult:
    """The p50/p95/p99 of a metric's values recorded in the window ending at ``until`` (now)."""
    window = timedelta(seconds=window_seconds)
    value = await run_in_threadpool(
        store.percentile,
        name,
        float(q),
        window=window,
        labels=parse_labels(label),
        until=until,
        project_id=project_filter(principal, project_id),
    )
    return PercentileResult(name=name, q=float(q), window_seconds=window_seconds, value=value)
