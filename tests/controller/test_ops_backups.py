"""The operations endpoints: POST /ops/backup, GET /ops/backups, GET /ops/backups/{id},
behind the ops token; and the controller's schedule and backup metrics. Both databases (the
backup of PostgreSQL runs the real pg_dump of the test server's major)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.controller.conftest import ControllerData, controller_settings
from tests.e2e.polling import wait_for
from vigil.controller import backup_runner, create_app

OPS_TOKEN = "test-ops-token-7c1f"
OPS = {"Authorization": f"Bearer {OPS_TOKEN}"}


@pytest.fixture
def ops_api(
    store_url: str, controller_data: ControllerData
) -> Callable[..., AbstractContextManager[TestClient]]:
    @contextmanager
    def start(**overrides: Any) -> Iterator[TestClient]:
        values: dict[str, Any] = {"ops_token": OPS_TOKEN, **overrides}
        app = create_app(controller_settings(store_url, controller_data, **values))
        with TestClient(
            app, raise_server_exceptions=False, headers=controller_data.headers
        ) as client:
            yield client

    return start


def _finished(api: TestClient, backup_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = api.get(f"/ops/backups/{backup_id}", headers=OPS)
        assert answer.status_code == 200, answer.text
        if answer.json()["status"] != "running":
            return answer.json()  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"backup {backup_id} still running after {timeout_s}s")


def test_the_ops_token_is_required(
    ops_api: Callable[..., AbstractContextManager[TestClient]],
) -> None:
    """No token, an API key (even the admin's) or a wrong token: 401, the token never echoed;
    without VIGIL_OPS_TOKEN every call is a 401 that says the endpoints are disabled."""
    with ops_api() as api:
        assert api.post("/ops/backup").status_code == 401  # the admin API key is not enough
        wrong = api.post("/ops/backup", headers={"Authorization": "Bearer nope-nope"})
        assert wrong.status_code == 401
        assert "nope-nope" not in wrong.text
        assert wrong.json()["request_id"] == wrong.headers["x-request-id"]
        assert api.get("/ops/backups", headers={"Authorization": "Bearer x"}).status_code == 401
        assert api.get("/ops/backups", headers=OPS).status_code == 200
    with ops_api(ops_token=None) as api:
        disabled = api.post("/ops/backup", headers=OPS)
        assert disabled.status_code == 401
        assert "VIGIL_OPS_TOKEN is not set" in disabled.json()["detail"]


def test_a_backup_on_demand(ops_api: Callable[..., AbstractContextManager[TestClient]]) -> None:
    """202 with the id at once; the backup completes with its manifest, is listed, logs
    "Backup successful: <location>", and sets the last-success and duration metrics."""
    with ops_api() as api:
        run = api.post("/runs", json={"name": "r", "agent": "a", "project_id": "p1"}).json()
        started = api.post("/ops/backup", headers=OPS)
        assert started.status_code == 202, started.text
        backup_id = started.json()["id"]
        assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", backup_id)
        done = _finished(api, backup_id)
        assert done["status"] == "complete", done
        manifest = done["manifest"]
        assert manifest["row_counts"]["runs"] == 1
        assert manifest["location"].endswith(f"/{backup_id}/manifest.json")
        assert [b["id"] for b in api.get("/ops/backups", headers=OPS).json()] == [backup_id]
        success = f"Backup successful: {started.json()['location']}"

        def logged() -> bool:  # the controller's own records are written in the background
            logs = api.get("/logs", params={"level": "info", "limit": 500}).json()["items"]
            return success in [r["message"] for r in logs]

        wait_for(f"the log record {success!r}", logged, timeout_s=10, interval_s=0.05)
        metrics = api.get("/metrics").text
        last = re.search(r"^vigil_backup_last_success_timestamp_seconds (\S+)$", metrics, re.M)
        assert last
        assert abs(float(last[1]) - time.time()) < 120
        assert re.search(r"^vigil_backup_duration_seconds [0-9.e-]+$", metrics, re.M)
        assert "vigil_backup_failures_total 0.0" in metrics
        assert run["id"]


def test_one_at_a_time(
    ops_api: Callable[..., AbstractContextManager[TestClient]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a backup runs, a second request is a 409 naming it; afterwards one may start."""
    release = threading.Event()
    real = backup_runner.create_backup

    def held(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(backup_runner, "create_backup", held)
    with ops_api() as api:
        first = api.post("/ops/backup", headers=OPS).json()["id"]
        busy = api.post("/ops/backup", headers=OPS)
        assert busy.status_code == 409
        assert first in busy.json()["detail"]
        assert api.get(f"/ops/backups/{first}", headers=OPS).json()["status"] == "running"
        release.set()
        assert _finished(api, first)["status"] == "complete"
        assert api.post("/ops/backup", headers=OPS).status_code == 202


def test_a_failed_backup_is_reported_and_counted(
    ops_api: Callable[..., AbstractContextManager[TestClient]], tmp_path: Path
) -> None:
    """A location that cannot be written (a file where the folder should be): the backup's
    status is failed with the reason, vigil_backup_failures_total counts it, and nothing is
    left that could pass for a backup."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    with ops_api(backup_dir=blocked) as api:
        backup_id = api.post("/ops/backup", headers=OPS).json()["id"]
        failed = _finished(api, backup_id)
        assert failed["status"] == "failed"
        assert failed["error"]
        assert backup_id in failed["error"]
        assert "vigil_backup_failures_total 1.0" in api.get("/metrics").text
        assert "vigil_backup_last_success_timestamp_seconds" not in api.get("/metrics").text


def test_unknown_and_malformed_ids(
    ops_api: Callable[..., AbstractContextManager[TestClient]],
) -> None:
    with ops_api() as api:
        missing = api.get("/ops/backups/20261201T020000Z-abcdef", headers=OPS)
        assert missing.status_code == 404
        assert missing.json()["request_id"]
        assert api.get("/ops/backups/not-an-id", headers=OPS).status_code == 422


def test_the_daily_schedule_takes_one_when_none_is_recent(
    ops_api: Callable[..., AbstractContextManager[TestClient]],
) -> None:
    """With VIGIL_BACKUP_SCHEDULE=daily and no backup in the location, one is taken without
    being asked; the next checks see it and take no other."""
    with ops_api(backup_schedule="daily", backup_check_interval_s=0.2) as api:
        deadline = time.monotonic() + 60
        backups: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            backups = api.get("/ops/backups", headers=OPS).json()
            if backups and backups[0]["status"] == "complete":
                break
            time.sleep(0.1)
        assert [b["status"] for b in backups] == ["complete"]
        time.sleep(1.0)  # five more checks
        assert len(api.get("/ops/backups", headers=OPS).json()) == 1


def test_no_schedule_and_no_backup_exports_no_last_success(
    ops_api: Callable[..., AbstractContextManager[TestClient]],
) -> None:
    """A controller that takes no backups and knows of none does not claim one in 1970
    (BackupStale would page on it)."""
    with ops_api() as api:
        assert "vigil_backup_last_success_timestamp_seconds" not in api.get("/metrics").text


def test_a_schedule_whose_backups_fail_reads_as_never(
    ops_api: Callable[..., AbstractContextManager[TestClient]], tmp_path: Path
) -> None:
    """The first scheduled backup fails and the location holds none: the last success reads 0,
    so BackupStale fires (after its 10 minutes) instead of staying silent."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    with ops_api(backup_dir=blocked, backup_schedule="daily", backup_check_interval_s=0.2) as api:
        deadline = time.monotonic() + 30
        metrics = ""
        while time.monotonic() < deadline:
            metrics = api.get("/metrics").text
            if "vigil_backup_failures_total 0.0" not in metrics:
                break
            time.sleep(0.1)
        assert "vigil_backup_last_success_timestamp_seconds 0.0" in metrics
