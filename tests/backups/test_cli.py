"""``vigil backup create | list | verify ID | restore ID``, run as a user runs them: a real
process with the controller's settings in its environment (SQLite, the filesystem)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.storage.test_migrations import HEAD_REVISION
from vigil.models import RunCreate
from vigil.storage import open_store, upgrade


def _vigil(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil", "backup", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_list_verify_restore(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/data/vigil.db"
    upgrade(url)
    with open_store(url) as store:
        run = store.create_run(RunCreate(name="cli", agent="a", project_id="p1"))
    (tmp_path / "art" / "runs" / str(run.id)).mkdir(parents=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "VIGIL_DATABASE_URL": url,
        "VIGIL_DATA_DIR": str(tmp_path / "data"),
        "VIGIL_ARTIFACTS_DIR": str(tmp_path / "art"),
        "VIGIL_BACKUP_DIR": str(tmp_path / "backups"),
    }
    created = _vigil(env, "create")
    assert created.returncode == 0, created.stderr
    backup_id, location = created.stdout.split()
    assert location == (tmp_path / "backups" / backup_id / "manifest.json").as_uri()

    listed = _vigil(env, "list")
    assert listed.returncode == 0
    assert listed.stdout.startswith(f"{backup_id}  ")
    assert f"sqlite  schema {HEAD_REVISION}" in listed.stdout

    assert _vigil(env, "verify", backup_id).stdout.strip().endswith("match the manifest)")

    for name in ("vigil.db", "vigil.db-wal", "vigil.db-shm"):
        (tmp_path / "data" / name).unlink(missing_ok=True)
    restored = _vigil(env, "restore", backup_id)
    assert restored.returncode == 0, restored.stderr
    with open_store(url) as store:
        assert store.get_run(run.id).name == "cli"

    part = tmp_path / "backups" / backup_id / "database.sqlite3.gz"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    for command in ("verify", "restore"):
        refused = _vigil(env, command, backup_id)
        assert refused.returncode == 1
        assert "database.sqlite3.gz does not match the manifest" in refused.stderr
        assert "Traceback" not in refused.stderr
    missing = _vigil(env, "verify", "20000101T000000Z-000000")
    assert missing.returncode == 1
    assert "no complete backup" in missing.stderr
