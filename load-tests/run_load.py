"""Headless load runs against the controller on PostgreSQL, with and without instrumentation.

What it does, in one invocation:
1. Starts a throwaway PostgreSQL (tests/pg_server.py) unless ``--pg-url`` names one (e.g. the
   native stack's).
2. For each round, for each variant (``instrumented``: ``VIGIL_INSTRUMENTATION_ENABLED=true``;
   ``bare``: false), starts the controller (uvicorn, one process, pinned to CPU 0) on a fresh
   database, runs locust headless (pinned to CPU 1) at a fixed offered rate for ``--seconds``,
   and records requests/s, p50/p95/p99, error rate and the controller's CPU use (its
   user+system CPU time over the wall time of the run, from /proc via psutil, and per request).
   Percentiles are computed from every request's unrounded response time (the locustfile writes
   them when ``VIGIL_LOAD_RAW`` is set); locust's own percentiles are rounded to 10 ms above
   100 ms, too coarse for a 5 ms target.
   Variants alternate A B A B so drift on the machine hits both alike.
3. Optionally (``--max-rate``) steps the offered rate up by 1.5x for each variant until a rate
   is not sustained (p99 >= 1 s, errors >= 1%, or throughput flattening: achieved/offered more
   than 5% under its value at the first rate), bisects twice, and reports the highest
   sustained rate with every step.
4. Writes ``results/<date>-load.md`` (tables, machine description, pass/fail against the
   targets) and ``results/<date>-latency.png`` (p50/p95/p99 over time for each run).

Targets (issue 5): p99 < 1 s; instrumentation adds < 3% CPU and < 5 ms to the median latency.

Usage: python load-tests/run_load.py [--rate 150] [--seconds 60] [--rounds 3] [--max-rate]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.controller_process import ControllerProcess  # noqa: E402 - after the path set-up
from tests.pg_server import PostgresServer  # noqa: E402
from tests.ports import free_port  # noqa: E402

USER_RPS = 2.0  # each locust user paces itself at this many requests/s
VARIANTS = {"instrumented": "true", "bare": "false"}


@dataclass
class RunResult:
    variant: str
    rate: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_rate: float
    cpu_percent: float
    cpu_us_per_request: float
    history: list[tuple[float, float, float, float]] = field(default_factory=list)

    @property
    def sustainable(self) -> bool:
        return self.p99_ms < 1000 and self.error_rate < 0.01


def start_controller(db_url: str, instrumented: str) -> ControllerProcess:
    """A controller on ``db_url`` pinned to CPU 0, with instrumentation on or off, storing its
    own logs as it does by default; started and ready (its startup probe answered)."""
    controller = ControllerProcess(
        db_url,
        Path(tempfile.mkdtemp(prefix="vigil-load-")),
        free_port(),
        settings={
            "VIGIL_INSTRUMENTATION_ENABLED": instrumented,
            "VIGIL_LOG_LEVEL": "INFO",
            "VIGIL_PERSIST_LOGS": "all",
        },
        prefix=("taskset", "-c", "0"),
        keep_output=False,
    )
    controller.start()
    return controller


def run_locust(base: str, token: str, rate: float, seconds: int, workdir: Path) -> Path:
    """Run locust headless; returns the prefix of its CSV files (``<prefix>_raw.csv``: samples)."""
    users = max(1, round(rate / USER_RPS))
    prefix = workdir / "locust"
    subprocess.run(
        [
            "taskset",
            "-c",
            "1",
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "--host",
            base,
            "-u",
            str(users),
            "-r",
            str(max(1, users // 5)),
            "-t",
            f"{seconds}s",
            "--csv",
            str(prefix),
            "--csv-full-history",
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--stop-timeout",
            "5",
            "--exit-code-on-error",
            "0",
        ],
        check=True,
        cwd=ROOT,
        env={
            **os.environ,
            "VIGIL_LOAD_USER_RPS": str(USER_RPS),
            "VIGIL_LOAD_RAW": f"{prefix}_raw.csv",
            "VIGIL_API_KEY": token,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return prefix


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of already sorted values, by linear interpolation."""
    if not sorted_values:
        return float("nan")
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def latency_history(
    samples: list[tuple[float, float]], window_s: float = 5.0
) -> list[tuple[float, float, float, float]]:
    """(seconds into the run, p50, p95, p99) of each ``window_s`` window of (time, ms) samples."""
    if not samples:
        return []
    t0 = samples[0][0]
    windows: dict[int, list[float]] = {}
    for timestamp, ms in samples:
        windows.setdefault(int((timestamp - t0) // window_s), []).append(ms)
    history = []
    for index in sorted(windows):
        values = sorted(windows[index])
        history.append(
            (
                (index + 1) * window_s,
                percentile(values, 0.50),
                percentile(values, 0.95),
                percentile(values, 0.99),
            )
        )
    return history


def read_results(
    prefix: Path, variant: str, rate: float, cpu_seconds: float, wall_s: float
) -> RunResult:
    with open(f"{prefix}_stats.csv") as f:
        total = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    with open(f"{prefix}_raw.csv") as f:
        rows = list(csv.DictReader(f))
    samples = sorted((float(r["timestamp"]), float(r["response_time_ms"])) for r in rows)
    times = sorted(ms for _, ms in samples)
    requests = int(total["Request Count"])
    return RunResult(
        variant=variant,
        rate=rate,
        rps=float(total["Requests/s"]),
        p50_ms=percentile(times, 0.50),
        p95_ms=percentile(times, 0.95),
        p99_ms=percentile(times, 0.99),
        error_rate=int(total["Failure Count"]) / requests if requests else 1.0,
        cpu_percent=100 * cpu_seconds / wall_s,
        cpu_us_per_request=1e6 * cpu_seconds / requests if requests else float("nan"),
        history=latency_history(samples),
    )


def one_run(
    server: PostgresServer | None,
    pg_url: str | None,
    variant: str,
    rate: float,
    seconds: int,
    n: int,
) -> RunResult:
    db_url = pg_url or server.create_database(f"load_{variant}_{n}")  # type: ignore[union-attr]
    controller = start_controller(db_url, VARIANTS[variant])
    try:
        process = psutil.Process(controller.pid)
        before, started = process.cpu_times(), time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            prefix = run_locust(controller.url, controller.token, rate, seconds, Path(tmp))
            after, wall = process.cpu_times(), time.monotonic() - started
            cpu_seconds = (after.user - before.user) + (after.system - before.system)
            result = read_results(prefix, variant, rate, cpu_seconds, wall)
    finally:
        controller.stop()
        shutil.rmtree(controller.data_dir, ignore_errors=True)
    print(
        f"  {variant:<12} rate {rate:6.0f}/s -> {result.rps:7.1f} req/s  p50 {result.p50_ms:6.0f}"
        f" p95 {result.p95_ms:6.0f} p99 {result.p99_ms:6.0f} ms  errors "
        f"{100 * result.error_rate:5.2f}%  cpu {result.cpu_percent:5.1f}% "
        f"({result.cpu_us_per_request:.0f} us/request)",
        flush=True,
    )
    return result


def plot(results: list[RunResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
    for ax, (label, index) in zip(axes, (("p50", 1), ("p95", 2), ("p99", 3)), strict=True):
        for n, result in enumerate(results):
            xs = [h[0] for h in result.history]
            ys = [h[index] for h in result.history]
            style = "-" if result.variant == "instrumented" else "--"
            ax.plot(xs, ys, style, label=f"{result.variant} #{n // 2 + 1}")
        ax.set_title(f"{label} latency over time")
        ax.set_xlabel("seconds into the run")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("ms")
    axes[0].legend(fontsize=8)
    fig.suptitle("Vigil controller under the locust mix (instrumented vs bare)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def write_report(
    results: list[RunResult],
    maxima: dict[str, float],
    steps: list[RunResult],
    args: argparse.Namespace,
    out: Path,
    png: Path,
) -> None:
    lines = [
        f"# Load test, {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine()}. Controller: one uvicorn process pinned to CPU 0; locust pinned "
        "to CPU 1; PostgreSQL unpinned"
        + (" (throwaway server, fsync and synchronous_commit off)." if not args.pg_url else "."),
    ]
    if results:
        lines += ab_section(results, args)
    if maxima:
        lines += [
            "",
            "Maximum sustained offered rate (p99 < 1 s, errors < 1%, achieved/offered within 5% "
            "of its value at the first rate):",
            "",
        ]
        lines += [f"- {variant}: {rate:.0f} requests/s" for variant, rate in maxima.items()]
        lines += [
            "",
            "| variant | offered req/s | achieved req/s | p50 ms | p99 ms | errors | CPU |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r.variant} | {r.rate:.0f} | {r.rps:.1f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{100 * r.error_rate:.2f}% | {r.cpu_percent:.1f}% |"
            for r in steps
        ]
    if results:
        lines += ["", f"![latency percentiles over time]({png.name})"]
    lines.append("")
    out.write_text("\n".join(lines))
    print("\n".join(lines))


def ab_section(results: list[RunResult], args: argparse.Namespace) -> list[str]:
    """The instrumented-vs-bare tables and verdicts."""

    def med(variant: str, attr: str) -> float:
        return float(statistics.median(getattr(r, attr) for r in results if r.variant == variant))

    d_p50 = med("instrumented", "p50_ms") - med("bare", "p50_ms")
    # Paired by round: run 2k-1 (instrumented) against run 2k (bare), minutes apart.
    instrumented = [r for r in results if r.variant == "instrumented"]
    bare = [r for r in results if r.variant == "bare"]
    pairs = list(zip(instrumented, bare, strict=False))
    paired_p50 = ", ".join(f"{i.p50_ms - b.p50_ms:+.1f}" for i, b in pairs)
    paired_cpu = ", ".join(f"{i.cpu_percent - b.cpu_percent:+.1f}" for i, b in pairs)
    us_i, us_b = med("instrumented", "cpu_us_per_request"), med("bare", "cpu_us_per_request")
    cpu_i, cpu_b = med("instrumented", "cpu_percent"), med("bare", "cpu_percent")
    d_cpu_points = cpu_i - cpu_b
    d_cpu_rel = 100 * d_cpu_points / cpu_b if cpu_b else float("nan")
    worst_p99 = max(r.p99_ms for r in results)
    lines = [
        f"Offered rate: {args.rate:.0f} requests/s for {args.seconds} s per run, "
        f"{args.rounds} rounds, variants alternated; mix in load-tests/locustfile.py. "
        "Percentiles are exact, over every request's unrounded response time (SSE streams "
        "excluded); CPU is the controller process' user+system time.",
        "",
        "| run | variant | req/s | p50 ms | p95 ms | p99 ms | errors | controller CPU "
        "| CPU per request |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, r in enumerate(results, 1):
        lines.append(
            f"| {n} | {r.variant} | {r.rps:.1f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | "
            f"{r.p99_ms:.1f} | {100 * r.error_rate:.2f}% | {r.cpu_percent:.1f}% | "
            f"{r.cpu_us_per_request:.0f} µs |"
        )

    def verdict(ok: bool) -> str:
        return "pass" if ok else "MISS"

    lines += [
        "",
        "| target | measured (medians) | verdict |",
        "| --- | --- | --- |",
        f"| p99 < 1 s | worst p99 {worst_p99:.0f} ms | {verdict(worst_p99 < 1000)} |",
        f"| instrumentation adds < 5 ms to the median | {d_p50:+.1f} ms | {verdict(d_p50 < 5)} |",
        f"| instrumentation adds < 3% CPU | {d_cpu_points:+.1f} points of one core "
        f"({cpu_b:.1f}% -> {cpu_i:.1f}%, {d_cpu_rel:+.1f}% relative) | "
        f"{verdict(d_cpu_points < 3)} |",
        "",
        f"Per round (instrumented minus bare): p50 {paired_p50} ms; CPU {paired_cpu} points. "
        f"CPU per request (medians): {us_b:.0f} µs bare, {us_i:.0f} µs instrumented "
        f"({us_i - us_b:+.0f} µs).",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=150.0, help="offered requests/s")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="0: only the maximum rate")
    parser.add_argument("--max-rate", action="store_true", help="also find the maximum rate")
    parser.add_argument("--pg-url", help="use this PostgreSQL database instead of a fresh one")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    server = None if args.pg_url else PostgresServer.start()
    results: list[RunResult] = []
    maxima: dict[str, float] = {}
    steps: list[RunResult] = []
    try:
        n = 0
        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}")
            for variant in VARIANTS:
                n += 1
                results.append(one_run(server, args.pg_url, variant, args.rate, args.seconds, n))
        if args.max_rate:
            for variant in VARIANTS:
                print(f"maximum rate, {variant}")
                best, worst = 0.0, None
                rate = args.rate
                base_ratio: float | None = None
                # Up by 1.5x until a rate is not sustained, then two bisection steps between the
                # last sustained and the first failed rate (geometric midpoints: ~1.1x apart).
                for _ in range(12):
                    n += 1
                    result = one_run(server, args.pg_url, variant, rate, 30, n)
                    steps.append(result)
                    # Achieved req/s sits under the offered rate at any load (about 0.92 here:
                    # the SSE watchers' streams are not requests in the stats), so "keeps up"
                    # means an achieved/offered ratio within 5% of the one at the first rate.
                    # Past capacity the ratio falls (users wait instead of queueing without
                    # bound), p99 may stay under 1 s, and only this catches it.
                    ratio = result.rps / rate
                    base_ratio = base_ratio or ratio
                    if result.sustainable and ratio >= 0.95 * base_ratio:
                        best = rate
                    else:
                        worst = rate
                    if worst is None:
                        rate *= 1.5
                    elif best == 0.0 or worst / best < 1.2:
                        break
                    else:
                        rate = (best * worst) ** 0.5
                maxima[variant] = best
    finally:
        if server is not None:
            server.stop()

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.date.today().isoformat()
    png = args.out / f"{stamp}-latency.png"
    if results:
        plot(results, png)
    write_report(results, maxima, steps, args, args.out / f"{stamp}-load.md", png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
