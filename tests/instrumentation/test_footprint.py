"""What ``vigil.instrument`` loads into a service: its own modules, not the SDK, the models
or the SDK's HTTP client. Everything loaded stays for the process's life, and every full
collection of the cyclic GC walks it: importing the SDK (httpx, rich, pygments) and the
models through the log formatter's run-id and trace-id readers kept ~11,000 objects more in
every instrumented service (16,000 instructions per request of a bare app, measured by
callgrind when it shared a process with them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import gc, json, sys
import prometheus_client
from benchmarks.endpoint_app import build
build()
gc.collect()
before, modules = len(gc.get_objects()), set(sys.modules)
import vigil
vigil.instrument(build(), service="probe", registry=prometheus_client.CollectorRegistry())
gc.collect()
print(json.dumps({"objects": len(gc.get_objects()) - before,
                  "modules": sorted(set(sys.modules) - modules)}))
"""


def test_instrument_loads_neither_the_sdk_nor_the_models() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'backend'}{os.pathsep}{ROOT}", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loaded = json.loads(out)
    heavy = [
        m
        for m in loaded["modules"]
        if m.split(".")[0] in {"httpx", "rich", "pygments", "sqlalchemy"}
        or m.startswith(("vigil.sdk", "vigil.models", "vigil.storage", "vigil.tracing._context"))
    ]
    assert heavy == []
    assert loaded["objects"] < 3_000, loaded["objects"]  # 907 here; ~12,000 with the SDK
