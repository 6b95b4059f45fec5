"""Throughput of the same endpoint on a bare FastAPI app and after ``vigil.instrument``.

Each app is served by uvicorn pinned to CPU 0; wrk, pinned to CPU 1, drives it. Variants are
alternated (A B A B ...) in one run so drift on the machine hits them alike. Prints each round,
the median requests/s per variant and the ratios; also the server's CPU time per request (from
/proc), which a VM's steal time does not blur the way it blurs throughput.
Targets, against ``bare-quiet``: instrumented >= 0.90 x bare (issue 16); tracing >= 0.80
(issue 11).

Variants:
- ``bare``: uvicorn defaults, so its own plain-text access log is on (what users run);
- ``bare-quiet``: the same with uvicorn's access log off (the strictest baseline);
- ``instrumented``: vigil's JSON access log replaces uvicorn's, plus request ids and RED metrics;
- ``tracing``: ``instrumented`` with ``tracing=True``: one server span per request, every
  request sampled, exported to the store (a PostgreSQL this script starts, pinned to CPU 1
  with wrk); after each round the spans stored and the drops counted are checked.
- ``tracing-null`` (only when named): ``tracing`` with its spans batched the same way and then
  dropped by a null exporter: the span's own cost, apart from its export.
Logs go to /dev/null in every variant.

``--peers`` adds the peers of the issue's table (``peer_apps``): starlette-exporter,
prometheus-fastapi-instrumentator with asgi-correlation-id and python-json-logger, and
opentelemetry-instrumentation-fastapi; they are served from their own virtual environment,
``benchmarks/.peers-venv``, which this script makes (or remakes, when
``peers-requirements.txt`` changed) with the very FastAPI stack Vigil runs on. Then a table
of every variant against ``bare-quiet`` closes the output.

``--compare-with DIR`` adds ``instrumented-before`` (and ``tracing-before`` when ``tracing`` is
asked for): the same app served from another checkout of Vigil (say ``git worktree add DIR
main``), alternated with this one's, to tell what a change does to the figure.

Usage: python benchmarks/instrumentation_overhead.py [--rounds 3] [--seconds 10]
       [--variants bare,instrumented,tracing] [--peers] [--compare-with DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ports import free_port  # noqa: E402 - after the path set-up

STORE_URL_VARIABLE = "VIGIL_BENCH_STORE_URL"
"""Where the ``tracing`` variant's app exports its spans (``overhead_apps.build_traced``)."""

PEERS_VENV = ROOT / "benchmarks" / ".peers-venv"
PEERS_REQUIREMENTS = ROOT / "benchmarks" / "peers-requirements.txt"


@dataclass(frozen=True)
class Variant:
    """How uvicorn serves one variant: the app, uvicorn's options, and where from."""

    target: str
    label: str
    extra: tuple[str, ...] = ("--no-access-log",)
    log_level: str = "warning"
    peer: bool = False
    """Served from the peers' virtual environment (``--peers``)."""

    def command(self) -> list[str]:
        python = str(PEERS_VENV / "bin" / "python") if self.peer else sys.executable
        return [python, "-m", "uvicorn", self.target, "--log-level", self.log_level, *self.extra]


VARIANTS = {
    "bare": Variant(
        "benchmarks.overhead_apps:bare",
        "bare FastAPI with uvicorn's plain access log",
        extra=(),
        log_level="info",
    ),
    "bare-quiet": Variant("benchmarks.overhead_apps:bare", "bare FastAPI, no access log"),
    "instrumented": Variant(
        "benchmarks.overhead_apps:instrumented",
        "vigil.instrument (request id, RED metrics, JSON access record, JSON errors)",
    ),
    "tracing": Variant(
        "benchmarks.overhead_apps:traced", "vigil.instrument, tracing=True, spans into the store"
    ),
}
DIAGNOSTICS = {
    "tracing-null": Variant(
        "benchmarks.overhead_apps:traced_null",
        "vigil.instrument, tracing=True, spans made and batched, then dropped",
    ),
    "passthrough": Variant(
        "benchmarks.overhead_apps:passthrough", "bare FastAPI and a layer that does nothing"
    ),
    "instrumented-quiet": Variant(
        "benchmarks.overhead_apps:instrumented_quiet",
        "vigil.instrument with the access record off (vigil.access at WARNING)",
    ),
}
"""Asked for by name only: where the cost goes. ``tracing``'s: its span against its export
(``tracing-null``); the instrumentation's: a layer as such (``passthrough``), the access
record (``instrumented`` against ``instrumented-quiet``), the rest."""
PEERS = {
    "starlette-exporter": Variant(
        "benchmarks.peer_apps:starlette_exporter", "starlette-exporter (metrics only)", peer=True
    ),
    "instrumentator-stack": Variant(
        "benchmarks.peer_apps:instrumentator_stack",
        "prometheus-fastapi-instrumentator + asgi-correlation-id + python-json-logger",
        extra=(),
        log_level="info",
        peer=True,
    ),
    "otel-fastapi": Variant(
        "benchmarks.peer_apps:otel_fastapi",
        "opentelemetry-instrumentation-fastapi, null exporter",
        peer=True,
    ),
}
ALL_VARIANTS = {**VARIANTS, **DIAGNOSTICS, **PEERS}
TARGETS = {"instrumented": 0.90, "tracing": 0.80}
BASELINE = "bare-quiet"
BEFORE = "-before"
"""The suffix of a variant served from the checkout of ``--compare-with``."""
COMPARED = ("instrumented", "tracing")
"""The variants that get a ``-before`` twin when another checkout is compared."""


def measured(name: str) -> str:
    """The variant ``name`` runs: ``tracing`` for ``tracing-before``."""
    return name.removesuffix(BEFORE)


def tree_of(name: str, before: Path | None) -> Path:
    """The checkout a variant is served from."""
    return before if name.endswith(BEFORE) and before is not None else ROOT


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


@dataclass
class Round:
    rps: float
    cpu_us: float
    requests: int
    spans: int | None = None
    dropped: float | None = None


class SpanStore:
    """The PostgreSQL the ``tracing`` variant exports to: one fresh database per round."""

    def __init__(self) -> None:
        from tests.pg_server import PostgresServer

        self.server = PostgresServer.start()
        pid = int((self.server.data_dir / "postmaster.pid").read_text().split()[0])
        # Server processes next to wrk on CPU 1; the app (and its exporter thread) on CPU 0.
        subprocess.run(
            ["taskset", "-a", "-p", "-c", "1", str(pid)], check=True, capture_output=True
        )
        self.rounds = 0

    def fresh_url(self) -> str:
        from vigil.storage import upgrade

        self.rounds += 1
        url = self.server.create_database(f"bench_{self.rounds}")
        upgrade(url)
        return url

    @staticmethod
    def count(url: str) -> int:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                return int(conn.scalar(text("SELECT count(*) FROM observability.spans")) or 0)
        finally:
            engine.dispose()

    def stop(self) -> None:
        self.server.stop()


def _dropped_spans(port: int) -> float:
    """``sdk_events_dropped_total`` of the server, every reason (span drops among them)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("sdk_events_dropped_total{")
    )


def start_server(
    variant: Variant, port: int, tree: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """uvicorn serving ``variant`` from ``tree``, pinned to CPU 0, its logs to /dev/null."""
    return subprocess.Popen(
        ["taskset", "-c", "0", *variant.command(), "--port", str(port)],
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def ensure_peers_venv() -> None:
    """The peers' virtual environment, made from ``peers-requirements.txt`` (again when the
    file changed: its digest is kept in the environment)."""
    digest = hashlib.sha256(PEERS_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = PEERS_VENV / "requirements.sha256"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"making {PEERS_VENV.relative_to(ROOT)} from {PEERS_REQUIREMENTS.name}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEERS_VENV)], check=True)
    pip = [str(PEERS_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "-r", str(PEERS_REQUIREMENTS)], check=True)
    stamp.write_text(digest)


def run_variant(
    name: str, seconds: int, connections: int, store: SpanStore | None, before: Path | None = None
) -> Round:
    variant = ALL_VARIANTS[measured(name)]
    port = free_port()
    tree = tree_of(name, before)
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'backend'}"}
    url = None
    if measured(name) == "tracing":
        if store is None:
            raise ValueError("the tracing variant needs its span store")
        url = env[STORE_URL_VARIABLE] = store.fresh_url()
    server = start_server(variant, port, tree, env)
    dropped = None
    try:
        wait_ready(port)
        url_items = f"http://127.0.0.1:{port}/items/abc123"
        warm = subprocess.run(
            ["taskset", "-c", "1", "wrk", "-t1", "-c8", "-d2s", url_items],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        cpu_before = cpu_seconds(server.pid)
        wrk = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url_items]
        out = subprocess.run(wrk, check=True, capture_output=True, text=True).stdout
        cpu_used = cpu_seconds(server.pid) - cpu_before
        if measured(name) == "tracing":
            dropped = _dropped_spans(port)
    finally:
        server.terminate()
        server.wait(timeout=30)  # the exporter flushes what is queued at exit
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    warm_count = re.search(r"(\d+) requests in", warm)
    if match is None or count is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"unexpected wrk output for {name}:\n{out}")
    requests = int(count.group(1))
    result = Round(float(match.group(1)), cpu_used / requests * 1e6, requests)
    if url is not None and store is not None and warm_count is not None:
        result.requests += int(warm_count.group(1))
        result.spans = store.count(url)
        result.dropped = dropped
    return result


def require_tools(tools: tuple[str, ...], hint: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: {hint}")


def variant_names(listed: str, compare_with: Path | None, *, peers: bool = False) -> list[str]:
    """The variants asked for (comma-separated), each of ``COMPARED`` followed by its
    ``-before`` twin when another checkout is compared (``instrumented-before`` second when
    neither is asked for) and the peers last with ``peers``; exits on an unknown one."""
    names = [name for name in listed.split(",") if name]
    if compare_with is not None:
        twins = [name for name in COMPARED if name in names]
        for name in twins:
            names.insert(names.index(name) + 1, name + BEFORE)
        if not twins:
            names.insert(1, "instrumented" + BEFORE)
    if peers:
        names += [name for name in PEERS if name not in names]
    unknown = {measured(name) for name in names} - set(ALL_VARIANTS)
    if unknown:
        sys.exit(f"variants: any of {sorted(ALL_VARIANTS)}; unknown: {sorted(unknown)}")
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--compare-with", type=Path, help="another checkout (its instrumented, tracing apps)"
    )
    parser.add_argument(
        "--peers", action="store_true", help="also the peers of the issue's table (own venv)"
    )
    args = parser.parse_args()
    require_tools(("wrk", "taskset"), "make bench-deps (or apt-get install wrk util-linux)")
    names = variant_names(args.variants, args.compare_with, peers=args.peers)
    if BASELINE not in names:
        sys.exit(f"variants: {BASELINE!r} and any of {sorted(ALL_VARIANTS)}")
    if any(ALL_VARIANTS[measured(name)].peer for name in names):
        ensure_peers_venv()

    store = SpanStore() if any(measured(name) == "tracing" for name in names) else None
    rounds: dict[str, list[Round]] = {name: [] for name in names}
    try:
        for round_no in range(1, args.rounds + 1):
            for name in names:
                result = run_variant(name, args.seconds, args.connections, store, args.compare_with)
                rounds[name].append(result)
                stored = ""
                if result.spans is not None:
                    stored = (
                        f"  spans stored {result.spans}/{result.requests} requests,"
                        f" dropped (counted) {result.dropped:.0f}"
                    )
                print(
                    f"round {round_no} {name:<13} {result.rps:9.0f} req/s"
                    f"  {result.cpu_us:6.1f} us CPU/request{stored}",
                    flush=True,
                )
    finally:
        if store is not None:
            store.stop()

    median = {name: statistics.median(r.rps for r in rs) for name, rs in rounds.items()}
    cost = {name: statistics.median(r.cpu_us for r in rs) for name, rs in rounds.items()}
    print(f"\nmedians over {args.rounds} rounds, {args.seconds} s each:")
    for name in names:
        print(f"  {name:<13} {median[name]:9.0f} req/s  {cost[name]:6.1f} us CPU/request")
    for name in names:
        if name.startswith("bare"):
            continue
        for base in ("bare", "bare-quiet"):
            if base not in names:
                continue
            print(
                f"{name} / {base:<10}: "
                f"throughput ratio {median[name] / median[base]:.3f}"
                f", CPU-per-request ratio {cost[base] / cost[name]:.3f}"
                f" (+{cost[name] - cost[base]:.1f} us)"
            )
    # Paired: each round's ratio to the bare run next to it, then their median. The machine's
    # speed drifts by up to 2x over minutes; neighbours in time drift together.
    for name in names:
        if name.startswith("bare"):
            continue
        for base in ("bare", "bare-quiet"):
            if base in names:
                paired = statistics.median(
                    r.rps / b.rps for r, b in zip(rounds[name], rounds[base], strict=True)
                )
                print(f"{name} / {base:<10}: median of the rounds' throughput ratios {paired:.3f}")
    print(f"\n| stack on the same endpoint | req/s | x {BASELINE} | us CPU/request |")
    print("| --- | --- | --- | --- |")
    for name in names:
        label = ALL_VARIANTS[measured(name)].label
        if name.endswith(BEFORE):
            label += ", the other checkout"
        print(
            f"| {label} | {median[name]:,.0f} | {median[name] / median[BASELINE]:.2f} "
            f"| {cost[name]:.1f} |"
        )
    for name, target in TARGETS.items():
        if name in names:
            ratio = median[name] / median[BASELINE]
            print(f"target: {name} >= {target:.2f} x {BASELINE} (throughput): {ratio:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
