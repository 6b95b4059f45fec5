"""The Prometheus configuration, recording and alerting rules, checked with the real promtool.

promtool comes from the Debian package ``prometheus`` (scripts/install-native-deps.sh installs
it; CI does the same). A missing promtool fails these tests instead of skipping them: a green
run must mean the rules were really checked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from tests.config.promtool import promtool

from vigil.stack import render_prometheus
from vigil.stack._render import PROMETHEUS_SECRET_FILES

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "prometheus"
CONFIG = PROMETHEUS / "prometheus.yml"
RULES = PROMETHEUS / "rules"
ALERTS = RULES / "alerts.yml"
RECORDING = RULES / "recording.yml"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
FAST_TEST = PROMETHEUS / "tests" / "fast" / "high_error_rate_fast_test.yml"
RENDERER = REPO / "scripts" / "render_alert_test_rules.py"
RUNBOOK = REPO / "docs" / "runbook.md"


def _run(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{' '.join(map(str, args))}\n{result.stdout}{result.stderr}"
    return result


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _rules(path: Path, kind: str) -> list[dict[str, Any]]:
    return [rule for group in _load(path)["groups"] for rule in group["rules"] if kind in rule]


def _alert_cases() -> list[tuple[str, dict[str, Any]]]:
    """Every alert_rule_test of prometheus/tests/*.yml, with the file it is in."""
    return [
        (test_file.name, case)
        for test_file in RULE_TESTS
        for group in _load(test_file)["tests"]
        for case in group.get("alert_rule_test", [])
    ]


def _matches(rule: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Whether an exp_alerts entry is an alert of `rule` (same name shared by several rules)."""
    labels = expected.get("exp_labels", {})
    return all(labels.get(k) == v for k, v in rule.get("labels", {}).items())


def _github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation out, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_promtool_accepts_prometheus_config(tmp_path: Path) -> None:
    """`promtool check config` passes on prometheus.yml, which also loads the rule files.

    promtool checks that every credentials_file it names exists: the file is checked as
    native mode renders it (hosts and secret paths only), with the secrets it names present.
    """
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in PROMETHEUS_SECRET_FILES:
        (secrets / name).write_text("placeholder\n")
    rendered = tmp_path / "prometheus.yml"
    rendered.write_text(
        render_prometheus(
            CONFIG.read_text(),
            controller="127.0.0.1:8000",
            alertmanager="127.0.0.1:9093",
            prometheus="127.0.0.1:9090",
            secrets_dir=secrets,
            temporal="127.0.0.1:7235",
            temporal_sdk="127.0.0.1:9464",
        )
    )
    shutil.copytree(RULES, tmp_path / "rules")
    result = _run(promtool(), "check", "config", rendered)
    assert "2 rule files found" in result.stdout


def test_promtool_accepts_rule_files() -> None:
    """`promtool check rules` passes on every rule file: valid PromQL, no duplicate rules."""
    _run(promtool(), "check", "rules", *sorted(RULES.glob("*.yml")))


def test_promtool_rule_unit_tests_pass() -> None:
    """`promtool test rules` passes on prometheus/tests/*.yml (recording values, alert cases)."""
    assert {p.name for p in RULE_TESTS} >= {"alerts_test.yml", "recording_test.yml"}
    _run(promtool(), "test", "rules", *RULE_TESTS)


def test_scrape_jobs_and_alerting_target() -> None:
    """The jobs, targets and intervals other parts rely on (dashboards, native rendering)."""
    config = _load(CONFIG)
    assert config["global"]["scrape_interval"] == "15s"
    assert config["global"]["evaluation_interval"] == "15s"
    assert config["rule_files"] == ["rules/*.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {
        "vigil-controller",
        "prometheus",
        "alertmanager",
        "temporal-server",
        "temporal-sdk",
    }
    assert jobs["vigil-controller"]["metrics_path"] == "/metrics"
    targets = {name: job["static_configs"][0]["targets"] for name, job in jobs.items()}
    assert targets == {
        "vigil-controller": ["controller:8000"],
        "prometheus": ["localhost:9090"],
        "alertmanager": ["alertmanager:9093"],
        "temporal-server": ["temporal:7235"],
        # An agent's worker, on the Docker host (the prometheus service maps the name).
        "temporal-sdk": ["host.docker.internal:9464"],
    }
    [alertmanagers] = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_recording_rule_names_are_level_metric_operations() -> None:
    """Recording rules are named level:metric:operations, each part in snake_case."""
    for rule in _rules(RECORDING, "record"):
        assert re.fullmatch(r"[a-z0-9_]+:[a-z0-9_]+:[a-z0-9_]+", rule["record"]), rule["record"]


def test_error_ratio_recording_rules_have_unit_tests() -> None:
    """Every error-ratio recording rule has its value checked by a promql_expr_test."""
    tested = {
        case["expr"].strip()
        for test_file in RULE_TESTS
        for group in _load(test_file)["tests"]
        for case in group.get("promql_expr_test", [])
    }
    ratios = {r["record"] for r in _rules(RECORDING, "record") if "error_ratio" in r["record"]}
    assert len(ratios) == 6
    assert ratios <= tested, f"untested: {sorted(ratios - tested)}"


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    """Each alert carries a severity Alertmanager routes on and the annotations people read."""
    for rule in _rules(ALERTS, "alert"):
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        annotations = rule["annotations"]
        for key in ("summary", "description", "runbook_url"):
            assert str(annotations.get(key, "")).strip(), f"{name} has no {key}"
        assert re.fullmatch(r"docs/runbook\.md#[a-z0-9-]+", annotations["runbook_url"]), name


def test_every_runbook_anchor_exists() -> None:
    """Each runbook_url points at a heading that exists in docs/runbook.md."""
    headings = re.findall(r"^#{1,6} (.+)$", RUNBOOK.read_text(encoding="utf-8"), re.MULTILINE)
    anchors = {_github_anchor(h) for h in headings}
    for rule in _rules(ALERTS, "alert"):
        anchor = rule["annotations"]["runbook_url"].partition("#")[2]
        assert anchor in anchors, f"{rule['alert']}: no heading for #{anchor} in docs/runbook.md"


def test_every_alert_rule_has_a_firing_and_a_quiet_test_case() -> None:
    """Each alerting rule is seen firing in some promtool case, and absent in another.

    Rules sharing an alertname (the fast and slow burn) are told apart by their labels.
    """
    cases = _alert_cases()
    for rule in _rules(ALERTS, "alert"):
        own = [case for _, case in cases if case["alertname"] == rule["alert"]]
        fires = [c for c in own if any(_matches(rule, e) for e in c.get("exp_alerts") or [])]
        quiet = [c for c in own if not any(_matches(rule, e) for e in c.get("exp_alerts") or [])]
        labels = rule.get("labels", {})
        assert fires, f"no promtool case where {rule['alert']} {labels} fires"
        assert quiet, f"no promtool case where {rule['alert']} {labels} stays quiet"


def _render(tmp_path: Path, *args: str) -> Path:
    out = tmp_path / "alerts.fast.yml"
    _run(sys.executable, RENDERER, "--for", "10s", *args, "-o", out)
    return out


def test_rendered_alerts_only_shorten_for(tmp_path: Path) -> None:
    """The renderer changes nothing but `for:`, and only where it is longer than --for."""
    original = _rules(ALERTS, "alert")
    rendered = _rules(_render(tmp_path), "alert")
    assert len(rendered) == len(original)
    for before, after in zip(original, rendered, strict=True):
        expected = dict(before)
        if "for" in before:
            expected["for"] = "10s"
        assert after == expected


def test_rendered_alerts_pass_promtool(tmp_path: Path) -> None:
    """The rendered file is a valid rule file."""
    _run(promtool(), "check", "rules", _render(tmp_path))


def test_renderer_rewrites_windows_only_on_request(tmp_path: Path) -> None:
    """--window OLD=NEW rewrites range selectors and offsets, and nothing else."""
    text = _render(tmp_path, "--window", "5m=1m").read_text(encoding="utf-8")
    assert "[5m]" not in text
    assert "offset 5m" not in text
    assert "increase(sdk_events_dropped_total[1m])" in text
    assert "sdk_events_dropped_total offset 1m" in text
    # recording-rule names quote their window; they are names, not windows
    assert "service:request_error_ratio:rate5m" in text


def test_rendered_high_error_rate_fires_within_a_minute(tmp_path: Path) -> None:
    """Rendered with --for 10s, HighErrorRate fires within 1m of a spike (15s scrapes)."""
    _render(tmp_path)
    shutil.copy(RECORDING, tmp_path / "recording.yml")
    shutil.copy(FAST_TEST, tmp_path / FAST_TEST.name)
    _run(promtool(), "test", "rules", FAST_TEST.name, cwd=tmp_path)


def test_production_high_error_rate_does_not_fire_within_a_minute(tmp_path: Path) -> None:
    """The fast test fails against the real rules: it is the rendering that makes it pass."""
    shutil.copy(ALERTS, tmp_path / "alerts.fast.yml")
    shutil.copy(RECORDING, tmp_path / "recording.yml")
    shutil.copy(FAST_TEST, tmp_path / FAST_TEST.name)
    result = subprocess.run(
        [promtool(), "test", "rules", FAST_TEST.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "alertname: HighErrorRate" in result.stdout + result.stderr
