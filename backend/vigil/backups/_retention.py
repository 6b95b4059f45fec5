"""Which backups to keep: the newest of each of the last N days and of the last M weeks.

Days and ISO weeks are UTC. A set counts for a day (or week) if it is the newest complete set
made in it; the newest complete set is always kept, whatever N and M say. Incomplete sets (no
manifest) are leftovers of failed runs: they go once they are older than a day, so a backup
still being written is never touched. Sets whose manifest cannot be read are kept for an
operator to look at (``vigil backup verify`` says what is wrong).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.artifacts import ArtifactStore
from vigil.backups._location import StoredBackup, delete_backup, stored_backups

INCOMPLETE_GRACE = timedelta(days=1)


@dataclass(frozen=True)
class RetentionPolicy:
    keep_daily: int
    keep_weekly: int


def backups_to_keep(backups: Sequence[StoredBackup], policy: RetentionPolicy) -> set[str]:
    """The ids of the complete sets the policy keeps."""
    complete = sorted(
        (b for b in backups if b.manifest is not None),
        key=lambda b: b.manifest.created_at if b.manifest else b.last_modified,
        reverse=True,
    )
    keep: set[str] = {complete[0].id} if complete else set()
    days: list[object] = []
    weeks: list[object] = []
    for backup in complete:
        assert backup.manifest is not None  # noqa: S101 - filtered above
        created = backup.manifest.created_at
        day = created.date()
        week = created.isocalendar()[:2]
        if day not in days and len(days) < policy.keep_daily:
            days.append(day)
            keep.add(backup.id)
        if week not in weeks and len(weeks) < policy.keep_weekly:
            weeks.append(week)
            keep.add(backup.id)
    return keep


def prune_backups(
    location: ArtifactStore,
    policy: RetentionPolicy,
    *,
    now: datetime,
    protect: frozenset[str] = frozenset(),
) -> list[str]:
    """Delete the sets the policy does not keep; returns their ids."""
    backups = stored_backups(location)
    keep = backups_to_keep(backups, policy) | protect
    deleted = []
    for backup in backups:
        if backup.id in keep:
            continue
        fresh = now - backup.last_modified < INCOMPLETE_GRACE
        if backup.manifest is None and (backup.problem != "incomplete" or fresh):
            continue
        delete_backup(location, backup.id)
        deleted.append(backup.id)
    return deleted
