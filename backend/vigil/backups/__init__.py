"""Backups you can restore: the event store and the artifacts, as one set with a manifest.

    location = open_backup_location(settings)       # a folder, or the bucket vigil-backups
    manifest = create_backup(settings.database_url, artifacts, location)
    verify_backup(location, manifest.id)             # BackupCorrupt if a byte changed
    restore_backup(location, manifest.id, settings.database_url, artifacts)

The parts: ``backup_postgres`` (``pg_dump --format=custom``, the client of the server's
major version) or ``backup_sqlite`` (the online backup API), and ``backup_s3_files`` (the
artifact store as a streamed tar.gz). ``vigil backup create|list|verify|restore`` and the
controller's ``/ops/backup`` endpoints are built on these. Guide: docs/runbook.md#backups.
"""

from vigil.backups._archive import ArchiveStats, backup_s3_files, restore_s3_files
from vigil.backups._create import create_backup
from vigil.backups._dump import DatabaseDump
from vigil.backups._location import (
    StoredBackup,
    delete_backup,
    open_backup_location,
    read_manifest,
    stored_backups,
)
from vigil.backups._manifest import BackupManifest, BackupPart, is_backup_id, new_backup_id
from vigil.backups._pg_client import find_pg_tools
from vigil.backups._postgres import backup_postgres, restore_postgres
from vigil.backups._restore import RestoreReport, restore_backup
from vigil.backups._retention import RetentionPolicy, backups_to_keep, prune_backups
from vigil.backups._sqlite import backup_sqlite, restore_sqlite
from vigil.backups._verify import verify_backup
from vigil.backups.errors import (
    BackupCorrupt,
    BackupError,
    BackupInProgress,
    BackupNotFound,
    DatabaseToolFailed,
    DatabaseToolMissing,
)

__all__ = [
    "ArchiveStats",
    "BackupCorrupt",
    "BackupError",
    "BackupInProgress",
    "BackupManifest",
    "BackupNotFound",
    "BackupPart",
    "DatabaseDump",
    "DatabaseToolFailed",
    "DatabaseToolMissing",
    "RestoreReport",
    "RetentionPolicy",
    "StoredBackup",
    "backup_postgres",
    "backup_s3_files",
    "backup_sqlite",
    "backups_to_keep",
    "create_backup",
    "delete_backup",
    "find_pg_tools",
    "is_backup_id",
    "new_backup_id",
    "open_backup_location",
    "prune_backups",
    "read_manifest",
    "restore_backup",
    "restore_postgres",
    "restore_s3_files",
    "restore_sqlite",
    "stored_backups",
    "verify_backup",
]
