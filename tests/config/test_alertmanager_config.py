"""The Alertmanager configuration, checked with the real amtool and a real Alertmanager.

amtool and prometheus-alertmanager come from the Debian package ``prometheus-alertmanager``
(scripts/install-native-deps.sh installs it; CI does the same). A missing binary fails these
tests instead of skipping them.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.ports import free_port as _free_port

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "alertmanager" / "alertmanager.yml"
WEBHOOK_URL = "http://controller:8000/alerts/webhook"
TOKEN_FILE = "/etc/alertmanager/secrets/webhook_token"
PACKAGE = "prometheus-alertmanager"


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not found on PATH: install the Debian package '{PACKAGE}' "
            "(sudo scripts/install-native-deps.sh)"
        )
    return path


def _amtool(*args: str | Path) -> str:
    result = subprocess.run(
        [_binary("amtool"), *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"amtool {args}\n{result.stdout}{result.stderr}"
    return result.stdout


def _config() -> Any:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


def _route_for(*labels: str) -> str:
    """The matchers of the route amtool picks for an alert with `labels` ("k=v")."""
    tree = _amtool("config", "routes", "test", "--config.file", CONFIG, "--tree", *labels)
    last = [line for line in tree.splitlines() if "receiver:" in line][-1]
    return last.split("receiver:")[0].strip(" .└─├│")


def test_amtool_accepts_config() -> None:
    """`amtool check-config` passes: the file loads in Alertmanager 0.25."""
    out = _amtool("check-config", CONFIG)
    assert "SUCCESS" in out


def test_alerts_route_by_severity_to_the_controller() -> None:
    """critical and warning take their own routes; every route ends at vigil-controller."""
    assert _route_for("alertname=HighErrorRate", "severity=critical") == '{severity="critical"}'
    assert _route_for("alertname=HighLatencyP99", "severity=warning") == '{severity="warning"}'
    assert _route_for("alertname=Other") == "default-route"
    for labels in (["severity=critical"], ["severity=warning"], ["alertname=Other"]):
        _amtool(
            "config",
            "routes",
            "test",
            "--config.file",
            CONFIG,
            "--verify.receivers=vigil-controller",
            *labels,
        )


def test_grouping_and_repeat_intervals() -> None:
    """Groups are per alertname and service; pages repeat sooner than tickets."""
    route = _config()["route"]
    assert route["group_by"] == ["alertname", "service"]
    by_severity = {r["matchers"][0]: r for r in route["routes"]}
    critical = by_severity['severity="critical"']
    warning = by_severity['severity="warning"']
    assert critical["repeat_interval"] == "1h"
    assert warning["repeat_interval"] == "12h"


def test_critical_inhibits_warning_of_same_alert_and_service() -> None:
    """One inhibit rule, in the 0.22+ matcher syntax (the old `source_match` is deprecated)."""
    [rule] = _config()["inhibit_rules"]
    assert rule == {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity="warning"'],
        "equal": ["alertname", "service"],
    }


def test_webhook_receiver_reads_bearer_token_from_file() -> None:
    """The controller's webhook, resolved notices included, with the token kept out of the file."""
    [receiver] = _config()["receivers"]
    assert receiver["name"] == "vigil-controller"
    [webhook] = receiver["webhook_configs"]
    assert webhook["url"] == WEBHOOK_URL
    assert webhook["send_resolved"] is True
    assert webhook["http_config"] == {
        "authorization": {"type": "Bearer", "credentials_file": TOKEN_FILE}
    }


# --- a real Alertmanager delivering to a local webhook ----------------------------------


class _Capture(BaseHTTPRequestHandler):
    received: queue.Queue[tuple[str, dict[str, str], dict[str, Any]]] = queue.Queue()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.put((self.path, dict(self.headers), json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_sink() -> Iterator[tuple[int, queue.Queue[Any]]]:
    server = HTTPServer(("127.0.0.1", 0), _Capture)
    _Capture.received = queue.Queue()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], _Capture.received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"alertmanager exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - local http
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"alertmanager not ready at {url}")


def test_alertmanager_posts_alert_with_bearer_token(
    tmp_path: Path, webhook_sink: tuple[int, queue.Queue[Any]]
) -> None:
    """Rendered as native mode does (host and token path swapped by text), a real
    Alertmanager posts a critical alert to the webhook within its 10s group_wait, with
    `Authorization: Bearer <token from the file>` and the version 4 payload."""
    sink_port, received = webhook_sink
    token_file = tmp_path / "webhook_token"
    token_file.write_text("s3cret-token\n", encoding="utf-8")
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        CONFIG.read_text(encoding="utf-8")
        .replace("http://controller:8000", f"http://127.0.0.1:{sink_port}")
        .replace(TOKEN_FILE, str(token_file)),
        encoding="utf-8",
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        _binary("prometheus-alertmanager"),
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # no gossip port: a single instance
    ]
    log = tmp_path / "alertmanager.log"
    with (
        log.open("w") as log_file,
        subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT) as proc,
    ):
        try:
            _wait_ready(f"{base}/-/ready", proc)
            alert = [
                {
                    "labels": {
                        "alertname": "HighErrorRate",
                        "severity": "critical",
                        "service": "vigil-controller",
                        "endpoint": "/runs/{run_id}",
                    },
                    "annotations": {
                        "summary": "test",
                        "runbook_url": "docs/runbook.md#higherrorrate",
                    },
                }
            ]
            request = urllib.request.Request(  # noqa: S310 - a fixed http:// URL
                f"{base}/api/v2/alerts",
                data=json.dumps(alert).encode(),
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - same
                assert response.status == 200
            path, headers, body = received.get(timeout=30)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert path == "/alerts/webhook", log.read_text(encoding="utf-8")
    assert headers["Authorization"] == "Bearer s3cret-token"
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "vigil-controller"
    assert body["groupLabels"] == {"alertname": "HighErrorRate", "service": "vigil-controller"}
    [sent] = body["alerts"]
    assert sent["labels"]["endpoint"] == "/runs/{run_id}"
