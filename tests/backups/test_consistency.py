"""A backup taken while the store is being written is one consistent moment: on SQLite (the
online backup API) and on PostgreSQL (pg_dump in the snapshot the row counts were read in)."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.backups.conftest import Deployment
from vigil.backups import create_backup, restore_backup
from vigil.backups._database import row_counts
from vigil.models import RunCreate, StepCreate, StepType
from vigil.storage import open_store, upgrade


def test_a_backup_while_steps_are_written_is_consistent(
    deployment: Deployment, tmp_path: Path
) -> None:
    """A writer appends steps (each batch also bumps its run's step_count, in the same
    transaction) while two backups are taken. Each restores to row counts equal to its
    manifest's, and to a database where every run's step_count is its number of steps: no
    half-committed batch, on either engine."""
    upgrade(deployment.database_url)
    stop = threading.Event()
    with open_store(deployment.database_url) as store:
        run = store.create_run(RunCreate(name="busy", agent="drill", project_id="p1"))
        batch = [StepCreate(step_type=StepType.THOUGHT, name=f"s{i}") for i in range(50)]
        store.append_steps(run.id, batch)

        def write() -> None:
            while not stop.is_set():
                store.append_steps(run.id, batch)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            manifests = [
                create_backup(deployment.database_url, deployment.artifacts, deployment.location)
                for _ in range(2)
            ]
        finally:
            stop.set()
            writer.join(timeout=30)
        written = store.get_run(run.id).step_count
    assert 0 < manifests[0].row_counts["steps"] <= manifests[1].row_counts["steps"] <= written
    for manifest in manifests:
        assert manifest.row_counts["steps"] % 50 == 0
        report = restore_backup(
            deployment.location, manifest.id, deployment.database_url, deployment.artifacts
        )
        assert report.row_counts == manifest.row_counts == row_counts(deployment.database_url)
        with open_store(deployment.database_url) as store:
            assert store.get_run(run.id).step_count == manifest.row_counts["steps"]
