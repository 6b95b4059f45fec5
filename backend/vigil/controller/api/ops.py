"""Operations: backups on demand and their status, behind the ops bearer token.

``POST /ops/backup`` starts one and answers 202 with its id at once (409 while one runs);
``GET /ops/backups`` lists the backups of the location and the ones this controller ran;
``GET /ops/backups/{id}`` says how one went. How to restore: docs/runbook.md#backups.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from vigil.backups import (
    BackupCorrupt,
    BackupInProgress,
    BackupManifest,
    BackupNotFound,
    StoredBackup,
    read_manifest,
    stored_backups,
)
from vigil.backups._location import set_uri
from vigil.backups._manifest import ID_PATTERN
from vigil.controller.api._deps import error_responses
from vigil.controller.api._json_body import JsonBodyRoute
from vigil.controller.auth import require_ops_token
from vigil.controller.backup_runner import BackupRun, BackupRunner

router = APIRouter(
    route_class=JsonBodyRoute,
    prefix="/ops",
    tags=["operations"],
    dependencies=[Depends(require_ops_token)],
)

OPS_RESPONSES = error_responses(401)
BackupId = Annotated[str, Path(pattern=ID_PATTERN, description="a backup id")]


class BackupStarted(BaseModel):
    """A backup this controller has started."""

    id: str
    status: Literal["running"]
    location: str
    started_at: datetime


class BackupStatus(BaseModel):
    """One backup: running or failed (this controller's), complete, or unusable."""

    id: str
    status: Literal["running", "failed", "complete", "incomplete", "corrupt"]
    location: str
    started_at: datetime | None = None
    error: str | None = None
    manifest: BackupManifest | None = None


def _runner(request: Request) -> BackupRunner:
    runner: BackupRunner = request.app.state.backups
    return runner


def _of_run(run: BackupRun) -> BackupStatus:
    return BackupStatus(
        id=run.id,
        status=run.status,
        location=run.location,
        started_at=run.started_at,
        error=run.error,
        manifest=run.manifest,
    )


def _of_stored(runner: BackupRunner, stored: StoredBackup) -> BackupStatus:
    problem = stored.problem
    return BackupStatus(
        id=stored.id,
        status="complete"
        if problem is None
        else "incomplete"
        if problem == "incomplete"
        else "corrupt",
        location=set_uri(runner.location, stored.id),
        started_at=stored.manifest.created_at if stored.manifest else None,
        error=None if problem in (None, "incomplete") else problem,
        manifest=stored.manifest,
    )


def _statuses(runner: BackupRunner) -> list[BackupStatus]:
    found = {s.id: _of_stored(runner, s) for s in stored_backups(runner.location)}
    for run in runner.runs():
        # Running (incomplete in the location) or failed (removed from it): this process'
        # word. A complete one is the location's (retention may have removed it since).
        if run.status != "complete":
            found[run.id] = _of_run(run)
    return [found[key] for key in sorted(found, reverse=True)]


@router.post(
    "/backup",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BackupStarted,
    responses={**OPS_RESPONSES, **error_responses(409)},
)
async def start_backup(request: Request) -> BackupStarted:
    """Back up the database and the artifacts now, in the background; the answer comes at
    once with the backup's id (``GET /ops/backups/{id}`` follows it). 409 while one runs."""
    try:
        run = _runner(request).start("api")
    except BackupInProgress as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return BackupStarted(
        id=run.id, status="running", location=run.location, started_at=run.started_at
    )


@router.get(
    "/backups",
    response_model=list[BackupStatus],
    responses={**OPS_RESPONSES, **error_responses(503)},
)
async def list_backups(request: Request) -> list[BackupStatus]:
    """Every backup in the backup location, and those this controller ran, newest first."""
    return await run_in_threadpool(_statuses, _runner(request))


@router.get(
    "/backups/{backup_id}",
    response_model=BackupStatus,
    responses={**OPS_RESPONSES, **error_responses(404, 503)},
)
async def get_backup(request: Request, backup_id: BackupId) -> BackupStatus:
    """One backup: its manifest when it is complete, its error when it failed."""
    runner = _runner(request)
    run = runner.run(backup_id)
    if run is not None and run.status != "complete":
        return _of_run(run)
    stored = await run_in_threadpool(_stored, runner, backup_id)
    if stored is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no backup {backup_id}")
    return _of_stored(runner, stored)


def _stored(runner: BackupRunner, backup_id: str) -> StoredBackup | None:
    try:
        manifest = read_manifest(runner.location, backup_id)
    except BackupCorrupt as exc:
        return StoredBackup(backup_id, None, str(exc), datetime.now(UTC))
    except BackupNotFound:
        page = runner.location.list_objects(f"{backup_id}/", limit=1)
        if not page.items:
            return None
        return StoredBackup(backup_id, None, "incomplete", page.items[0].last_modified)
    return StoredBackup(backup_id, manifest, None, manifest.completed_at)
