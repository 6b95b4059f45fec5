"""Backups in the controller: one at a time, on demand (``POST /ops/backup``) or daily.

A backup runs on a thread of its own (pg_dump and an upload of minutes must not hold one of
the request thread pool's threads), and this process takes one at a time: a second request
while one runs is refused (409). The schedule (``VIGIL_BACKUP_SCHEDULE=daily``) checks every
``backup_check_interval_s`` whether the newest complete backup in the location is older than a
day, and takes one if so: the first soon after start, then about a day apart, also after
restarts, and backups made by ``vigil backup create`` count. Each check also re-reads the
newest success for ``vigil_backup_last_success_timestamp_seconds``, so the metric (and the
``BackupStale`` alert on it) follows the location, not this process' memory. After every
success the retention policy prunes the location.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from vigil.artifacts import ArtifactStore
from vigil.backups import (
    BackupInProgress,
    BackupManifest,
    RetentionPolicy,
    create_backup,
    new_backup_id,
    prune_backups,
    stored_backups,
)
from vigil.backups._location import set_uri
from vigil.controller.metrics import ControllerMetrics
from vigil.controller.threads import finish_in_thread
from vigil.settings import Settings

logger = logging.getLogger("vigil.controller.backups")

DAY: Final = timedelta(days=1)
KEPT_RUNS: Final = 20

RunStatus = Literal["running", "complete", "failed"]


@dataclass
class BackupRun:
    """A backup this controller started."""

    id: str
    trigger: Literal["api", "schedule"]
    started_at: datetime
    location: str
    status: RunStatus = "running"
    error: str | None = None
    manifest: BackupManifest | None = field(default=None, repr=False)


class BackupRunner:
    def __init__(
        self,
        settings: Settings,
        metrics: ControllerMetrics,
        artifacts: ArtifactStore,
        location: ArtifactStore,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.artifacts = artifacts
        self.location = location
        self.policy = RetentionPolicy(settings.backup_keep_daily, settings.backup_keep_weekly)
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, BackupRun] = OrderedDict()
        self._thread: threading.Thread | None = None

    # --- starting and running ------------------------------------------------------------

    def running(self) -> BackupRun | None:
        with self._lock:
            return next((r for r in self._runs.values() if r.status == "running"), None)

    def start(self, trigger: Literal["api", "schedule"]) -> BackupRun:
        """Start a backup on its own thread (``BackupInProgress`` if one runs)."""
        with self._lock:
            busy = next((r for r in self._runs.values() if r.status == "running"), None)
            if busy is not None:
                raise BackupInProgress(
                    f"backup {busy.id} is running (started {busy.started_at:%H:%M:%S}Z)"
                )
            backup_id = new_backup_id()
            run = BackupRun(
                backup_id, trigger, datetime.now(UTC), set_uri(self.location, backup_id)
            )
            self._runs[backup_id] = run
            while len(self._runs) > KEPT_RUNS:
                self._runs.popitem(last=False)
            self._thread = threading.Thread(
                target=self._run, args=(run,), name=f"vigil-backup-{backup_id}", daemon=True
            )
            self._thread.start()
        return run

    def _run(self, run: BackupRun) -> None:
        started = time.monotonic()
        try:
            manifest = create_backup(
                self.settings.database_url,
                self.artifacts,
                self.location,
                backup_id=run.id,
                pg_bin_dir=self.settings.backup_pg_bin_dir,
            )
        except Exception as exc:  # logged by create_backup; the status answers with it
            gauge = self.metrics.backup_last_success
            if gauge.value is None and self.settings.backup_schedule != "off":
                gauge.set(0.0)  # a schedule, a failure, and never a success: "long ago"
            self.metrics.backup_failures.inc()
            with self._lock:
                run.status, run.error = "failed", str(exc)
            return
        finally:
            self.metrics.backup_duration.set(time.monotonic() - started)
        self.metrics.backup_last_success.set(manifest.completed_at.timestamp())
        with self._lock:
            run.status, run.manifest = "complete", manifest
        try:
            deleted = prune_backups(
                self.location, self.policy, now=datetime.now(UTC), protect=frozenset({run.id})
            )
        except Exception:
            logger.exception("backup retention failed (the backup itself is complete)")
            return
        if deleted:
            logger.info("Backups removed by retention: %s", ", ".join(deleted))

    def wait(self, timeout_s: float) -> None:
        """Let a running backup finish (shutdown), at most ``timeout_s``."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    # --- what is known -------------------------------------------------------------------

    def runs(self) -> list[BackupRun]:
        with self._lock:
            return list(reversed(self._runs.values()))

    def run(self, backup_id: str) -> BackupRun | None:
        with self._lock:
            return self._runs.get(backup_id)

    def refresh(self) -> datetime | None:
        """The newest success in the location, also set as the last-success metric."""
        newest = max(
            (b.manifest.completed_at for b in stored_backups(self.location) if b.manifest),
            default=None,
        )
        if newest is not None:
            self.metrics.backup_last_success.set(newest.timestamp())
        return newest

    def due(self, newest: datetime | None, now: datetime) -> bool:
        return self.settings.backup_schedule == "daily" and (newest is None or now - newest >= DAY)

    async def run_schedule(self) -> None:
        """The schedule's loop (the lifespan runs it; with the schedule off it only keeps the
        last-success metric up to date)."""
        while True:
            try:
                newest = await finish_in_thread(self.refresh)
                if self.due(newest, datetime.now(UTC)) and self.running() is None:
                    run = self.start("schedule")
                    logger.info("Scheduled backup started: %s", run.location)
            except BackupInProgress:
                pass
            except Exception:  # the location may be down now; the next check tries again
                logger.exception("backup schedule check failed")
            await asyncio.sleep(self.settings.backup_check_interval_s)
