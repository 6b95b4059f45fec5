"""load-tests/run_load.py: its statistics, and the locust mix against a live controller."""

from __future__ import annotations

import argparse
import csv
import math
import shutil
from pathlib import Path

import pytest

from tests.load_tests.scripts import load

run_load = load("run_load")


def test_percentile_interpolates_between_samples() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert run_load.percentile(values, 0.5) == 30.0
    assert run_load.percentile(values, 0.99) == pytest.approx(49.6)
    assert run_load.percentile(values, 0.0) == 10.0
    assert math.isnan(run_load.percentile([], 0.5))


def test_latency_history_is_per_window() -> None:
    samples = [(100.0 + i / 10, float(i)) for i in range(100)]  # 10 s, 10 samples a second
    history = run_load.latency_history(samples, window_s=5.0)
    assert [h[0] for h in history] == [5.0, 10.0]
    first, second = history
    assert first[1] == pytest.approx(24.5)  # median of 0..49
    assert second[1] == pytest.approx(74.5)  # median of 50..99
    assert second[3] > second[2] > second[1]


@pytest.mark.e2e
def test_the_locust_mix_runs_against_a_live_controller(tmp_path: Path) -> None:
    controller = run_load.start_controller(f"sqlite:///{tmp_path / 'load.db'}", "true")
    try:
        prefix = run_load.run_locust(
            controller.url, controller.token, rate=20, seconds=8, workdir=tmp_path
        )
    finally:
        controller.stop()
        shutil.rmtree(controller.data_dir, ignore_errors=True)
    with open(f"{prefix}_raw.csv") as f:
        rows = list(csv.DictReader(f))
    names = {row["name"] for row in rows}
    assert {"POST /runs", "POST /runs/{id}/steps", "GET /runs", "GET /runs/{id}"} <= names
    failed = [row for row in rows if row["ok"] != "True"]
    assert not failed, failed[:5]
    result = run_load.read_results(prefix, "instrumented", 20, cpu_seconds=1.0, wall_s=8.0)
    assert result.error_rate == 0
    assert 0 < result.p50_ms <= result.p95_ms <= result.p99_ms
    assert 0 < result.cpu_us_per_request < 1e6 / 20  # 1 CPU-second over >= 20 requests


def result(variant: str, rate: float, p50: float, cpu: float) -> object:
    return run_load.RunResult(
        variant=variant,
        rate=rate,
        rps=rate * 0.95,
        p50_ms=p50,
        p95_ms=p50 * 2,
        p99_ms=p50 * 3,
        error_rate=0.0,
        cpu_percent=cpu,
        cpu_us_per_request=1e4 * cpu / rate,
    )


def test_report_judges_the_targets_from_the_medians(tmp_path: Path) -> None:
    results = [
        result("instrumented", 150, 5.0, 30.0),
        result("bare", 150, 4.0, 28.0),
        result("instrumented", 150, 6.0, 36.0),
        result("bare", 150, 4.5, 29.0),
    ]
    args = argparse.Namespace(pg_url=None, rate=150.0, seconds=60, rounds=2)
    out = tmp_path / "report.md"
    run_load.write_report(results, {}, [], args, out, tmp_path / "plot.png")
    text = out.read_text()
    assert "| instrumentation adds < 5 ms to the median | +1.2 ms | pass |" in text
    assert "+4.5 points of one core (28.5% -> 33.0%" in text
    assert "| MISS |" in text  # 4.5 points is over the 3-point budget
    assert "p50 +1.0, +1.5 ms" in text


def test_report_of_a_maximum_rate_search_alone(tmp_path: Path) -> None:
    steps = [result("instrumented", rate, 5.0, rate / 10) for rate in (150, 225, 338)]
    args = argparse.Namespace(pg_url=None, rate=150.0, seconds=60, rounds=0)
    out = tmp_path / "report.md"
    run_load.write_report([], {"instrumented": 225.0}, steps, args, out, tmp_path / "plot.png")
    text = out.read_text()
    assert "- instrumented: 225 requests/s" in text
    assert "| instrumented | 338 | 321.1 | 5.0 | 15.0 | 0.00% | 33.8% |" in text
    assert "Offered rate" not in text  # no instrumented-vs-bare section without its runs
