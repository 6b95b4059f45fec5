"""Housekeeping that keeps the store's state true and its size bounded (issue 10).

- A run whose agent died stays ``running`` forever: runs without a step for
  ``run_abandon_after_s`` are marked ``abandoned``.
- Nothing was retained for less than forever (one ~550-byte access record per request): log
  records and ingested batch ids older than ``log_retention_days`` are deleted in batches of
  ``BATCH`` rows, one short transaction each, so ingestion goes on between them.

Runs every ``maintenance_interval_s`` in the controller's lifespan; a failing round is
logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from vigil.controller.metrics import ControllerMetrics
from vigil.controller.threads import finish_in_thread
from vigil.models import utc_now
from vigil.settings import Settings
from vigil.storage import EventStore

logger = logging.getLogger("vigil.controller.maintenance")

BATCH = 10_000


class Maintenance:
    def __init__(self, store: EventStore, settings: Settings, metrics: ControllerMetrics) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics

    def run_once(self) -> dict[str, int]:
        """One round; returns what it did (blocking: call it in a thread)."""
        done = {"abandoned": 0, "logs_deleted": 0, "batch_ids_deleted": 0}
        now = utc_now()
        if self.settings.run_abandon_after_s > 0:
            idle_since = now - timedelta(seconds=self.settings.run_abandon_after_s)
            abandoned = self.store.abandon_idle_runs(idle_since)
            for run in abandoned:
                logger.warning(
                    "Run %s abandoned: no step since %s",
                    run.id,
                    run.last_activity_at.isoformat(),
                    extra={"run_id": str(run.id), "agent": run.agent},
                )
            done["abandoned"] = len(abandoned)
            self.metrics.runs_abandoned.inc(len(abandoned))
        if self.settings.log_retention_days > 0:
            cutoff = now - timedelta(days=self.settings.log_retention_days)
            done["logs_deleted"] = _drain(self.store.delete_logs_before, cutoff)
            done["batch_ids_deleted"] = _drain(self.store.delete_batch_ids_before, cutoff)
            self.metrics.logs_deleted.inc(done["logs_deleted"])
        return done

    async def run_forever(self) -> None:
        while True:
            try:
                await finish_in_thread(self.run_once)
            except Exception:  # the store may be down now; the next round tries again
                logger.exception("maintenance round failed")
            await asyncio.sleep(self.settings.maintenance_interval_s)


def _drain(delete_batch: Callable[..., int], cutoff: datetime) -> int:
    """Call a batched delete until a batch comes back short."""
    total = 0
    while True:
        deleted = delete_batch(cutoff, limit=BATCH)
        total += deleted
        if deleted < BATCH:
            return total
