"""The two pairings every drill runs on: SQLite with the filesystem artifact store and a
folder of backups, and PostgreSQL with artifacts and backups in two buckets of a real S3
(SeaweedFS, started once per session)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.artifacts.s3_server import S3Server
from tests.pg_server import PostgresServer
from vigil.artifacts import (
    ArtifactStore,
    ArtifactStoreError,
    FilesystemArtifactStore,
    S3ArtifactStore,
)

_numbers = itertools.count(1)


@dataclass
class Deployment:
    """A controller's stores and its backup location, and how to wipe them."""

    name: str
    database_url: str
    artifacts: ArtifactStore
    location: ArtifactStore
    settings: dict[str, Any]
    """Controller settings that name these stores (besides the database URL)."""
    wipe_database_hook: Any

    def wipe_database(self) -> None:
        self.wipe_database_hook()

    def wipe_artifacts(self) -> None:
        _empty(self.artifacts)


def _ready(store: S3ArtifactStore) -> None:
    """The bucket, created once per session and able to take writes: SeaweedFS answers 500
    to the first writes into a new bucket while it grows a volume for it (as the stack's
    start-up waits for, vigil.stack._seaweedfs)."""
    if store.bucket in _ready_buckets:
        return
    store.create_bucket()
    deadline = time.monotonic() + 30
    while True:
        try:
            store.upload("drill-ready", b"ready")
            store.delete("drill-ready")
        except ArtifactStoreError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
            continue
        _ready_buckets.add(store.bucket)
        return


_ready_buckets: set[str] = set()


def _empty(store: ArtifactStore) -> None:
    while page := store.list_objects("").items:
        for item in page:
            store.delete(item.key)


@pytest.fixture(
    params=["sqlite+filesystem", pytest.param("postgresql+s3", marks=pytest.mark.postgres)]
)
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    if request.param == "sqlite+filesystem":
        database = tmp_path / "data" / "vigil.db"

        def wipe_sqlite() -> None:
            for suffix in ("", "-wal", "-shm"):
                database.with_name(database.name + suffix).unlink(missing_ok=True)

        with (
            FilesystemArtifactStore(tmp_path / "artifacts") as artifacts,
            FilesystemArtifactStore(tmp_path / "backups") as location,
        ):
            yield Deployment(
                request.param,
                f"sqlite:///{database}",
                artifacts,
                location,
                {"artifacts_dir": tmp_path / "artifacts", "backup_dir": tmp_path / "backups"},
                wipe_sqlite,
            )
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    s3: S3Server = request.getfixturevalue("s3_server")
    number = next(_numbers)
    name = f"vigil_backup_{number}"
    url = server.create_database(name)

    def wipe_postgres() -> None:
        server.drop_database(name)
        server.create_database(name)

    artifacts_bucket, backups_bucket = "drill-artifacts", "drill-backups"
    with (
        s3.store(bucket=artifacts_bucket) as artifacts,
        s3.store(bucket=backups_bucket) as location,
    ):
        assert isinstance(artifacts, S3ArtifactStore)
        assert isinstance(location, S3ArtifactStore)
        for store in (artifacts, location):
            _ready(store)
            _empty(store)
        try:
            yield Deployment(
                request.param,
                url,
                artifacts,
                location,
                {
                    **s3.settings(),
                    "artifacts_s3_bucket": artifacts_bucket,
                    "artifacts_proxy_downloads": True,
                    "backup_backend": "s3",
                    "backup_s3_bucket": backups_bucket,
                },
                wipe_postgres,
            )
        finally:
            _empty(artifacts)
            _empty(location)
            server.drop_database(name)
