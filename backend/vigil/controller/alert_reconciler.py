"""Stored firing alerts that Alertmanager no longer holds are resolved (issue 10).

Alertmanager keeps its alerts in memory: restarted, it forgets the ones Prometheus does not
send again (resolved while it was down, or posted by hand), and never sends a "resolved" for
them, so the controller kept showing them firing. Every ``alert_reconcile_interval_s`` the
controller reads Alertmanager's alerts (``GET /api/v2/alerts``, silenced and inhibited ones
included) and resolves the firing records whose fingerprint is not among them and that were
not updated for two intervals (a notification in flight is not raced). When Alertmanager
cannot be reached, nothing is resolved: an outage must not look like "all clear".
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx

from vigil.controller.metrics import ControllerMetrics
from vigil.controller.threads import finish_in_thread
from vigil.models import Alert, utc_now
from vigil.secret_files import read_secret
from vigil.settings import Settings
from vigil.storage import EventStore
from vigil.tracing import TracingContext, async_traceparent_hook

logger = logging.getLogger("vigil.alerts")

ALERTS_PATH = "/api/v2/alerts"


class AlertReconciler:
    def __init__(self, store: EventStore, settings: Settings, metrics: ControllerMetrics) -> None:
        if settings.alertmanager_url is None:
            raise ValueError("no Alertmanager URL to reconcile with")
        self.store = store
        self.settings = settings
        self.metrics = metrics
        auth = None
        if settings.alertmanager_username is not None:
            password_file = settings.alertmanager_password_file
            password = read_secret(password_file) if password_file else None
            auth = httpx.BasicAuth(settings.alertmanager_username, password or "")
        # Each round is a span of the controller (with VIGIL_TRACING_ENABLED): its call to
        # Alertmanager carries the round's traceparent.
        self._client = httpx.AsyncClient(
            base_url=settings.alertmanager_url.rstrip("/"),
            auth=auth,
            timeout=10.0,
            event_hooks={"request": [async_traceparent_hook]},
        )

    async def active_fingerprints(self) -> set[str] | None:
        """What Alertmanager holds now, or None when it cannot be asked."""
        params = {"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"}
        try:
            response = await self._client.get(ALERTS_PATH, params=params)
            response.raise_for_status()
            return {alert["fingerprint"] for alert in response.json()}
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            self.metrics.reconcile_failures.inc()
            logger.warning(
                "Alert reconciliation skipped: Alertmanager did not answer",
                extra={"error": type(exc).__name__},
            )
            return None

    async def reconcile_once(self) -> list[Alert]:
        async with TracingContext("alerts.reconcile", kind="client") as span:
            resolved = await self._reconcile()
            span.set_attribute("alerts.resolved", len(resolved))
        return resolved

    async def _reconcile(self) -> list[Alert]:
        active = await self.active_fingerprints()
        if active is None:
            return []
        grace = timedelta(seconds=2 * self.settings.alert_reconcile_interval_s)
        resolved = await finish_in_thread(
            self.store.resolve_alerts_missing_from, active, utc_now() - grace
        )
        for alert in resolved:
            logger.info(
                "Alert %s resolved: Alertmanager no longer holds it",
                alert.alertname,
                extra={"alert_id": str(alert.id), "fingerprint": alert.fingerprint},
            )
        self.metrics.alerts_reconciled.inc(len(resolved))
        return resolved

    async def aclose(self) -> None:
        await self._client.aclose()

    async def run_forever(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.settings.alert_reconcile_interval_s)
                try:
                    await self.reconcile_once()
                except Exception:  # the store may be down now; the next round tries again
                    logger.exception("alert reconciliation failed")
        finally:
            await self.aclose()
