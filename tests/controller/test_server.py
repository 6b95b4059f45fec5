"""The controller as users start it: ``python -m vigil serve`` with no environment set."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_serve_starts_on_embedded_default_and_says_which_backends(tmp_path: Path) -> None:
    """With no VIGIL_* variables the controller starts without any external service, answers
    its probes and API on loopback, and logs its backends as JSON at start-up.

    No silent default credential: the API refuses a request without a key; the first start
    generated an admin key into ./data/admin.key (mode 600), and the log says where it is
    but never what it is."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health/startup", timeout=1)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "controller did not start in 30 s"
            time.sleep(0.2)
        refused = httpx.get(f"http://127.0.0.1:{port}/info")
        assert refused.status_code == 401
        assert refused.json()["request_id"] == refused.headers["x-request-id"]
        key_file = tmp_path / "data" / "admin.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_file.parent.stat().st_mode) & 0o077 == 0
        token = key_file.read_text().strip()
        info = httpx.get(
            f"http://127.0.0.1:{port}/info", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert info["backends"]["store"].startswith("sqlite")
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=15)
    # uvicorn re-raises the signal after its graceful shutdown, so SIGTERM is the exit status.
    assert proc.returncode in (0, -signal.SIGTERM), err
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(records) == len(out.splitlines()), "every stdout line is JSON"
    starting = [r for r in records if r["message"] == "Vigil controller starting"]
    assert starting
    assert "sqlite" in starting[0]["backends"]["store"]
    assert any(r["logger"] == "vigil.access" and r["path"] == "/info" for r in records)
    generated = [r for r in records if r["message"].startswith("Admin API key")]
    assert generated
    assert generated[0]["key_file"].endswith("data/admin.key")
    assert token not in out
    assert token not in err
    assert token.split("_", 2)[2] not in out, "not even the secret half is logged"
    assert stat.S_IMODE((tmp_path / "data" / "vigil.db").stat().st_mode) == 0o600
    assert records[-1]["message"].startswith("Finished server process"), "graceful shutdown"
