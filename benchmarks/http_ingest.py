"""Batched HTTP ingestion into PostgreSQL: steps/s through ``POST /events/batch``.

Starts a throwaway PostgreSQL (tests/pg_server.py; fsync and synchronous_commit off, as in the
test suite: say so when quoting figures) or uses ``--pg-url``, serves the controller with
uvicorn (``--workers``), creates runs, then drives wrk with batches of ``--batch`` step events
spread over those runs. Prints requests/s, steps/s, latency, the CPU time per step of the
controller's processes and of PostgreSQL's (from /proc: on this shared 2-core VM throughput
drifts, CPU per step much less), the ratio to the target (issue 16: >= 50,000 steps/s with 2
workers and 100 steps per request), and checks the stored step count.

With ``--compare-with DIR`` the controller of another checkout is measured too, in alternated
rounds (``--rounds``), each tree on its own ``PYTHONPATH``: before/after in one run.
``--keyed`` sends every batch with an ``Idempotency-Key`` of its own, as the SDK's
``HttpSink`` does (the stored-once path: one more statement per batch).

Usage: python benchmarks/http_ingest.py [--seconds 15] [--connections 16] [--workers 2]
       [--rounds 1] [--compare-with DIR] [--keyed]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.controller_process import ControllerProcess  # noqa: E402 - after the path set-up
from tests.pg_server import PostgresServer  # noqa: E402
from tests.ports import free_port  # noqa: E402

# The controller registers this admin key from its data directory; every request sends it.

TARGET_STEPS_PER_S = 50_000


# A version-4-shaped UUID per request, from wrk's Lua random numbers: unique enough for
# a benchmark's few hundred thousand batches (2^122 values).
_LUA_KEY = (
    "local function key()\n"
    "  local t = {}\n"
    "  for n = 1, 32 do t[n] = string.format('%x', math.random(0, 15)) end\n"
    "  t[13] = '4'\n"
    "  t[17] = string.format('%x', 8 + math.random(0, 3))\n"
    "  local h = table.concat(t)\n"
    "  return h:sub(1, 8) .. '-' .. h:sub(9, 12) .. '-' .. h:sub(13, 16) .. '-'"
    " .. h:sub(17, 20) .. '-' .. h:sub(21, 32)\n"
    "end\n"
)


def lua_script(run_ids: list[str], batch: int, token: str, *, keyed: bool = False) -> str:
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
        + (f"math.randomseed({secrets.randbits(31)})\n" + _LUA_KEY if keyed else "")
        + "request = function()\n"
        "  i = i % #bodies + 1\n"
        + ('  wrk.headers["Idempotency-Key"] = key()\n' if keyed else "")
        + '  return wrk.format("POST", "/events/batch", nil, bodies[i])\n'
        "end\n"
    )


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants, living and reaped."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass
class Round:
    tree: str
    steps_per_s: float
    requests_per_s: float
    p50: str
    p99: str
    non_2xx: int
    controller_us_per_step: float
    postgres_us_per_step: float
    stored: int
    sent: int


def measure(tree: Path, label: str, url: str, postmaster: int | None, args: Any) -> Round:
    """One round: a fresh controller from ``tree`` on database ``url``, driven by wrk."""
    port = free_port()
    controller = ControllerProcess(
        url,
        Path(tempfile.mkdtemp(prefix="vigil-bench-")),
        port,
        settings={"VIGIL_LOG_LEVEL": "INFO", "VIGIL_PERSIST_LOGS": "all"},  # the defaults
        command=[sys.executable, "-m", "uvicorn", "--factory", "vigil.controller:create_app",
                 "--port", str(port), "--workers", str(args.workers), "--no-access-log",
                 "--log-level", "warning"],
        tree=tree,
        keep_output=False,
    )  # fmt: skip
    base, auth = controller.url, controller.headers
    try:
        controller.start()
        run_ids = [
            httpx.post(
                f"{base}/runs",
                json={"name": f"bench {n}", "agent": "bench", "project_id": "bench"},
                headers=auth,
            ).json()["id"]
            for n in range(args.runs)
        ]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(lua_script(run_ids, args.batch, controller.token, keyed=args.keyed))
        cpu_before = tree_cpu_seconds(controller.pid)
        pg_before = 0.0 if postmaster is None else tree_cpu_seconds(postmaster)
        out = subprocess.run(
            ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
             "-s", script.name, f"{base}/events/batch"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        controller_cpu = tree_cpu_seconds(controller.pid) - cpu_before
        pg_cpu = 0.0 if postmaster is None else tree_cpu_seconds(postmaster) - pg_before
        os.unlink(script.name)
        stored = sum(
            httpx.get(f"{base}/runs/{r}", headers=auth).json()["step_count"] for r in run_ids
        )
    finally:
        controller.stop()
        shutil.rmtree(controller.data_dir, ignore_errors=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    latency = {
        p: re.search(rf"\s{p}%\s+(\S+)", out).group(1)  # type: ignore[union-attr]
        for p in ("50", "99")
    }
    sent = requests * args.batch
    return Round(
        tree=label, steps_per_s=rps * args.batch, requests_per_s=rps, p50=latency["50"],
        p99=latency["99"], non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        controller_us_per_step=controller_cpu / max(sent, 1) * 1e6,
        postgres_us_per_step=pg_cpu / max(sent, 1) * 1e6, stored=stored, sent=sent,
    )  # fmt: skip


def _postmaster(server: PostgresServer | None) -> int | None:
    if server is None:
        return None
    return int((server.data_dir / "postmaster.pid").read_text().split()[0])


def _show(result: Round, index: int) -> None:
    print(
        f"round {index} {result.tree:<7} {result.steps_per_s:9,.0f} steps/s "
        f"({result.requests_per_s:.1f} req/s, p50 {result.p50}, p99 {result.p99}), "
        f"CPU/step: controller {result.controller_us_per_step:6.1f} us, "
        f"PostgreSQL {result.postgres_us_per_step:5.1f} us; non-2xx {result.non_2xx}, "
        f"stored {result.stored:,} of {result.sent:,} sent",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--runs", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--compare-with", type=Path, help="another checkout, measured too")
    parser.add_argument("--pg-url", help="use this PostgreSQL database instead of a fresh one")
    parser.add_argument("--keyed", action="store_true", help="an Idempotency-Key per batch")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: make bench-deps (or apt-get install wrk)")
    trees = [("this", ROOT)]
    if args.compare_with is not None:
        trees.insert(0, ("before", args.compare_with.resolve()))
    server = None if args.pg_url else PostgresServer.start()
    results: list[Round] = []
    try:
        print(
            f"controller workers: {args.workers}, connections: {args.connections}, "
            f"batch: {args.batch} steps/request, {args.rounds} round(s) of {args.seconds}s"
        )
        for index in range(1, args.rounds + 1):
            for label, tree in trees:
                if server is None:
                    url = args.pg_url
                else:  # a fresh database per round: each starts from the same empty tables
                    url = server.create_database(f"bench_http_{label}_{index}")
                result = measure(tree, label, url, _postmaster(server), args)
                _show(result, index)
                results.append(result)
    finally:
        if server is not None:
            server.stop()
    print()
    for label, _ in trees:
        mine = [r for r in results if r.tree == label]
        rate = statistics.median(r.steps_per_s for r in mine)
        cpu = statistics.median(r.controller_us_per_step for r in mine)
        pg = statistics.median(r.postgres_us_per_step for r in mine)
        print(
            f"{label:<7} median {rate:9,.0f} steps/s, CPU/step controller {cpu:.1f} us, "
            f"PostgreSQL {pg:.1f} us; target {TARGET_STEPS_PER_S:,} -> "
            f"ratio {rate / TARGET_STEPS_PER_S:.2f}"
        )
    if len(trees) == 2:
        pairs = list(zip(results[::2], results[1::2], strict=True))
        ratios = [new.steps_per_s / old.steps_per_s for old, new in pairs]
        cpu_ratios = [new.controller_us_per_step / old.controller_us_per_step for old, new in pairs]
        print(
            f"this / before, per round: steps/s x{', x'.join(f'{r:.2f}' for r in ratios)}; "
            f"controller CPU/step x{', x'.join(f'{r:.2f}' for r in cpu_ratios)}"
        )
    return 1 if any(r.non_2xx for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
