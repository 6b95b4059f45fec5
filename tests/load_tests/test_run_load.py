"""load-tests/run_load.py: its statistics, and the locust mix against a live controller."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from tests.load_tests.test_pacing import load

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
    controller, base = run_load.start_controller(f"sqlite:///{tmp_path / 'load.db'}", "true")
    try:
        prefix = run_load.run_locust(base, rate=20, seconds=8, workdir=tmp_path)
    finally:
        controller.terminate()
        controller.wait(timeout=30)
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
