"""Taking a backup: the database part, the artifacts part, then the manifest.

Parts are written under ``<id>/`` and measured as they stream (size and sha256, by the
location's writer); the manifest goes last, so a set is complete exactly when it has one. A
failure removes what this backup had already stored and raises.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import vigil
from vigil.artifacts import ArtifactStore, ArtifactStoreError, StoredObject
from vigil.backups._archive import backup_s3_files
from vigil.backups._database import (
    CONTENT_TYPES,
    PART_FORMATS,
    PART_NAMES,
    dump_database,
    engine_of,
)
from vigil.backups._location import delete_backup, set_uri
from vigil.backups._manifest import (
    BackupManifest,
    BackupPart,
    manifest_key,
    new_backup_id,
    part_key,
)
from vigil.backups.errors import BackupError

logger = logging.getLogger("vigil.backups")

ARTIFACTS_PART = "artifacts.tar.gz"


def create_backup(
    database_url: str,
    artifacts: ArtifactStore,
    location: ArtifactStore,
    *,
    backup_id: str | None = None,
    pg_bin_dir: Path | None = None,
    work_dir: Path | None = None,
) -> BackupManifest:
    """Back up the event store at ``database_url`` and every object of ``artifacts`` into
    ``location``; returns the manifest written. Logs ``Backup successful: <location>``."""
    backup_id = backup_id or new_backup_id()
    created_at = datetime.now(UTC)
    started = time.monotonic()
    engine = engine_of(database_url)
    try:
        name = PART_NAMES[engine]
        with location.writer(part_key(backup_id, name), content_type=CONTENT_TYPES[engine]) as w:
            dump = dump_database(database_url, w, pg_bin_dir=pg_bin_dir, work_dir=work_dir)
            database = _part(w.commit(), name, engine, PART_FORMATS[engine])
        with location.writer(
            part_key(backup_id, ARTIFACTS_PART), content_type="application/gzip"
        ) as w:
            stats = backup_s3_files(artifacts, w)
            archive = _part(w.commit(), ARTIFACTS_PART, "artifacts", "tar+gzip").model_copy(
                update={"objects": stats.objects, "object_bytes": stats.object_bytes}
            )
        manifest = BackupManifest(
            id=backup_id,
            created_at=created_at,
            completed_at=datetime.now(UTC),
            duration_s=round(time.monotonic() - started, 3),
            vigil_version=vigil.__version__,
            schema_revision=dump.schema_revision,
            database_backend=engine,
            database_server_version=dump.server_version,
            artifacts_backend=artifacts.backend,
            location=location.uri(manifest_key(backup_id)),
            parts=[database, archive],
            row_counts=dump.row_counts,
        )
        location.upload(
            manifest_key(backup_id), manifest.to_bytes(), content_type="application/json"
        )
    except BaseException as exc:
        with contextlib.suppress(ArtifactStoreError, OSError):
            delete_backup(location, backup_id)
        logger.error(
            "Backup failed: %s",
            exc,
            extra={"backup_id": backup_id, "location": set_uri(location, backup_id)},
        )
        if isinstance(exc, Exception):  # pg_dump, the database, the stores, the disk
            raise BackupError(f"backup {backup_id} failed: {exc}") from exc
        raise
    where = set_uri(location, backup_id)
    logger.info(
        "Backup successful: %s",
        where,
        extra={
            "backup_id": backup_id,
            "location": where,
            "duration_s": manifest.duration_s,
            "database_bytes": database.size_bytes,
            "artifacts_bytes": archive.size_bytes,
            "artifact_objects": stats.objects,
        },
    )
    return manifest


def _part(stored: StoredObject, name: str, kind: str, fmt: str) -> BackupPart:
    return BackupPart.model_validate(
        {
            "name": name,
            "kind": kind,
            "format": fmt,
            "size_bytes": stored.size_bytes,
            "sha256": stored.sha256,
        }
    )
