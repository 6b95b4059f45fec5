"""Where a request's microseconds go, under the real server: py-spy samples uvicorn while wrk
drives it, as in ``instrumentation_overhead.py`` (uvicorn on CPU 0, wrk on CPU 1).

Prints the server's CPU time per request (from /proc) and the functions that spend it, by
their own time (self) and with what they call (total), converted to microseconds per request:
a function's share of the samples times the CPU per request. Samples of every thread are
counted (the span exporter's thread among them); idle threads are not sampled.

Usage: python benchmarks/profile_server.py [--variant instrumented] [--seconds 10]
       [--rate 500] [--top 25] [--match vigil]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ports import free_port  # noqa: E402

from benchmarks.instrumentation_overhead import (  # noqa: E402 - after the path set-up
    STORE_URL_VARIABLE,
    VARIANTS,
    SpanStore,
    cpu_seconds,
    require_tools,
    start_server,
    wait_ready,
)

FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>.+?)(?::\d+)?\)$")


def _location(frame: str) -> str:
    """``function (file)`` with the site-packages prefix and line numbers left out."""
    found = FRAME.match(frame)
    if found is None:
        return frame
    file = found["file"].split("site-packages/")[-1].replace(str(ROOT) + "/", "")
    return f"{found['function']} ({file})"


def profile(stacks: Path) -> tuple[collections.Counter[str], collections.Counter[str], int]:
    """Self and total samples per function, and all samples, from py-spy's raw output."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in stacks.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_location(f) for f in stack.split(";")[1:]]  # the first is the thread
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for function in set(frames):
            total[function] += count
    return own, total, samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", default="instrumented", choices=sorted(VARIANTS))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=500, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="only functions whose location has this")
    args = parser.parse_args()
    require_tools(("wrk", "taskset"), "make bench-deps (or apt-get install wrk util-linux)")
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        sys.exit("py-spy is missing: pip install -e '.[dev]'")
    variant = VARIANTS[args.variant]
    store = SpanStore() if args.variant == "tracing" else None
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'backend'}"}
    if store is not None:
        env[STORE_URL_VARIABLE] = store.fresh_url()
    port = free_port()
    server = start_server(variant, port, ROOT, env)
    try:
        wait_ready(port)
        url = f"http://127.0.0.1:{port}/items/abc123"
        wrk = ["taskset", "-c", "1", "wrk", "-t1", f"-c{args.connections}"]
        subprocess.run([*wrk, "-d2s", url], check=True, capture_output=True)
        with tempfile.TemporaryDirectory() as scratch:
            stacks = Path(scratch) / "stacks.txt"
            spy = subprocess.Popen(
                ["taskset", "-c", "1", str(py_spy), "record", "--pid", str(server.pid),
                 "--rate", str(args.rate), "--duration", str(args.seconds), "--format", "raw",
                 "--threads", "--output", str(stacks)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            cpu_before = cpu_seconds(server.pid)
            out = subprocess.run(
                [*wrk, f"-d{args.seconds}s", url], check=True, capture_output=True, text=True
            ).stdout
            cpu_used = cpu_seconds(server.pid) - cpu_before
            _, spy_errors = spy.communicate(timeout=60)
            if spy.returncode != 0 or not stacks.exists():
                sys.exit(f"py-spy failed: {spy_errors}")
            own, total, samples = profile(stacks)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if store is not None:
            store.stop()
    count = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if count is None or rps is None or samples == 0:
        sys.exit(f"unexpected wrk output or no samples:\n{out}")
    per_request = cpu_used / int(count[1]) * 1e6
    print(f"{args.variant}: {float(rps[1]):.0f} req/s, {per_request:.1f} us CPU/request"
          f" (py-spy sampled {samples} stacks; its own sampling slows the server)")  # fmt: skip
    for title, counter in (("self", own), ("total (with callees)", total)):
        print(f"\ntop functions by {title}, us per request:")
        shown = 0
        for function, hits in counter.most_common():
            if args.match and args.match not in function:
                continue
            print(f"  {hits / samples * per_request:7.2f}  {function}")
            shown += 1
            if shown == args.top:
                break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
