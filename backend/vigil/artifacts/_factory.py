"""The artifact store the settings name: the filesystem (default) or an S3 bucket."""

from __future__ import annotations

from vigil.artifacts._filesystem import FilesystemArtifactStore
from vigil.artifacts._interface import ArtifactStore
from vigil.artifacts._s3 import S3ArtifactStore
from vigil.secret_files import read_secret
from vigil.settings import Settings


def secret_access_key(settings: Settings) -> str | None:
    """The S3 secret from its file (preferred) or the variable; None: boto3 finds one."""
    if settings.artifacts_s3_secret_access_key_file is not None:
        secret = read_secret(settings.artifacts_s3_secret_access_key_file)
        if secret is None:
            raise ValueError(
                "VIGIL_ARTIFACTS_S3_SECRET_ACCESS_KEY_FILE names a missing or empty file: "
                f"{settings.artifacts_s3_secret_access_key_file}"
            )
        return secret
    if settings.artifacts_s3_secret_access_key is not None:
        return settings.artifacts_s3_secret_access_key.get_secret_value()
    return None


def open_artifact_store(settings: Settings) -> ArtifactStore:
    """The store ``VIGIL_ARTIFACTS_BACKEND`` names, configured from ``settings``."""
    if settings.artifacts_backend == "filesystem":
        return FilesystemArtifactStore(
            settings.artifacts_path, max_presign_expiry_s=settings.artifacts_presign_max_expiry_s
        )
    return s3_store(
        settings,
        settings.artifacts_s3_bucket,
        endpoint_url=settings.artifacts_s3_endpoint_url,
        public_endpoint_url=settings.artifacts_s3_public_endpoint_url,
    )


def s3_store(
    settings: Settings,
    bucket: str,
    *,
    endpoint_url: str | None,
    public_endpoint_url: str | None = None,
) -> S3ArtifactStore:
    """An S3 store of ``bucket`` with the artifacts' S3 credentials, timeouts, retries and
    presign bound (the artifact store's, and the backup location's)."""
    return S3ArtifactStore(
        bucket,
        endpoint_url=endpoint_url,
        public_endpoint_url=public_endpoint_url,
        region=settings.artifacts_s3_region,
        access_key_id=settings.artifacts_s3_access_key_id,
        secret_access_key=secret_access_key(settings),
        addressing_style=settings.artifacts_s3_addressing_style,
        connect_timeout_s=settings.artifacts_s3_connect_timeout_s,
        read_timeout_s=settings.artifacts_s3_read_timeout_s,
        max_attempts=settings.artifacts_s3_max_attempts,
        part_bytes=settings.artifacts_part_bytes,
        max_presign_expiry_s=settings.artifacts_presign_max_expiry_s,
    )
