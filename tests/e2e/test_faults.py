"""Faults against the real native stack (issue 10): Alertmanager and Prometheus restarted,
the whole stack taken down and up again, the controller's disk full."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.native_stack import admin_headers, new_state_dir, running_stack, stack_settings
from tests.e2e.polling import wait_for
from tests.ports import free_port
from vigil.auth import new_token
from vigil.secret_files import write_new_secret
from vigil.stack import Stack
from vigil.stack._component import Component
from vigil.storage import open_store

pytestmark = pytest.mark.e2e


def restart(component: Component) -> None:
    pid = component.running_pid()
    assert pid is not None
    component.stop(pid)
    component.wait_ready(component.start())


def _controller_alert(stack: Stack, name: str) -> dict[str, Any] | None:
    response = httpx.get(f"{stack.controller.url}/alerts", headers=admin_headers(stack), timeout=5)
    return next((a for a in response.json()["items"] if a["alertname"] == name), None)


def test_restarts_of_alertmanager_and_prometheus_heal(tmp_path: Path) -> None:
    """Finding: alerts stayed firing after Alertmanager restarted (it keeps alerts in memory
    and never resolves what it forgot). An alert posted to Alertmanager reaches the controller
    firing; Alertmanager restarts and no longer holds it; the controller's reconciliation
    resolves it. Prometheus restarted scrapes the controller again."""
    with running_stack(
        scrape_interval="1s",
        evaluation_interval="1s",
        alert_group_wait="1s",
        alert_group_interval="2s",
        controller_env={"VIGIL_ALERT_RECONCILE_INTERVAL_S": "1"},
    ) as stack:
        name = f"Drill{uuid.uuid4().hex[:8]}"
        alert = [{"labels": {"alertname": name, "severity": "warning"}, "annotations": {}}]
        posted = httpx.post(
            f"{stack.alertmanager.url}/api/v2/alerts",
            json=alert,
            auth=stack.alertmanager.credentials.pair(),
            timeout=5,
        )
        assert posted.status_code == 200, posted.text
        firing = wait_for(
            f"{name} firing in the controller",
            lambda: (a := _controller_alert(stack, name)) and a["status"] == "firing" and a,
            timeout_s=30,
        )
        restart(stack.alertmanager)
        resolved = wait_for(
            f"{name} resolved by reconciliation",
            lambda: (a := _controller_alert(stack, name)) and a["status"] == "resolved" and a,
            timeout_s=30,
        )
        assert resolved["id"] == firing["id"]

        restart(stack.prometheus)
        query = f"{stack.prometheus.url}/api/v1/query"
        auth = stack.prometheus.credentials.pair()

        def controller_up() -> bool:
            response = httpx.get(query, params={"query": "up"}, auth=auth, timeout=5)
            results = response.json()["data"]["result"]
            return any(
                r["metric"]["job"] == "vigil-controller" and r["value"][1] == "1" for r in results
            )

        assert wait_for("Prometheus scraping the controller again", controller_up, timeout_s=30)


def test_down_and_up_keeps_every_record() -> None:
    """`make down && make up` keeps every run, step, log, alert, measurement and span."""
    state = new_state_dir()
    settings = stack_settings(state, install_missing=False)
    stack = Stack(settings)
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    try:
        stack.up()
        headers = admin_headers(stack)
        with httpx.Client(base_url=stack.controller.url, headers=headers, timeout=10) as client:
            run = client.post("/runs", json={"name": "kept", "agent": "a", "project_id": "p"})
            run_id = run.json()["id"]
            now = "2026-12-01T00:00:00Z"
            events = [
                {"event": "step", "run_id": run_id, "step_type": "thought", "name": "s1"},
                {"event": "log", "level": "info", "logger": "l", "service": "s",
                 "message": "kept log", "run_id": run_id},
                {"event": "measurement", "name": "kept_metric", "value": 4.0, "kind": "gauge",
                 "run_id": run_id},
                {"event": "span", "trace_id": trace_id, "span_id": span_id, "name": "kept",
                 "service": "s", "start_time": now, "end_time": now, "run_id": run_id},
            ]  # fmt: skip
            assert client.post("/events/batch", json={"events": events}).status_code == 202
        token = stack.layout.webhook_token.read_text().strip()
        notification = {
            "version": "4", "groupKey": "g", "status": "firing", "receiver": "r",
            "alerts": [{"status": "firing", "fingerprint": "abcdef0123456789",
                        "startsAt": now, "labels": {"alertname": "KeptAlert"}}],
        }  # fmt: skip
        stored = httpx.post(
            f"{stack.controller.url}/alerts/webhook",
            json=notification,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert stored.status_code == 200, stored.text
        time.sleep(1)  # the controller's own log records are written in the background
        stack.down()
        stack = Stack.from_state(settings)
        stack.up()
        with httpx.Client(
            base_url=stack.controller.url, headers=admin_headers(stack), timeout=10
        ) as client:
            assert client.get(f"/runs/{run_id}").json()["name"] == "kept"
            assert [s["name"] for s in client.get(f"/runs/{run_id}/steps").json()["items"]] == [
                "s1"
            ]
            logs = client.get("/logs", params={"run_id": run_id}).json()["items"]
            assert "kept log" in [r["message"] for r in logs]
            points = client.get("/measurements", params={"name": "kept_metric"}).json()["items"]
            assert [p["value"] for p in points] == [4.0]
            assert [a["alertname"] for a in client.get("/alerts").json()["items"]] == ["KeptAlert"]
        with open_store(stack.postgres.database_url) as store:
            assert [s.name for s in store.get_trace(trace_id)] == ["kept"]
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)


@contextlib.contextmanager
def small_disk(size_mb: int) -> Iterator[Path]:
    """A directory on a real disk of ``size_mb``: a tmpfs (mounting one needs root, as CI
    runs; elsewhere the drill fails and says why rather than fake a full disk)."""
    root = Path(tempfile.mkdtemp(prefix="vigil-disk-"))
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"cannot mount a tmpfs for the disk-full drill: {result.stderr}")
    try:
        yield root
    finally:
        subprocess.run(["umount", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def test_a_full_disk_refuses_writes_fails_readiness_and_loses_nothing() -> None:
    """Finding: with SQLite's disk full every write was a 503 while readiness said 200. On a
    small disk (a tmpfs): once it is full, writes are 503 with the request id, readiness fails
    on the disk check, reads still work; space given back, writes work again and every run
    accepted before is there."""
    with small_disk(16) as disk:
        token, _ = new_token()
        write_new_secret(disk / "data" / "admin.key", token)
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")},
            "VIGIL_DATABASE_URL": f"sqlite:///{disk}/data/vigil.db",
            "VIGIL_DATA_DIR": str(disk / "data"),
            "VIGIL_MIN_FREE_DISK_MB": "2",
            "VIGIL_PERSIST_LOGS": "off",
        }
        controller = subprocess.Popen(
            [sys.executable, "-m", "vigil", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        try:
            wait_for(
                "the controller",
                lambda: httpx.get(f"{base}/health/ready", timeout=2).status_code == 200,
                timeout_s=30,
            )
            with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
                run = {"name": "before", "agent": "a", "project_id": "p"}
                accepted = [client.post("/runs", json=run).json()["id"] for _ in range(20)]
                filler = disk / "filler"
                with filler.open("wb") as file, contextlib.suppress(OSError):
                    while True:
                        file.write(b"\0" * (1 << 20))
                refused = client.post("/runs", json={**run, "name": "during"})
                assert refused.status_code == 503, refused.text
                assert refused.json()["request_id"] == refused.headers["x-request-id"]
                ready = httpx.get(f"{base}/health/ready", timeout=5)
                assert ready.status_code == 503
                assert ready.json()["checks"]["disk"]["status"] == "fail"
                listed = client.get("/runs", params={"limit": 100}).json()["items"]
                assert {r["id"] for r in listed} == set(accepted)
                filler.unlink()
                assert client.post("/runs", json={**run, "name": "after"}).status_code == 201
                assert httpx.get(f"{base}/health/ready", timeout=5).status_code == 200
                names = [
                    r["name"] for r in client.get("/runs", params={"limit": 100}).json()["items"]
                ]
                assert names.count("before") == 20
                assert "after" in names
        finally:
            controller.terminate()
            controller.wait(timeout=30)
