"""Batched HTTP ingestion into PostgreSQL: steps/s through ``POST /events/batch``.

Starts a throwaway PostgreSQL (tests/pg_server.py; fsync and synchronous_commit off, as in the
test suite: say so when quoting figures) or uses ``--pg-url``, serves the controller with
uvicorn (``--workers``), creates runs, then drives wrk with batches of ``--batch`` step events
spread over those runs. Prints requests/s, steps/s, latency and the ratio to the target
(issue 3: >= 20,000 steps/s with 100 steps per request), and checks the stored step count.

Usage: python benchmarks/http_ingest.py [--seconds 15] [--connections 16] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pg_server import PostgresServer  # noqa: E402 - after the path set-up
from tests.ports import free_port  # noqa: E402

from vigil.auth import new_token  # noqa: E402
from vigil.secret_files import write_new_secret  # noqa: E402

# The controller registers this admin key from its data directory; every request sends it.
API_KEY, _ = new_token()
AUTH = {"Authorization": f"Bearer {API_KEY}"}

TARGET_STEPS_PER_S = 20_000


def wait_started(base: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("controller exited during start-up")
        try:
            if httpx.get(f"{base}/health/startup", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit("controller did not start")


def lua_script(run_ids: list[str], batch: int, token: str) -> str:
    bodies = []
    for run_id in run_ids:
        events = [
            {
                "event": "step",
                "run_id": run_id,
                "step_type": "tool_call",
                "name": "search",
                "data": {"query": "refund policy", "n": n, "tokens": 120},
            }
            for n in range(batch)
        ]
        bodies.append("[==[" + json.dumps({"events": events}) + "]==]")
    return (
        "local bodies = {" + ",\n".join(bodies) + "}\n"
        "local i = 0\n"
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        '  return wrk.format("POST", "/events/batch", nil, bodies[i])\n'
        "end\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--runs", type=int, default=32)
    parser.add_argument("--pg-url", help="use this PostgreSQL database instead of a fresh one")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")

    server = None
    if args.pg_url:
        url = args.pg_url
    else:
        server = PostgresServer.start()
        url = server.create_database("bench_http")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    write_new_secret(data_dir / "admin.key", API_KEY)
    env = {
        **os.environ,
        "VIGIL_DATABASE_URL": url,
        "VIGIL_LOG_LEVEL": "INFO",
        "VIGIL_DATA_DIR": str(data_dir),
    }
    controller = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "vigil.controller:create_app",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_started(base, controller)
        run_ids = [
            httpx.post(
                f"{base}/runs",
                json={"name": f"bench {n}", "agent": "bench", "project_id": "bench"},
                headers=AUTH,
            ).json()["id"]
            for n in range(args.runs)
        ]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(lua_script(run_ids, args.batch, API_KEY))
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{args.connections}",
                f"-d{args.seconds}s",
                "--latency",
                "-s",
                script.name,
                f"{base}/events/batch",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        os.unlink(script.name)
        stored = sum(
            httpx.get(f"{base}/runs/{r}", headers=AUTH).json()["step_count"] for r in run_ids
        )
    finally:
        controller.terminate()
        controller.wait(timeout=30)
        if server is not None:
            server.stop()

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    latency = {
        p: re.search(rf"\s{p}%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
        for p in ("50", "99")
    }
    steps_per_s = rps * args.batch
    print(
        f"controller workers: {args.workers}, connections: {args.connections}, "
        f"batch: {args.batch} steps/request, {args.seconds}s"
    )
    print(f"requests/s        {rps:10.1f}   (p50 {latency['50']}, p99 {latency['99']})")
    print(
        f"steps/s           {steps_per_s:10.0f}   target {TARGET_STEPS_PER_S:,} -> "
        f"ratio {steps_per_s / TARGET_STEPS_PER_S:.2f}"
    )
    print(f"non-2xx responses {int(non_2xx.group(1)) if non_2xx else 0}")
    print(
        f"stored steps      {stored:10d}   (wrk counted {requests} requests = "
        f"{requests * args.batch} steps sent; in-flight ones at the end may differ)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
