"""Artifacts: the files runs produce (videos, images, meshes, archives), stored by an
:class:`ArtifactStore` and recorded in the event store.

    store = open_artifact_store(Settings())            # filesystem or S3, from VIGIL_ARTIFACTS_*
    key = artifact_key(run.id, new_id(), "render.mp4")  # runs/<run>/<artifact>/render.mp4
    stored = store.upload_file("render.mp4", key, content_type="video/mp4")
    url = store.presigned_get(key, 300)                  # None on the filesystem

Guide: docs/artifacts.md.
"""

from vigil.artifacts._factory import open_artifact_store
from vigil.artifacts._filesystem import FilesystemArtifactStore
from vigil.artifacts._interface import (
    ArtifactStore,
    ObjectInfo,
    ObjectPage,
    ObjectReader,
    ObjectWriter,
    PresignedUpload,
    StoredObject,
)
from vigil.artifacts._keys import artifact_key, parse_artifact_key, sanitize_file_name
from vigil.artifacts._s3 import S3ArtifactStore, S3Client
from vigil.artifacts._sweep import SweepReport, sweep_orphans
from vigil.artifacts.errors import (
    AccessDenied,
    ArtifactStoreError,
    ArtifactStoreUnavailable,
    BucketNotFound,
    ChecksumMismatch,
    ObjectNotFound,
    ObjectTooLarge,
)

__all__ = [
    "AccessDenied",
    "ArtifactStore",
    "ArtifactStoreError",
    "ArtifactStoreUnavailable",
    "BucketNotFound",
    "ChecksumMismatch",
    "FilesystemArtifactStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectPage",
    "ObjectReader",
    "ObjectTooLarge",
    "ObjectWriter",
    "PresignedUpload",
    "S3ArtifactStore",
    "S3Client",
    "StoredObject",
    "SweepReport",
    "artifact_key",
    "open_artifact_store",
    "parse_artifact_key",
    "sanitize_file_name",
    "sweep_orphans",
]
