"""Restoring a set into the event store and the artifact store the settings name.

Everything is checked before anything is touched: the manifest's checksum, the database part
(downloaded into a temporary file, its sha256 and size compared, decompressed and
integrity-checked for SQLite) and the artifacts part (read through once, its sha256
compared). A corrupt set raises ``BackupCorrupt`` with the database and the artifacts as
they were. Then the database is replaced in one transaction that commits only if every table
has the manifest's row count (SQLite: the copy is counted and integrity-checked before the
backup API copies it in), the artifacts are written back under their keys (read again,
checked again), and the schema is upgraded to this version's head: a backup taken before a
migration restores into the current schema.

Objects in the artifact store that the backup does not hold are left alone (``vigil
artifacts sweep`` removes those no record names).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vigil.artifacts import ArtifactStore
from vigil.backups._archive import restore_s3_files
from vigil.backups._database import engine_of, restore_database
from vigil.backups._location import read_manifest, set_uri
from vigil.backups._manifest import BackupManifest, part_key
from vigil.backups._sqlite import GunzipToFile
from vigil.backups._streams import ChunkFile
from vigil.backups._verify import check_part
from vigil.backups.errors import BackupCorrupt, BackupError
from vigil.storage import current_revision, upgrade

logger = logging.getLogger("vigil.backups")


@dataclass(frozen=True)
class RestoreReport:
    """What a restore did."""

    manifest: BackupManifest
    row_counts: dict[str, int]
    """Rows per table as restored (before the upgrade): the manifest's, checked before the
    database was changed (PostgreSQL: inside the restore's transaction)."""
    objects: int
    schema_revision: str | None
    """The revision after the upgrade."""


def restore_backup(
    location: ArtifactStore,
    backup_id: str,
    database_url: str,
    artifacts: ArtifactStore,
    *,
    pg_bin_dir: Path | None = None,
    work_dir: Path | None = None,
    upgrade_schema: bool = True,
) -> RestoreReport:
    """Restore set ``backup_id`` of ``location`` into ``database_url`` and ``artifacts``."""
    manifest = read_manifest(location, backup_id)
    engine = engine_of(database_url)
    if manifest.database_backend != engine:
        raise BackupError(
            f"backup {backup_id} holds a {manifest.database_backend} database; "
            f"VIGIL_DATABASE_URL is {engine}"
        )
    database = manifest.database_part
    archive = manifest.artifacts_part
    with tempfile.TemporaryDirectory(prefix="vigil-restore-", dir=work_dir) as work:
        copy = Path(work) / "database"
        if engine == "sqlite":
            gunzip = GunzipToFile(copy)
            try:
                check_part(location, backup_id, database, gunzip.write)
            except BaseException:
                gunzip.close()
                raise
            gunzip.finish()
        else:
            with copy.open("wb") as out:
                check_part(location, backup_id, database, out.write)
        if archive is not None:
            check_part(location, backup_id, archive)
        # Every part is sound: from here on the stores change (the database only if its
        # tables end up with the manifest's row counts).
        restore_database(
            database_url, copy, pg_bin_dir=pg_bin_dir, expected_rows=manifest.row_counts
        )
    objects = 0
    if archive is not None:
        with location.open(part_key(backup_id, archive.name)) as reader:
            source = ChunkFile(reader)
            objects = restore_s3_files(source, artifacts).objects
        if source.digest.sha256 != archive.sha256:
            raise BackupCorrupt(
                f"backup {backup_id}: the artifacts part changed while it was restored"
            )
    revision = manifest.schema_revision
    if upgrade_schema:
        upgrade(database_url)
        revision = current_revision(database_url)
    logger.info(
        "Backup restored: %s",
        set_uri(location, backup_id),
        extra={
            "backup_id": backup_id,
            "objects": objects,
            "schema_revision_before": manifest.schema_revision,
            "schema_revision": revision,
        },
    )
    return RestoreReport(manifest, dict(manifest.row_counts), objects, revision)
