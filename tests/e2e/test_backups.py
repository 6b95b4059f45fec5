"""Backups in the live native stack: its daily schedule takes one into SeaweedFS' bucket
vigil-backups soon after the start, POST /ops/backup takes another, and Prometheus scrapes
the last success (what BackupStale watches)."""

from __future__ import annotations

import os
import time
from typing import Any

import httpx
import pytest

from tests.e2e.native_stack import StackUnderTest
from tests.e2e.polling import wait_for

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
