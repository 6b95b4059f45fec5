"""Instructions per request, counted by callgrind under the real server: the figure that the
noise of a shared VM does not move.

Throughput and CPU time per request (``instrumentation_overhead.py``) swing by up to 2x
between two runs of the same code on this machine (other tenants share its cores and
caches), so a change of a few microseconds cannot be told from drift. Valgrind's callgrind
counts the instructions the server executes instead: uvicorn runs under it with counting off
while it starts and warms up, counting is switched on for exactly ``--requests`` requests
(sent one at a time on one keep-alive connection), and the dump's total is divided by
them. The same app, the same requests: the same count, run after run, within a fraction of
a percent. It weighs every instruction alike (no cache misses, no syscalls' kernel time),
so it complements the throughput figures rather than replacing them.

Variants as in ``instrumentation_overhead.py`` (``bare`` with uvicorn's access log,
``bare-quiet``, ``instrumented``, ``tracing``, with ``--compare-with DIR`` also
``instrumented-before`` and ``tracing-before``, for those asked for: the same app served from
another checkout), and the diagnostics, by name: ``passthrough`` (a layer that does nothing),
``instrumented-quiet`` (the access record off) and ``tracing-null`` (spans made, then
dropped) split the cost into its parts.

``--threads`` also prints each thread's share (callgrind's ``--separate-threads``): thread 1
runs the event loop, and in the ``tracing`` variant the next busiest is the
``BatchSpanProcessor``'s, which converts and writes the spans; its figure per request is what
exporting one span costs (its batches of 512 do not end with the counted requests, so it
may be off by a few percent).

Usage: python benchmarks/instructions_per_request.py [--requests 2000]
       [--variants bare-quiet,instrumented] [--compare-with DIR] [--threads]
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ports import free_port  # noqa: E402 - after the path set-up

from benchmarks import _callgrind as callgrind  # noqa: E402
from benchmarks.instrumentation_overhead import (  # noqa: E402
    ALL_VARIANTS,
    BEFORE,
    COMPARED,
    STORE_URL_VARIABLE,
    SpanStore,
    measured,
    tree_of,
    variant_names,
    wait_ready,
)

PATH = "/items/abc123"


def _requests(port: int, count: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for _ in range(count):
            connection.request("GET", PATH)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{PATH} answered {response.status}")
    finally:
        connection.close()


def count_variant(
    name: str,
    requests: int,
    store: SpanStore | None,
    before: Path | None,
    scratch: Path,
    *,
    threads: bool = False,
) -> tuple[float, dict[int, float]]:
    """Instructions per request of one variant, and with ``threads`` of each of its threads
    (by callgrind's number: 1 the event loop's, then in the order they started)."""
    variant = ALL_VARIANTS[measured(name)]
    tree = tree_of(name, before)
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'backend'}"}
    if measured(name) == "tracing":
        if store is None:
            raise ValueError("the tracing variant needs its span store")
        env[STORE_URL_VARIABLE] = store.fresh_url()
    port = free_port()
    out = scratch / f"{name}.callgrind"
    server = subprocess.Popen(
        [*callgrind.counted(out, threads=threads), *variant.command(), "--port", str(port)],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_ready(port, timeout_s=300)
        _requests(port, 200)  # warm-up: first-call paths, caches, the exporter's first batch
        callgrind.start_counting(server.pid)
        _requests(port, requests)
        callgrind.dump(server.pid)
        time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=120)
    if threads:
        per_thread = callgrind.thread_totals(out)  # the dump taken after the counted requests
        if not per_thread:
            raise RuntimeError(f"no callgrind dump for {name}")
        counts = {thread: total / requests for thread, total in per_thread.items() if total}
        return sum(counts.values()), counts
    totals = callgrind.dump_totals(out)
    if not totals:
        raise RuntimeError(f"no callgrind dump for {name}")
    return max(totals) / requests, {}  # the dump taken after the counted requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--variants", default="bare-quiet,instrumented")
    parser.add_argument(
        "--compare-with", type=Path, help="another checkout (its instrumented, tracing apps)"
    )
    parser.add_argument(
        "--threads",
        action="store_true",
        help="also each thread's instructions per request (the span exporter's, the log's)",
    )
    args = parser.parse_args()
    callgrind.require_valgrind()
    names = variant_names(args.variants, args.compare_with)
    store = SpanStore() if any(measured(name) == "tracing" for name in names) else None
    counts: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for name in names:
                counts[name], per_thread = count_variant(
                    name, args.requests, store, args.compare_with, Path(scratch),
                    threads=args.threads,
                )  # fmt: skip
                print(f"{name:<20} {counts[name]:12,.0f} instructions/request", flush=True)
                for thread, count in per_thread.items():
                    print(f"  thread {thread:<11} {count:12,.0f}", flush=True)
    finally:
        if store is not None:
            store.stop()
    base = next((b for b in ("bare-quiet", "bare") if b in counts), None)
    if base is not None:
        print()
        for name, count in counts.items():
            if name != base:
                print(f"{name} / {base}: x{count / counts[base]:.3f} the instructions"
                      f" ({count - counts[base]:+,.0f} per request)")  # fmt: skip
    for name in COMPARED:
        if name in counts and name + BEFORE in counts:
            change = counts[name] / counts[name + BEFORE]
            print(f"{name} / {name}{BEFORE}: x{change:.3f}"
                  f" ({counts[name] - counts[name + BEFORE]:+,.0f} per request)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
