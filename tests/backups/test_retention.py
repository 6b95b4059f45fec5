"""Retention: the newest backup of each of the last N days and M ISO weeks, the newest always,
incomplete leftovers after a day; and pruning a real location."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigil.artifacts import FilesystemArtifactStore
from vigil.backups import RetentionPolicy, backups_to_keep, prune_backups, stored_backups
from vigil.backups._location import StoredBackup
from vigil.backups._manifest import BackupManifest, manifest_key, new_backup_id, part_key


def _manifest(created: datetime) -> BackupManifest:
    backup_id = new_backup_id(created)
    return BackupManifest(
        id=backup_id,
        created_at=created,
        completed_at=created,
        duration_s=1.0,
        vigil_version="0.1.0",
        schema_revision=None,
        database_backend="sqlite",
        artifacts_backend="filesystem",
        location=f"file:///b/{backup_id}/manifest.json",
        parts=[],
        row_counts={},
    )


def _stored(created: datetime) -> StoredBackup:
    manifest = _manifest(created)
    return StoredBackup(manifest.id, manifest, None, created)


START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # a Monday


def test_daily_and_weekly() -> None:
    """Two backups a day for 40 days: 7 daily keeps the newest of each of the last 7 days,
    4 weekly adds the newest of the 4 weeks before (ISO weeks)."""
    backups = [
        _stored(START - timedelta(days=d) + timedelta(hours=h)) for d in range(40) for h in (0, 10)
    ]
    keep = backups_to_keep(backups, RetentionPolicy(keep_daily=7, keep_weekly=4))
    kept = sorted((b.manifest.created_at for b in backups if b.id in keep), reverse=True)  # type: ignore[union-attr]
    daily = [START - timedelta(days=d) + timedelta(hours=10) for d in range(7)]
    assert kept[:7] == daily
    weeks = {c.isocalendar()[:2] for c in kept}
    assert len(weeks) == 4  # the 7 days span two ISO weeks; weekly reaches back 4 weeks
    assert len(kept) == len(set(kept)) == 9  # 7 daily + the newest of the 2 older weeks
    assert all(c.hour == 12 for c in kept), "the newest backup of each day, never the 02:00 one"


def test_the_newest_is_kept_whatever_the_policy() -> None:
    backups = [_stored(START), _stored(START - timedelta(days=1))]
    assert backups_to_keep(backups, RetentionPolicy(0, 0)) == {backups[0].id}


def test_prune_deletes_sets_whole_and_spares_fresh_incomplete_ones(tmp_path: Path) -> None:
    with FilesystemArtifactStore(tmp_path / "b") as location:
        ids = []
        for days in range(4):
            manifest = _manifest(START - timedelta(days=days))
            location.upload(part_key(manifest.id, "database.sqlite3.gz"), b"x")
            location.upload(manifest_key(manifest.id), manifest.to_bytes())
            ids.append(manifest.id)
        running = new_backup_id(START)
        location.upload(part_key(running, "database.sqlite3.gz"), b"half")
        deleted = prune_backups(location, RetentionPolicy(2, 0), now=START)
        assert sorted(deleted) == sorted(ids[2:])
        left = {b.id: b.problem for b in stored_backups(location)}
        assert left == {ids[0]: None, ids[1]: None, running: "incomplete"}
        # a day later the leftover of a failed run goes too
        later = prune_backups(
            location, RetentionPolicy(2, 0), now=datetime.now(UTC) + timedelta(days=2)
        )
        assert later == [running]
        assert not (tmp_path / "b" / ids[3]).exists()
