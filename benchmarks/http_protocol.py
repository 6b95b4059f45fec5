"""What the controller's bounded HTTP protocol costs: the same app under uvicorn's httptools
protocol, under Vigil's bounded subclass of it, and under uvicorn's h11 protocol with its
head-size cap (the other way to bound headers), alternated in one run.

uvicorn is pinned to CPU 0, wrk to CPU 1 (as ``instrumentation_overhead.py``); the app is the
bare path-parameter endpoint of ``overhead_apps`` so that only the HTTP layer differs. Prints
each round, the medians, the ratios to plain httptools and the server's CPU per request.

Usage: python benchmarks/http_protocol.py [--rounds 3] [--seconds 6]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ports import free_port  # noqa: E402

from benchmarks.instrumentation_overhead import cpu_seconds, wait_ready  # noqa: E402

VARIANTS = ("httptools", "bounded", "h11")


def serve(variant: str, port: int) -> None:
    """Run the bare app under ``variant`` (called in the server subprocess)."""
    import uvicorn

    from benchmarks.overhead_apps import bare
    from vigil.controller.http_limits import HttpLimits, bounded_protocol

    http: object = {"httptools": "httptools", "h11": "h11"}.get(variant)
    if variant == "bounded":
        http = bounded_protocol(HttpLimits())
    uvicorn.run(
        bare,
        host="127.0.0.1",
        port=port,
        http=http,  # type: ignore[arg-type]
        access_log=False,
        log_level="warning",
        h11_max_incomplete_event_size=64 * 1024,
    )


def run_variant(variant: str, seconds: int, connections: int) -> tuple[float, float]:
    port = free_port()
    server = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, __file__, "--serve", variant, str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        wait_ready(port)
        url = f"http://127.0.0.1:{port}/items/abc123"
        warm = ["taskset", "-c", "1", "wrk", "-t1", "-c8", "-d2s", url]
        subprocess.run(warm, check=True, capture_output=True)
        before = cpu_seconds(server.pid)
        wrk = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
        out = subprocess.run(wrk, check=True, capture_output=True, text=True).stdout
        used = cpu_seconds(server.pid) - before
    finally:
        server.terminate()
        server.wait(timeout=10)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if rps is None or count is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"unexpected wrk output for {variant}:\n{out}")
    return float(rps.group(1)), used / int(count.group(1)) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve", nargs=2, metavar=("VARIANT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0
    for tool in ("wrk", "taskset"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: make bench-deps (or apt-get install wrk util-linux)")
    rps: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for round_no in range(1, args.rounds + 1):
        for variant in VARIANTS:
            r, c = run_variant(variant, args.seconds, args.connections)
            rps[variant].append(r)
            cpu[variant].append(c)
            print(f"round {round_no} {variant:<10} {r:9.0f} req/s  {c:6.1f} us CPU/request")
    print(f"\nmedians over {args.rounds} rounds of {args.seconds} s:")
    base_rps, base_cpu = statistics.median(rps["httptools"]), statistics.median(cpu["httptools"])
    for variant in VARIANTS:
        r, c = statistics.median(rps[variant]), statistics.median(cpu[variant])
        print(
            f"  {variant:<10} {r:9.0f} req/s  x{r / base_rps:.3f}   "
            f"{c:6.1f} us CPU/request ({c - base_cpu:+.1f} us)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
