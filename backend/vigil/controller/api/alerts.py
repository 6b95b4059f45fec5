"""Alerts: Alertmanager's webhook in, a queryable and acknowledgeable history out."""

from __future__ import annotations

import logging
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from vigil.controller.api._deps import AUTH_RESPONSES, Cursor, Limit, Store, error_responses
from vigil.controller.api._json_body import JsonBodyRoute
from vigil.controller.auth import Admin, Read, check_bearer_token
from vigil.models import (
    DEFAULT_PAGE_SIZE,
    Alert,
    AlertAcknowledge,
    AlertCreate,
    AlertStatus,
    Page,
    UtcDatetime,
)
from vigil.models._types import NO_NUL, JsonInteger, StrictModel
from vigil.settings import Settings

# Alert ids are matched as UUIDs in the path so that /alerts/webhook never reads as an alert id.
router = APIRouter(route_class=JsonBodyRoute, prefix="/alerts", tags=["alerts"])
logger = logging.getLogger("vigil.alerts")

# Alertmanager caps a notification at max_alerts (0 = unlimited); we refuse absurd ones.
MAX_ALERTS_PER_NOTIFICATION = 1000


class AlertmanagerNotification(StrictModel):
    """Alertmanager's webhook body, version 4."""

    version: Literal["4"]
    group_key: str = Field(alias="groupKey", max_length=4096)
    truncated_alerts: JsonInteger = Field(0, alias="truncatedAlerts", ge=0, le=2**31 - 1)
    status: Literal["firing", "resolved"]
    receiver: str = Field(max_length=200)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field("", alias="externalURL", max_length=2048)
    alerts: Annotated[
        list[AlertCreate], Field(min_length=1, max_length=MAX_ALERTS_PER_NOTIFICATION)
    ]


class WebhookReceipt(StrictModel):
    """What the webhook stored."""

    stored: int
    alerts: list[Alert]


webhook_bearer = HTTPBearer(
    scheme_name="AlertmanagerToken",
    description="The webhook token Alertmanager presents (VIGIL_ALERT_WEBHOOK_TOKEN); "
    "not an API key.",
    auto_error=False,
)


async def require_webhook_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(webhook_bearer)],
) -> None:
    """Refuse a request whose bearer token is missing or wrong (or when none is configured)."""
    settings: Settings = request.app.state.settings
    check_bearer_token(
        credentials, settings.alert_webhook_token, disabled="webhook disabled: no token set"
    )


@router.post(
    "/webhook",
    response_model=WebhookReceipt,
    dependencies=[Depends(require_webhook_token)],
    responses=error_responses(401, 503),
)
async def alertmanager_webhook(
    notification: AlertmanagerNotification, store: Store
) -> WebhookReceipt:
    """Store each alert of an Alertmanager notification, firing or resolved.

    Deduplicated by fingerprint and start time: a repeat updates the stored alert, and a
    resolved notification resolves it.
    """
    stored = await run_in_threadpool(store.upsert_alerts, notification.alerts)
    logger.info(
        "Alertmanager notification stored",
        extra={
            "receiver": notification.receiver,
            "alert_status": notification.status,
            "alertnames": sorted({a.alertname for a in notification.alerts}),
            "stored": len(stored),
        },
    )
    return WebhookReceipt(stored=len(stored), alerts=stored)


@router.get(
    "", response_model=Page[Alert], responses={**AUTH_RESPONSES, **error_responses(400, 503)}
)
async def list_alerts(
    store: Store,
    principal: Read,
    alert_status: Annotated[AlertStatus | None, Query(alias="status")] = None,
    severity: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Page[Alert]:
    """Alerts, most recent start first, filtered by status, severity and start time.

    Alerts concern the platform, not one project: every key with the read scope sees them.
    """
    return await run_in_threadpool(
        store.list_alerts,
        status=alert_status,
        severity=severity,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/{alert_id:uuid}",
    response_model=Alert,
    responses={**AUTH_RESPONSES, **error_responses(404, 503)},
)
async def get_alert(alert_id: UUID, store: Store, principal: Read) -> Alert:
    """One alert."""
    return await run_in_threadpool(store.get_alert, alert_id)


@router.post(
    "/{alert_id:uuid}/acknowledge",
    response_model=Alert,
    responses={**AUTH_RESPONSES, **error_responses(404, 409, 503)},
)
async def acknowledge_alert(
    alert_id: UUID, ack: AlertAcknowledge, store: Store, principal: Admin
) -> Alert:
    """Acknowledge an alert (the admin scope); the first acknowledgement is kept (a second is
    a 409)."""
    return await run_in_threadpool(store.acknowledge_alert, alert_id, ack)
