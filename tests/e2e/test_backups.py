"""Backups in the live native stack: its daily schedule takes one into SeaweedFS' bucket
vigil-backups soon after the start, POST /ops/backup takes another, and Prometheus scrapes
the last success (what BackupStale watches)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tests.e2e.native_stack import StackUnderTest, admin_headers, running_stack
from tests.e2e.polling import wait_for
from vigil.stack import Stack

pytestmark = pytest.mark.e2e


def _ops_headers(stack: StackUnderTest) -> dict[str, str]:
    if stack.native is not None:
        token = stack.native.layout.secret("ops_token").read_text().strip()
    elif not (token := os.environ.get("VIGIL_E2E_OPS_TOKEN", "")):
        pytest.skip("a stack named by VIGIL_E2E_* URLs needs VIGIL_E2E_OPS_TOKEN for /ops")
    return {"Authorization": f"Bearer {token}"}


def _complete(stack: StackUnderTest, backup_id: str | None = None) -> dict[str, Any] | None:
    answer = httpx.get(f"{stack.controller}/ops/backups", headers=_ops_headers(stack), timeout=10)
    answer.raise_for_status()
    done = [b for b in answer.json() if b["status"] == "complete"]
    if backup_id is not None:
        done = [b for b in done if b["id"] == backup_id]
    return done[0] if done else None


def test_the_stack_backs_up_into_its_bucket(stack_under_test: StackUnderTest) -> None:
    scheduled = wait_for("the scheduled backup", lambda: _complete(stack_under_test), timeout_s=120)
    if stack_under_test.native is not None:
        assert scheduled["location"].startswith("s3://vigil-backups/")
        assert scheduled["manifest"]["database_backend"] == "postgresql"
        assert scheduled["manifest"]["database_server_version"].startswith("15")
    started = httpx.post(
        f"{stack_under_test.controller}/ops/backup", headers=_ops_headers(stack_under_test)
    )
    assert started.status_code in {202, 409}, started.text
    if started.status_code == 202:
        backup_id = started.json()["id"]
        wait_for(
            "the backup asked for", lambda: _complete(stack_under_test, backup_id), timeout_s=120
        )

    def scraped() -> float | None:
        response = httpx.get(
            f"{stack_under_test.prometheus}/api/v1/query",
            params={"query": "vigil_backup_last_success_timestamp_seconds"},
            auth=stack_under_test.prometheus_auth,
            timeout=5,
        )
        result = response.json()["data"]["result"]
        value = float(result[0]["value"][1]) if result else 0.0
        return value if value > time.time() - 600 else None

    wait_for("Prometheus to scrape the last backup success", scraped, timeout_s=60)


def _stack_backup_env(stack: Stack) -> dict[str, str]:
    """The environment docs/runbook.md#backups gives `vigil backup` for a `make up` stack,
    built the same way from its secret files and ports."""
    secrets = stack.layout.secrets
    password = (secrets / "postgres_vigil_password").read_text().strip()
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")},
        "VIGIL_DATABASE_URL": (
            f"postgresql+psycopg://vigil:{password}@127.0.0.1:{stack.settings.postgres_port}/vigil"
        ),
        "VIGIL_ARTIFACTS_BACKEND": "s3",
        "VIGIL_ARTIFACTS_S3_ENDPOINT_URL": stack.seaweedfs.url,
        "VIGIL_ARTIFACTS_S3_ACCESS_KEY_ID": (secrets / "s3_access_key_id").read_text().strip(),
        "VIGIL_ARTIFACTS_S3_SECRET_ACCESS_KEY_FILE": str(secrets / "s3_secret_access_key"),
        "VIGIL_BACKUP_BACKEND": "s3",
    }


def test_a_stack_is_restored_from_its_backup_while_its_controller_runs() -> None:
    """On a stack of its own: a run before the backup, a run after it; `vigil backup restore`
    with the runbook's environment, the controller still running; afterwards the controller
    serves the first run and not the second, and its artifact's bytes."""
    with running_stack() as stack:
        base = stack.controller.url
        headers = admin_headers(stack)
        with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
            kept = api.post("/runs", json={"name": "kept", "agent": "a", "project_id": "p"})
            kept_id = kept.json()["id"]
            artifact = api.post(
                f"/runs/{kept_id}/artifacts",
                files={"file": ("kept.bin", b"kept bytes", "application/octet-stream")},
                data={"kind": "file"},
            ).json()
            env = _stack_backup_env(stack)
            created = subprocess.run(
                [sys.executable, "-m", "vigil", "backup", "create"],
                env=env, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert created.returncode == 0, created.stderr
            backup_id = created.stdout.split()[0]
            assert created.stdout.split()[1].startswith("s3://vigil-backups/")
            later = api.post("/runs", json={"name": "later", "agent": "a", "project_id": "p"})
            restored = subprocess.run(
                [sys.executable, "-m", "vigil", "backup", "restore", backup_id],
                env=env, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
            assert restored.returncode == 0, restored.stderr
            assert api.get(f"/runs/{kept_id}").status_code == 200
            assert api.get(f"/runs/{later.json()['id']}").status_code == 404
            content = api.get(f"/artifacts/{artifact['id']}/content", follow_redirects=False)
            assert httpx.get(content.headers["location"], timeout=10).content == b"kept bytes"
