"""Throughput of the same endpoint on a bare FastAPI app and after ``vigil.instrument``.

Each app is served by uvicorn pinned to CPU 0; wrk, pinned to CPU 1, drives it. Variants are
alternated (A B A B ...) in one run so drift on the machine hits them alike. Prints each round,
the median requests/s per variant and the ratios; also the server's CPU time per request (from
/proc), which a VM's steal time does not blur the way it blurs throughput.
Target (issue 2): instrumented >= 0.90 x bare.

Variants:
- ``bare``: uvicorn defaults, so its own plain-text access log is on (what users run);
- ``bare-quiet``: the same with uvicorn's access log off (the strictest baseline);
- ``instrumented``: vigil's JSON access log replaces uvicorn's, plus request ids and RED metrics.
Logs go to /dev/null in every variant.

Usage: python benchmarks/instrumentation_overhead.py [--rounds 3] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ports import free_port  # noqa: E402 - after the path set-up

VARIANTS = {
    "bare": ("benchmarks.overhead_apps:bare", []),
    "bare-quiet": ("benchmarks.overhead_apps:bare", ["--no-access-log"]),
    "instrumented": ("benchmarks.overhead_apps:instrumented", ["--no-access-log"]),
}


def wait_ready(port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (steal time on a busy VM is not in it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_variant(name: str, seconds: int, connections: int) -> tuple[float, float]:
    target, extra = VARIANTS[name]
    port = free_port()
    server = subprocess.Popen(
        [
            "taskset",
            "-c",
            "0",
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--port",
            str(port),
            "--log-level",
            "warning",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        wait_ready(port)
        url = f"http://127.0.0.1:{port}/items/abc123"
        subprocess.run(
            ["taskset", "-c", "1", "wrk", "-t1", "-c8", "-d2s", url],
            check=True,
            capture_output=True,
        )  # warm-up
        cpu_before = cpu_seconds(server.pid)
        wrk = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
        out = subprocess.run(wrk, check=True, capture_output=True, text=True).stdout
        cpu_used = cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=10)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if match is None or count is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"unexpected wrk output for {name}:\n{out}")
    return float(match.group(1)), cpu_used / int(count.group(1)) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install wrk util-linux")

    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpu: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for round_no in range(1, args.rounds + 1):
        for name in VARIANTS:
            rps, cpu_us = run_variant(name, args.seconds, args.connections)
            results[name].append(rps)
            cpu[name].append(cpu_us)
            print(
                f"round {round_no} {name:<13} {rps:9.0f} req/s  {cpu_us:6.1f} us CPU/request",
                flush=True,
            )

    median = {name: statistics.median(values) for name, values in results.items()}
    cost = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"\nmedians over {args.rounds} rounds, {args.seconds} s each:")
    for name in VARIANTS:
        print(f"  {name:<13} {median[name]:9.0f} req/s  {cost[name]:6.1f} us CPU/request")
    for base in ("bare", "bare-quiet"):
        print(
            f"instrumented / {base:<10}: "
            f"throughput ratio {median['instrumented'] / median[base]:.3f}"
            f", CPU-per-request ratio {cost[base] / cost['instrumented']:.3f}"
            f" (+{cost['instrumented'] - cost[base]:.1f} us)"
        )
    print("target: instrumented >= 0.90 x bare (throughput)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
