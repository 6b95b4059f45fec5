"""Orphans (bytes without a record) are swept, on both stores; recorded bytes, recent
uploads and keys not of the artifacts' form are left alone."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from vigil.artifacts import ArtifactStore, artifact_key, sweep_orphans
from vigil.cli import main
from vigil.models import ArtifactCreate, RunCreate
from vigil.storage import EventStore


def _record(store: EventStore, artifacts: ArtifactStore, run_id: uuid.UUID) -> str:
    artifact_id = uuid.uuid4()
    key = artifact_key(run_id, artifact_id, "kept.bin")
    stored = artifacts.upload(key, b"recorded")
    store.create_artifact(
        run_id,
        ArtifactCreate(
            uri=artifacts.uri(key),
            name="kept.bin",
            kind="k",
            content_type="application/octet-stream",
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
        ),
        artifact_id=artifact_id,
    )
    return key


def test_orphans_older_than_the_grace_are_deleted(
    artifact_store: ArtifactStore, store: EventStore
) -> None:
    run = store.create_run(RunCreate(name="r", agent="a", project_id="p"))
    kept = _record(store, artifact_store, run.id)
    orphan = artifact_key(run.id, uuid.uuid4(), "orphan.bin")
    artifact_store.upload(orphan, b"no record")
    foreign = f"runs/{run.id}/notes.txt"  # not an artifact's key: not ours to judge
    artifact_store.upload(foreign, b"someone else's")

    prefix = f"runs/{run.id}/"  # the S3 bucket is shared with other tests
    recent = sweep_orphans(artifact_store, store, older_than=timedelta(hours=1), prefix=prefix)
    assert recent.orphans == []
    dry = sweep_orphans(artifact_store, store, older_than=timedelta(0), dry_run=True, prefix=prefix)
    assert dry.orphans == [orphan]
    artifact_store.head(orphan)  # a dry run deletes nothing

    report = sweep_orphans(artifact_store, store, older_than=timedelta(0), prefix=prefix)
    assert report.orphans == [orphan]
    listed = [item.key for item in artifact_store.list_objects(prefix).items]
    assert sorted(listed) == sorted([kept, foreign])


def test_the_sweep_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vigil artifacts sweep` works from the controller's settings (filesystem store)."""
    data = tmp_path / "data"
    url = f"sqlite:///{tmp_path}/vigil.db"
    monkeypatch.setenv("VIGIL_DATABASE_URL", url)
    monkeypatch.setenv("VIGIL_DATA_DIR", str(data))
    assert main(["artifacts", "sweep", "--older-than", "1h"]) == 0
    orphan = data / "artifacts" / "runs" / str(uuid.uuid4()) / str(uuid.uuid4()) / "x.bin"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left behind")
    os.utime(orphan, (0, 0))
    capsys.readouterr()

    assert main(["artifacts", "sweep", "--dry-run"]) == 0
    assert "would delete file://" in capsys.readouterr().out
    assert orphan.exists()
    assert main(["artifacts", "sweep"]) == 0
    assert "1 orphaned objects deleted" in capsys.readouterr().out
    assert not orphan.exists()
