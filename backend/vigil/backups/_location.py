"""Where backups go: an artifact store of their own (a local folder by default, or a bucket).

The location is an :class:`~vigil.artifacts.ArtifactStore` like the one artifacts live in, so
a backup streams into it the same way (multipart to S3, a temporary file renamed on the
filesystem) and the same code serves both. The S3 location reuses the artifact store's
endpoint, region and credentials unless ``VIGIL_BACKUP_S3_ENDPOINT_URL`` names another
endpoint; keeping backups on another system than the data is the operator's choice to make.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vigil.artifacts import ArtifactStore, FilesystemArtifactStore, ObjectNotFound
from vigil.artifacts._factory import s3_store
from vigil.backups._manifest import (
    MANIFEST_NAME,
    BackupManifest,
    is_backup_id,
    manifest_key,
)
from vigil.backups.errors import BackupCorrupt, BackupNotFound
from vigil.settings import Settings

MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def open_backup_location(settings: Settings) -> ArtifactStore:
    """The backup location ``VIGIL_BACKUP_BACKEND`` names, configured from ``settings``."""
    if settings.backup_backend == "filesystem":
        return FilesystemArtifactStore(settings.backup_path)
    return s3_store(
        settings,
        settings.backup_s3_bucket,
        endpoint_url=settings.backup_s3_endpoint_url or settings.artifacts_s3_endpoint_url,
    )


@dataclass(frozen=True)
class StoredBackup:
    """One set in the location: its manifest, or why there is none to trust."""

    id: str
    manifest: BackupManifest | None
    problem: str | None
    """``incomplete`` (no manifest: failed, or still running) or what is wrong with it."""
    last_modified: datetime


def set_uri(location: ArtifactStore, backup_id: str) -> str:
    """The URI of a set (its folder or key prefix), for logs and answers."""
    return location.uri(manifest_key(backup_id)).removesuffix(MANIFEST_NAME)


def read_manifest(location: ArtifactStore, backup_id: str) -> BackupManifest:
    """The checked manifest of a complete set (``BackupNotFound``, ``BackupCorrupt``)."""
    if not is_backup_id(backup_id):
        raise BackupNotFound(f"not a backup id: {backup_id!r}")
    try:
        with location.open(manifest_key(backup_id)) as reader:
            if reader.info.size_bytes > MAX_MANIFEST_BYTES:
                raise BackupCorrupt(f"backup {backup_id}: the manifest is too large")
            data = b"".join(reader)
    except ObjectNotFound:
        raise BackupNotFound(
            f"no complete backup {backup_id} in {set_uri(location, backup_id)}"
        ) from None
    return BackupManifest.from_bytes(data, backup_id)


def stored_backups(location: ArtifactStore) -> list[StoredBackup]:
    """Every set in the location, newest first (ids sort by time)."""
    keys: dict[str, list[str]] = {}
    modified: dict[str, datetime] = {}
    for item in location.iter_objects():
        backup_id, _, name = item.key.partition("/")
        if not is_backup_id(backup_id) or not name:
            continue
        keys.setdefault(backup_id, []).append(name)
        modified[backup_id] = max(modified.get(backup_id, item.last_modified), item.last_modified)
    found = []
    for backup_id in sorted(keys, reverse=True):
        if MANIFEST_NAME not in keys[backup_id]:
            found.append(StoredBackup(backup_id, None, "incomplete", modified[backup_id]))
            continue
        try:
            manifest = read_manifest(location, backup_id)
        except (BackupCorrupt, BackupNotFound) as exc:
            found.append(StoredBackup(backup_id, None, str(exc), modified[backup_id]))
            continue
        found.append(StoredBackup(backup_id, manifest, None, modified[backup_id]))
    return found


def delete_backup(location: ArtifactStore, backup_id: str) -> int:
    """Remove every object of a set, the manifest first (so a half-deleted set is never
    taken for a complete one); returns how many objects."""
    if not is_backup_id(backup_id):
        raise BackupNotFound(f"not a backup id: {backup_id!r}")
    keys = location.list_files(f"{backup_id}/")
    keys.sort(key=lambda key: key != manifest_key(backup_id))
    for key in keys:
        location.delete(key)
    return len(keys)
