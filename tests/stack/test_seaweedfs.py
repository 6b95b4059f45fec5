"""SeaweedFS as a part of the native stack: its files, its restart, and the way out."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from tests.artifacts.s3_server import seaweedfs
from tests.e2e.native_stack import stack_settings
from tests.e2e.polling import wait_for
from vigil.artifacts import artifact_key
from vigil.models import new_id
from vigil.stack import Stack
from vigil.stack._component import port_in_use


def test_objects_survive_a_restart() -> None:
    """Stopped (SIGTERM, then a kill after a few seconds rather than the filer's 15 s wait)
    and started again on the same data directory, the server still serves what it stored."""
    with seaweedfs(bucket="vigil-restart") as server:
        key = artifact_key(new_id(), new_id(), "kept.bin")
        with server.store() as store:
            store.upload(key, b"still here")
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 8
        # The killed server's port is free once the kernel has closed its sockets: the full
        # suite once restarted in that moment and got "port ... already in use".
        port = server.component.port
        wait_for(f"port {port} released", lambda: not port_in_use(port), timeout_s=10)
        server.start()
        with server.store() as store:
            assert b"".join(store.open(key)) == b"still here"
        data = server.component.directory / "data"
        assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_the_stack_can_leave_s3_out(tmp_path: Path) -> None:
    """--no-s3: no SeaweedFS part, and the controller is told nothing of S3 (it keeps
    artifacts on the filesystem of its data directory)."""
    stack = Stack(stack_settings(tmp_path / "without", s3=False))
    assert "seaweedfs" not in [c.name for c in stack.components]
    env = stack.controller.launch_spec().env
    assert "VIGIL_ARTIFACTS_BACKEND" not in env
    with_s3 = Stack(stack_settings(tmp_path / "with"))
    assert with_s3.components[-3] is with_s3.seaweedfs  # then Temporal, the controller
    env = with_s3.controller.launch_spec().env
    assert env["VIGIL_ARTIFACTS_BACKEND"] == "s3"
    assert env["VIGIL_ARTIFACTS_S3_ENDPOINT_URL"] == with_s3.seaweedfs.url
    secret_file = env["VIGIL_ARTIFACTS_S3_SECRET_ACCESS_KEY_FILE"]
    assert secret_file == str(with_s3.layout.secret("s3_secret_access_key"))
    assert "VIGIL_ARTIFACTS_S3_SECRET_ACCESS_KEY" not in env, "the secret goes as a file"


def test_the_stack_backs_up_daily_into_its_backup_bucket(tmp_path: Path) -> None:
    """The controller gets a daily schedule and the ops token (a secret file, mode 600);
    with SeaweedFS its backups go to the bucket vigil-backups, without it to its data
    directory (the settings' default)."""
    with_s3 = Stack(stack_settings(tmp_path / "with"))
    env = with_s3.controller.launch_spec().env
    assert env["VIGIL_BACKUP_SCHEDULE"] == "daily"
    assert (env["VIGIL_BACKUP_BACKEND"], env["VIGIL_BACKUP_S3_BUCKET"]) == ("s3", "vigil-backups")
    token_file = with_s3.layout.secret("ops_token")
    assert env["VIGIL_OPS_TOKEN"] == token_file.read_text().strip()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    without = Stack(stack_settings(tmp_path / "without", s3=False))
    env = without.controller.launch_spec().env
    assert env["VIGIL_BACKUP_SCHEDULE"] == "daily"
    assert "VIGIL_BACKUP_BACKEND" not in env
