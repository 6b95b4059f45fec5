"""Artifact stores under test: each contract test runs on the filesystem and on a real S3
(SeaweedFS, started for the session unless VIGIL_TEST_S3_ENDPOINT_URL names one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.artifacts.s3_server import S3Server
from vigil.artifacts import ArtifactStore, FilesystemArtifactStore


@pytest.fixture(params=["filesystem", "s3"])
def artifact_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    store: ArtifactStore
    if request.param == "filesystem":
        store = FilesystemArtifactStore(tmp_path / "artifacts", max_presign_expiry_s=60)
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        store = server.store(max_presign_expiry_s=60)
    with store:
        yield store
