"""The alert path end to end on the native stack: a 5xx spike makes HighErrorRate fire in
Prometheus, Alertmanager delivers it, the controller stores it firing, and once the spike is
over it is resolved in the controller.

The stack runs the production files with test timings only:

* rules: alerts.yml and recording.yml rendered by scripts/render_alert_test_rules.py
  (--for 10s --window 5m=1m): the same rules, derived, with `for:` and the 5m rate windows
  shortened (promtool unit tests cover the production files themselves);
* Prometheus scrapes and evaluates every second; Alertmanager's group_wait is 1s and its
  group_interval 2s, so notifications (resolved ones included) leave at once.

Where the time goes: firing takes ~15 s from the spike's start (two scrapes, then `for: 10s`).
Resolving takes about a minute after the spike ends, because the recording rules rate over
[1m] here: the error ratio of /chaos/error stays 1.0 until the spike's last increase has left
that window, then becomes 0/0 (no traffic), which no longer compares true. With the
production [5m] windows it would take five minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.native_stack import running_stack
from tests.e2e.polling import wait_for
from vigil.stack import Stack

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
RENDERER = REPO / "scripts" / "render_alert_test_rules.py"
ALERTS = REPO / "prometheus" / "rules" / "alerts.yml"
RECORDING = REPO / "prometheus" / "rules" / "recording.yml"
SPIKE = REPO / "alert-testing" / "trigger_error_spike.sh"

ALERT = "HighErrorRate"
ENDPOINT = "/chaos/error"
SPIKE_SECONDS = 15
FIRE_TIMEOUT_S = 120
DELIVERY_TIMEOUT_S = 60
# [1m] windows of the rendered recording rules + scrape, evaluation and group_interval, margin.
RESOLVE_TIMEOUT_S = 240


def _test_rules(directory: Path) -> Path:
    directory.mkdir()
    for source in (ALERTS, RECORDING):
        subprocess.run(
            [sys.executable, str(RENDERER), "--for", "10s", "--window", "5m=1m",
             "-o", str(directory / source.name), str(source)],
            check=True,
            capture_output=True,
            timeout=60,
        )  # fmt: skip
    return directory


def _ours(labels: dict[str, str]) -> bool:
    return labels.get("alertname") == ALERT and labels.get("endpoint") == ENDPOINT


def _firing_in_prometheus(stack: Stack) -> dict[str, Any] | None:
    response = httpx.get(
        f"{stack.prometheus.url}/api/v1/alerts", auth=stack.prometheus.credentials.pair(), timeout=5
    )
    alerts = response.json()["data"]["alerts"]
    return next((a for a in alerts if _ours(a["labels"]) and a["state"] == "firing"), None)


def _active_in_alertmanager(stack: Stack) -> dict[str, Any] | None:
    response = httpx.get(
        f"{stack.alertmanager.url}/api/v2/alerts",
        params={"filter": f'alertname="{ALERT}"'},
        auth=stack.alertmanager.credentials.pair(),
        timeout=5,
    )
    alerts = response.json()
    return next(
        (a for a in alerts if _ours(a["labels"]) and a["status"]["state"] == "active"), None
    )


def _admin_key(stack: Stack) -> str:
    return stack.layout.admin_key.read_text().strip()


def _in_controller(stack: Stack, status: str, fingerprint: str | None) -> dict[str, Any] | None:
    response = httpx.get(
        f"{stack.controller.url}/alerts",
        params={"status": status},
        headers={"Authorization": f"Bearer {_admin_key(stack)}"},
        timeout=5,
    )
    response.raise_for_status()
    return next(
        (
            a
            for a in response.json()["items"]
            if _ours(a["labels"]) and fingerprint in (None, a["fingerprint"])
        ),
        None,
    )


def test_error_spike_fires_and_resolves_high_error_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    phases: list[tuple[str, float]] = []

    def reached(phase: str) -> None:
        phases.append((phase, time.monotonic() - started))

    rules = _test_rules(tmp_path / "rules")
    with running_stack(
        rules_dir=rules,
        scrape_interval="1s",
        evaluation_interval="1s",
        alert_group_wait="1s",
        alert_group_interval="2s",
        controller_env={"VIGIL_CHAOS": "1"},
    ) as stack:
        reached("stack up")
        spike = subprocess.run(
            ["/bin/bash", str(SPIKE), "-d", str(SPIKE_SECONDS), "-r", "10", stack.controller.url],
            capture_output=True,
            text=True,
            timeout=SPIKE_SECONDS + 60,
            check=False,
            env={**os.environ, "VIGIL_API_KEY": _admin_key(stack)},
        )
        assert spike.returncode == 0, spike.stdout + spike.stderr
        reached("spike over")

        fired = wait_for(
            f"{ALERT} firing in Prometheus", lambda: _firing_in_prometheus(stack),
            timeout_s=FIRE_TIMEOUT_S,
        )  # fmt: skip
        assert fired["labels"]["severity"] == "critical"
        assert fired["labels"]["service"] == "vigil-controller"
        reached("firing in Prometheus")

        delivered = wait_for(
            f"{ALERT} active in Alertmanager", lambda: _active_in_alertmanager(stack),
            timeout_s=DELIVERY_TIMEOUT_S,
        )  # fmt: skip
        fingerprint = delivered["fingerprint"]
        reached("active in Alertmanager")

        stored = wait_for(
            f"{ALERT} firing in the controller (GET /alerts?status=firing)",
            lambda: _in_controller(stack, "firing", fingerprint),
            timeout_s=DELIVERY_TIMEOUT_S,
        )
        assert stored["alertname"] == ALERT
        assert stored["severity"] == "critical"
        assert stored["ends_at"] is None
        reached("firing in the controller")

        resolved = wait_for(
            f"{ALERT} resolved in the controller (GET /alerts?status=resolved)",
            lambda: _in_controller(stack, "resolved", fingerprint),
            timeout_s=RESOLVE_TIMEOUT_S,
            interval_s=2,
        )
        assert resolved["ends_at"] is not None
        assert _in_controller(stack, "firing", fingerprint) is None
        reached("resolved in the controller")

    total = time.monotonic() - started
    with capsys.disabled():
        steps = ", ".join(f"{phase} at {seconds:.0f}s" for phase, seconds in phases)
        print(f"\nalert smoke test: {total:.0f}s end to end ({steps}, stack down)")
