"""The artifact store as one streamed tar.gz, and back.

``backup_s3_files`` walks the store's listing a page at a time and pipes each object from
its reader through ``tarfile`` (stream mode) and ``gzip`` into the backup location's writer:
at any moment one chunk of one object is in memory, and nothing is written to local disk (an
S3 location sends multipart parts as they fill). Each member is named by its object key and
carries the object's content type in a PAX header, so a restore gives back the same keys with
the same types.

Objects are immutable (one key per artifact), so the size the reader reports when it opens
is the size of the bytes it yields; an object deleted between the listing and the read (the
orphan sweep) is left out.

gzip level 1: artifacts are mostly compressed media already (video, images, archives), where
higher levels cost several times the CPU for a few percent.
"""

from __future__ import annotations

import gzip
import logging
import tarfile
from dataclasses import dataclass
from typing import Final

from vigil.artifacts import ArtifactStore, ObjectNotFound, ObjectWriter
from vigil.artifacts._keys import is_safe_key
from vigil.backups._streams import ChunkFile, WriterFile
from vigil.backups.errors import BackupCorrupt

logger = logging.getLogger("vigil.backups")

COMPRESS_LEVEL: Final = 1
CONTENT_TYPE_HEADER: Final = "VIGIL.content_type"
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"


@dataclass(frozen=True)
class ArchiveStats:
    """How many objects an archive holds, and their bytes before compression."""

    objects: int
    object_bytes: int


def backup_s3_files(
    store: ArtifactStore, writer: ObjectWriter, *, prefix: str = ""
) -> ArchiveStats:
    """Stream every object of ``store`` under ``prefix`` into ``writer`` as a tar.gz; the
    caller commits. Works on any artifact store (an S3 bucket or the filesystem folder)."""
    objects = object_bytes = 0
    with (
        gzip.GzipFile(
            fileobj=WriterFile(writer), mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0
        ) as compressed,
        tarfile.open(fileobj=compressed, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        for listed in store.iter_objects(prefix):
            try:
                reader = store.open(listed.key)
            except ObjectNotFound:
                logger.info("artifact %s deleted during the backup: left out", listed.key)
                continue
            with reader:
                info = reader.info
                member = tarfile.TarInfo(listed.key)
                member.size = info.size_bytes
                member.mtime = int(info.last_modified.timestamp())
                member.mode = 0o600
                content_type = info.content_type or listed.content_type
                if content_type:
                    member.pax_headers = {CONTENT_TYPE_HEADER: content_type}
                tar.addfile(member, ChunkFile(reader))
            objects += 1
            object_bytes += info.size_bytes
    return ArchiveStats(objects, object_bytes)


def restore_s3_files(source: ChunkFile, store: ArtifactStore) -> ArchiveStats:
    """Put every member of the tar.gz read from ``source`` into ``store`` under its key.

    A member that is not a regular file under a safe key is refused (``BackupCorrupt``):
    nothing in an archive chooses a path outside the store's key space."""
    objects = object_bytes = 0
    with (
        gzip.GzipFile(fileobj=source, mode="rb") as compressed,
        tarfile.open(fileobj=compressed, mode="r|") as tar,
    ):
        for member in tar:
            if not member.isfile() or not is_safe_key(member.name):
                raise BackupCorrupt(
                    f"the artifacts archive holds an unexpected entry {member.name!r}"
                )
            data = tar.extractfile(member)
            assert data is not None  # noqa: S101 - a regular file has data
            content_type = member.pax_headers.get(CONTENT_TYPE_HEADER, DEFAULT_CONTENT_TYPE)
            stored = store.upload(member.name, data, content_type=content_type)
            objects += 1
            object_bytes += stored.size_bytes
        source.drain()
    return ArchiveStats(objects, object_bytes)
