"""The public surface of ``vigil.backups`` is a decision: this test pins it."""

import vigil.backups


def test_exported_names() -> None:
    assert sorted(vigil.backups.__all__) == [
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
    for name in vigil.backups.__all__:
        assert getattr(vigil.backups, name) is not None


def test_every_backup_error_is_a_backup_error() -> None:
    errors = vigil.backups.errors
    for kind in (
        errors.BackupNotFound,
        errors.BackupCorrupt,
        errors.BackupInProgress,
        errors.DatabaseToolMissing,
        errors.DatabaseToolFailed,
    ):
        assert issubclass(kind, errors.BackupError)
