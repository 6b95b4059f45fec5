"""The public surface of ``vigil.artifacts`` is a decision: this test pins it."""

import vigil.artifacts


def test_exported_names() -> None:
    assert sorted(vigil.artifacts.__all__) == [
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
    for name in vigil.artifacts.__all__:
        assert getattr(vigil.artifacts, name) is not None


def test_the_seeds_s3_client_names_exist() -> None:
    """The seed's S3Client (upload_file, download_file, list_files, get_presigned_url) is the
    boto3 store, under that name."""
    client = vigil.artifacts.S3Client
    assert client is vigil.artifacts.S3ArtifactStore
    for method in ("upload_file", "download_file", "list_files", "get_presigned_url"):
        assert callable(getattr(client, method))


def test_every_store_error_is_an_artifact_store_error() -> None:
    errors = vigil.artifacts.errors
    for kind in (errors.ObjectNotFound, errors.ChecksumMismatch, errors.ObjectTooLarge):
        assert issubclass(kind, errors.ArtifactStoreError)
    for kind in (errors.BucketNotFound, errors.AccessDenied):
        assert issubclass(kind, errors.ArtifactStoreUnavailable)
