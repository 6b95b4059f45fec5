"""The restore drill, on both pairings (SQLite + filesystem, PostgreSQL + SeaweedFS S3).

Fill runs, steps, logs, spans, measurements, workflows, alerts and artifacts through the
controller's API; back up; wipe the database and the artifact store; restore into them;
check the row counts, every artifact's sha256, and that a controller started on the restored
stores serves the runs and the files. Also: a backup from before the newest migration
restores into the current schema, and a backup with one flipped byte is refused by verify
and by restore with a clear error while nothing is overwritten.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.backups.conftest import Deployment
from tests.storage.test_migrations import HEAD_REVISION
from vigil.artifacts import ArtifactStore
from vigil.auth import new_token
from vigil.backups import (
    BackupCorrupt,
    BackupError,
    BackupManifest,
    create_backup,
    restore_backup,
    verify_backup,
)
from vigil.backups._database import row_counts
from vigil.backups._manifest import manifest_key, part_key
from vigil.controller import create_app
from vigil.models import RunCreate, StepCreate, StepType
from vigil.secret_files import write_new_secret
from vigil.settings import Settings
from vigil.storage import current_revision, open_store, upgrade

WEBHOOK_TOKEN = "drill-webhook-token"
BEFORE_HEAD = "0004_spans_by_run"
HEAD = HEAD_REVISION
KiB = 1024


@dataclass
class Filled:
    runs: dict[str, int] = field(default_factory=dict)
    """run id -> steps"""
    artifacts: dict[str, bytes] = field(default_factory=dict)
    """artifact id -> content"""
    trace_id: str = "4bf92f3577b34da6a3ce929d0e0e4736"
    workflow_id: str = ""


@contextmanager
def controller(deployment: Deployment, data_dir: Path) -> Iterator[TestClient]:
    admin = data_dir / "admin.key"
    if not admin.exists():
        write_new_secret(admin, new_token()[0])
    settings = Settings(
        database_url=deployment.database_url,
        data_dir=data_dir,
        alert_webhook_token=WEBHOOK_TOKEN,
        **deployment.settings,
    )
    headers = {"Authorization": f"Bearer {admin.read_text().strip()}"}
    with TestClient(create_app(settings), headers=headers, raise_server_exceptions=False) as api:
        yield api


def fill(api: TestClient) -> Filled:
    filled = Filled()
    for n in range(3):
        run = api.post("/runs", json={"name": f"drill-{n}", "agent": "drill", "project_id": "p1"})
        assert run.status_code == 201, run.text
        run_id = run.json()["id"]
        for size in (1, 64 * KiB + n):
            data = os.urandom(size)
            created = api.post(
                f"/runs/{run_id}/artifacts",
                files={"file": (f"out-{size}.bin", data, "image/png")},
                data={"kind": "image", "sha256": hashlib.sha256(data).hexdigest()},
            )
            assert created.status_code == 201, created.text
            filled.artifacts[created.json()["id"]] = data
        steps = [{"step_type": "thought", "name": f"s{i}", "data": {"i": i}} for i in range(4)]
        steps[0]["artifact_ids"] = list(filled.artifacts)[-2:]
        assert api.post(f"/runs/{run_id}/steps", json={"steps": steps}).status_code == 201
        filled.runs[run_id] = 4
    run_id = next(iter(filled.runs))
    events = [
        {"event": "log", "level": "info", "logger": "agent", "service": "agent",
         "message": "hello", "run_id": run_id},
        {"event": "measurement", "name": "tokens", "value": 12.0, "kind": "counter"},
        {"event": "span", "trace_id": filled.trace_id, "span_id": "00f067aa0ba902b7",
         "name": "plan", "service": "agent", "run_id": run_id,
         "start_time": "2026-12-01T08:00:00Z", "end_time": "2026-12-01T08:00:01Z"},
    ]  # fmt: skip
    assert api.post("/events/batch", json={"events": events}).status_code == 202
    workflow = api.post(
        "/workflows", json={"correlation_id": "o-1", "workflow_type": "refund", "phase": "intake"}
    ).json()
    filled.workflow_id = workflow["id"]
    moved = api.post(f"/workflows/{workflow['id']}/transitions", json={"status": "running"})
    assert moved.status_code == 200
    alert = {
        "status": "firing",
        "labels": {"alertname": "HighErrorRate", "severity": "critical"},
        "annotations": {"summary": "5xx"},
        "startsAt": "2026-12-01T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "c0ffee1234567890",
    }
    webhook = api.post(
        "/alerts/webhook",
        json={"version": "4", "groupKey": "g", "status": "firing", "receiver": "vigil",
              "alerts": [alert]},
        headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
    )  # fmt: skip
    assert webhook.status_code == 200, webhook.text
    return filled


def objects(store: ArtifactStore) -> dict[str, str]:
    """key -> sha256 of every object, read back in full."""
    found = {}
    for item in store.list_objects("").items:
        with store.open(item.key) as reader:
            found[item.key] = hashlib.sha256(b"".join(reader)).hexdigest()
    return found


def backup(deployment: Deployment) -> BackupManifest:
    return create_backup(deployment.database_url, deployment.artifacts, deployment.location)


def test_the_drill_backs_up_wipes_restores_and_serves(
    deployment: Deployment, tmp_path: Path
) -> None:
    """Everything written before the backup is there after a wipe and a restore: the same
    rows per table, every artifact with its recorded sha256, served by a new controller."""
    with controller(deployment, tmp_path / "c1") as api:
        filled = fill(api)
    before = objects(deployment.artifacts)
    assert len(before) == len(filled.artifacts) == 6
    rows_before = row_counts(deployment.database_url)
    manifest = backup(deployment)
    counts = manifest.row_counts
    assert counts == rows_before
    for table in ("runs", "steps", "logs", "spans", "measurements", "workflows",
                  "workflow_transitions", "alerts", "artifacts", "step_artifacts"):  # fmt: skip
        assert counts[table] > 0, table
    assert (counts["runs"], counts["steps"], counts["artifacts"]) == (3, 12, 6)
    assert manifest.schema_revision == HEAD
    assert manifest.artifacts_part is not None
    assert manifest.artifacts_part.objects == 6
    assert verify_backup(deployment.location, manifest.id) == manifest

    deployment.wipe_database()
    deployment.wipe_artifacts()
    assert objects(deployment.artifacts) == {}

    report = restore_backup(
        deployment.location, manifest.id, deployment.database_url, deployment.artifacts
    )
    assert report.row_counts == counts
    assert row_counts(deployment.database_url) == rows_before  # counted anew, not reported
    assert report.objects == 6
    assert objects(deployment.artifacts) == before

    with controller(deployment, tmp_path / "c2") as api:
        for run_id, steps in filled.runs.items():
            run = api.get(f"/runs/{run_id}")
            assert run.status_code == 200, run.text
            assert run.json()["step_count"] == steps
            listed = api.get(f"/runs/{run_id}/steps").json()["items"]
            assert [s["name"] for s in listed] == ["s0", "s1", "s2", "s3"]
            assert len(listed[0]["artifacts"]) == 2
        for artifact_id, data in filled.artifacts.items():
            record = api.get(f"/artifacts/{artifact_id}").json()
            assert record["sha256"] == hashlib.sha256(data).hexdigest()
            content = api.get(f"/artifacts/{artifact_id}/content")
            assert content.status_code == 200, content.text
            assert content.content == data
        assert api.get(f"/traces/{filled.trace_id}").status_code == 200
        assert api.get(f"/workflows/{filled.workflow_id}").json()["status"] == "running"
        assert [a["alertname"] for a in api.get("/alerts").json()["items"]] == ["HighErrorRate"]


def test_a_backup_from_before_a_migration_restores_into_the_current_schema(
    deployment: Deployment, tmp_path: Path
) -> None:
    """A backup at the revision before the head restores, and is upgraded to the head."""
    upgrade(deployment.database_url, BEFORE_HEAD)
    with open_store(deployment.database_url) as store:
        run = store.create_run(RunCreate(name="old", agent="drill", project_id="p1"))
        store.append_steps(run.id, [StepCreate(step_type=StepType.THOUGHT, name="then")])
    deployment.artifacts.upload(f"runs/{run.id}/{run.id}/old.bin", b"from before")
    manifest = backup(deployment)
    assert manifest.schema_revision == BEFORE_HEAD

    deployment.wipe_database()
    deployment.wipe_artifacts()
    upgrade(deployment.database_url)  # what a new controller does first: an empty head schema
    report = restore_backup(
        deployment.location, manifest.id, deployment.database_url, deployment.artifacts
    )
    assert report.schema_revision == HEAD == current_revision(deployment.database_url)
    assert report.row_counts["runs"] == 1
    with controller(deployment, tmp_path / "c") as api:
        assert api.get(f"/runs/{run.id}").json()["step_count"] == 1
        assert [s["name"] for s in api.get(f"/runs/{run.id}/steps").json()["items"]] == ["then"]


def _flip_one_byte(location: ArtifactStore, key: str) -> None:
    with location.open(key) as reader:
        data = bytearray(b"".join(reader))
    data[len(data) // 2] ^= 0x01
    location.upload(key, bytes(data))


@pytest.mark.parametrize("target", ["database", "artifacts", "manifest"])
def test_one_flipped_byte_is_refused_and_nothing_is_overwritten(
    deployment: Deployment, tmp_path: Path, target: str
) -> None:
    """verify and restore both refuse a set with one byte changed, saying what is wrong; the
    database and the artifacts keep what they had (here: a run made after the backup)."""
    with controller(deployment, tmp_path / "c") as api:
        fill(api)
    manifest = backup(deployment)
    with open_store(deployment.database_url) as store:
        later = store.create_run(RunCreate(name="after", agent="drill", project_id="p1"))
    deployment.artifacts.upload(f"runs/{later.id}/{later.id}/after.bin", b"after the backup")
    artifacts_before = objects(deployment.artifacts)

    part = {
        "database": manifest.database_part.name,
        "artifacts": "artifacts.tar.gz",
        "manifest": None,
    }[target]
    key = part_key(manifest.id, part) if part else manifest_key(manifest.id)
    _flip_one_byte(deployment.location, key)
    expected = f"the part {part} does not match the manifest" if part else "manifest"

    with pytest.raises(BackupCorrupt, match=expected):
        verify_backup(deployment.location, manifest.id)
    with pytest.raises(BackupCorrupt, match=expected):
        restore_backup(
            deployment.location, manifest.id, deployment.database_url, deployment.artifacts
        )
    with open_store(deployment.database_url) as store:
        assert store.get_run(later.id).name == "after"
    assert objects(deployment.artifacts) == artifacts_before


def test_a_restore_whose_rows_do_not_add_up_changes_nothing(
    deployment: Deployment, tmp_path: Path
) -> None:
    """A sound set whose manifest counts one step more than its dump holds (re-signed, so
    only the count check can tell): the restore fails naming the table, and the database is
    as it was (PostgreSQL: the check runs inside the restore's transaction, which rolls back;
    SQLite: the copy is counted before anything is copied in)."""
    with controller(deployment, tmp_path / "c") as api:
        fill(api)
    manifest = backup(deployment)
    counts = {**manifest.row_counts, "steps": manifest.row_counts["steps"] + 1}
    deployment.location.upload(
        manifest_key(manifest.id), manifest.model_copy(update={"row_counts": counts}).to_bytes()
    )
    with open_store(deployment.database_url) as store:
        later = store.create_run(RunCreate(name="after", agent="drill", project_id="p1"))
    rows_before = row_counts(deployment.database_url)
    with pytest.raises(BackupError, match="steps"):
        restore_backup(
            deployment.location, manifest.id, deployment.database_url, deployment.artifacts
        )
    assert row_counts(deployment.database_url) == rows_before
    with open_store(deployment.database_url) as store:
        assert store.get_run(later.id).name == "after"
