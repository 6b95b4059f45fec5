"""Checking a set against its manifest: the manifest's own checksum, then each part's size
and sha256, read back in full from the location. Nothing is written anywhere."""

from __future__ import annotations

from collections.abc import Callable

from vigil.artifacts import ArtifactStore, ObjectNotFound
from vigil.artifacts._digest import StreamDigest
from vigil.backups._location import read_manifest
from vigil.backups._manifest import BackupManifest, BackupPart, part_key
from vigil.backups.errors import BackupCorrupt


def check_part(
    location: ArtifactStore,
    backup_id: str,
    part: BackupPart,
    consume: Callable[[bytes], object] | None = None,
) -> None:
    """Read one part to its end (each chunk also to ``consume``), ``BackupCorrupt`` unless
    its size and sha256 are the manifest's."""
    digest = StreamDigest()
    try:
        with location.open(part_key(backup_id, part.name)) as reader:
            for chunk in reader:
                digest.update(chunk)
                if consume is not None:
                    consume(chunk)
    except ObjectNotFound:
        raise BackupCorrupt(f"backup {backup_id}: the part {part.name} is missing") from None
    if digest.size_bytes != part.size_bytes or digest.sha256 != part.sha256:
        raise BackupCorrupt(
            f"backup {backup_id}: the part {part.name} does not match the manifest "
            f"({digest.size_bytes} bytes, sha256 {digest.sha256}; recorded {part.size_bytes} "
            f"bytes, sha256 {part.sha256})"
        )


def verify_backup(location: ArtifactStore, backup_id: str) -> BackupManifest:
    """The manifest of a sound set; ``BackupNotFound`` or ``BackupCorrupt`` (saying which
    part and how) otherwise."""
    manifest = read_manifest(location, backup_id)
    for part in manifest.parts:
        check_part(location, backup_id, part)
    return manifest
