"""Rendering the compose configs for native mode: exact rewrites, and the real checkers agree.

promtool and amtool come from the Debian packages ``prometheus`` and
``prometheus-alertmanager`` (scripts/install-native-deps.sh); a missing one fails the test.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from tests.e2e.native_stack import new_state_dir, stack_settings
from vigil.stack import RenderError, Stack, render_alertmanager, render_prometheus

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_YML = (REPO / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
ALERTMANAGER_YML = (REPO / "alertmanager" / "alertmanager.yml").read_text(encoding="utf-8")
TOKEN_PATH = "/etc/alertmanager/secrets/webhook_token"
COMPOSE_SECRETS = "/etc/prometheus/secrets"
SECRETS_DIR = Path("/state/secrets")


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: install the Debian package {package!r}", pytrace=False)
    return path


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new), "rendering must not add or remove lines"
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def _render_prometheus(**overrides: Any) -> str:
    return render_prometheus(
        PROMETHEUS_YML,
        controller="127.0.0.1:18000",
        alertmanager="127.0.0.1:19093",
        prometheus="127.0.0.1:19090",
        secrets_dir=SECRETS_DIR,
        temporal="127.0.0.1:17235",
        temporal_sdk="127.0.0.1:19464",
        **overrides,
    )


def test_prometheus_targets_rewritten_as_whole_host_port_strings() -> None:
    """Each compose host:port becomes 127.0.0.1:PORT, each password file the state
    directory's; only the lines holding one change."""
    rendered = _render_prometheus()
    for old, new in _changed_lines(PROMETHEUS_YML, rendered):
        if COMPOSE_SECRETS in old:
            assert new == old.replace(COMPOSE_SECRETS, str(SECRETS_DIR))
            continue
        compose_hosts = ("controller:8000", "alertmanager:9093", "localhost:9090",
                         "temporal:7235", "host.docker.internal:9464")  # fmt: skip
        assert any(h in old for h in compose_hosts)
        assert "127.0.0.1:" in new
    config = yaml.safe_load(rendered)
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets == {
        "vigil-controller": ["127.0.0.1:18000"],
        "prometheus": ["127.0.0.1:19090"],
        "alertmanager": ["127.0.0.1:19093"],
        "temporal-server": ["127.0.0.1:17235"],
        "temporal-sdk": ["127.0.0.1:19464"],
    }
    [alerting] = config["alerting"]["alertmanagers"]
    assert alerting["static_configs"][0]["targets"] == ["127.0.0.1:19093"]
    assert config["global"] == yaml.safe_load(PROMETHEUS_YML)["global"]


def test_password_files_read_from_the_state_directory() -> None:
    """Prometheus authenticates to itself and to Alertmanager (scrape and alerting) with the
    passwords of the state directory; the controller job's auth is not touched."""
    config = yaml.safe_load(_render_prometheus())
    auth = {job["job_name"]: job.get("basic_auth") for job in config["scrape_configs"]}
    assert auth == {
        "vigil-controller": None,
        "prometheus": {"username": "vigil", "password_file": "/state/secrets/prometheus_password"},
        "alertmanager": {
            "username": "vigil",
            "password_file": "/state/secrets/alertmanager_password",
        },
        "temporal-server": None,
        "temporal-sdk": None,
    }
    [alerting] = config["alerting"]["alertmanagers"]
    assert alerting["basic_auth"] == auth["alertmanager"]
    assert re.search(rf"{COMPOSE_SECRETS}/\w", _render_prometheus()) is None


@pytest.mark.parametrize("name", ["prometheus_password", "alertmanager_password"])
def test_a_password_file_that_is_gone_is_an_error(name: str) -> None:
    """A renamed secret must not leave native mode reading a compose path that does not
    exist here (every scrape would fail, and nothing would say why at start)."""
    with pytest.raises(RenderError, match=name):
        render_prometheus(
            PROMETHEUS_YML.replace(f"{COMPOSE_SECRETS}/{name}", "/elsewhere/x"),
            controller="127.0.0.1:1",
            alertmanager="127.0.0.1:2",
            prometheus="127.0.0.1:3",
            secrets_dir=SECRETS_DIR,
            temporal="127.0.0.1:4",
            temporal_sdk="127.0.0.1:5",
        )


def test_bare_words_and_longer_names_are_left_alone() -> None:
    """`vigil-controller`, `controller:80001` or `mycontroller:8000` are other things."""
    text = "a: vigil-controller\nb: controller:80001\nc: mycontroller:8000\nd: [controller:8000]\n"
    rendered = render_alertmanager(
        text + f"e: {TOKEN_PATH}\n", controller="127.0.0.1:1", token_file=Path("/t")
    )
    assert rendered == (
        "a: vigil-controller\nb: controller:80001\nc: mycontroller:8000\nd: [127.0.0.1:1]\ne: /t\n"
    )


def test_a_host_that_is_gone_is_an_error() -> None:
    """A renamed compose service must not leave native mode silently scraping nothing."""
    with pytest.raises(RenderError, match=r"alertmanager:9093"):
        render_prometheus(
            PROMETHEUS_YML.replace("alertmanager:9093", "am:9093"),
            controller="127.0.0.1:1",
            alertmanager="127.0.0.1:2",
            prometheus="127.0.0.1:3",
            secrets_dir=SECRETS_DIR,
            temporal="127.0.0.1:4",
            temporal_sdk="127.0.0.1:5",
        )


def test_test_intervals_override_every_interval_and_cap_the_timeout() -> None:
    """Fast test stacks: scrape and evaluation at 1s, scrape_timeout no longer than that."""
    rendered = yaml.safe_load(_render_prometheus(scrape_interval="1s", evaluation_interval="1s"))
    assert rendered["global"] == {
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "evaluation_interval": "1s",
    }


def test_alertmanager_webhook_and_token_path_rewritten() -> None:
    """The webhook goes to the local controller; the token is the state dir's file."""
    rendered = render_alertmanager(
        ALERTMANAGER_YML, controller="127.0.0.1:18000", token_file=Path("/s/secrets/token")
    )
    assert len(_changed_lines(ALERTMANAGER_YML, rendered)) == 2
    [receiver] = yaml.safe_load(rendered)["receivers"]
    [webhook] = receiver["webhook_configs"]
    assert webhook["url"] == "http://127.0.0.1:18000/alerts/webhook"
    assert webhook["http_config"]["authorization"]["credentials_file"] == "/s/secrets/token"


def test_alertmanager_group_timings_overridden_on_every_route() -> None:
    rendered = yaml.safe_load(
        render_alertmanager(
            ALERTMANAGER_YML,
            controller="127.0.0.1:1",
            token_file=Path("/t"),
            group_wait="1s",
            group_interval="2s",
        )
    )
    routes = [rendered["route"], *rendered["route"]["routes"]]
    assert {(r["group_wait"], r["group_interval"]) for r in routes} == {("1s", "2s")}


@pytest.fixture
def prepared_stack() -> Any:
    state = new_state_dir()
    stack = Stack(stack_settings(state, scrape_interval="1s", evaluation_interval="1s"))
    stack.layout.create()
    stack.prometheus.prepare()
    stack.alertmanager.prepare()
    try:
        yield stack
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_rendered_prometheus_config_passes_promtool(prepared_stack: Stack) -> None:
    """The file `vigil stack up` writes loads, rules included (copied beside it)."""
    config = prepared_stack.layout.part("prometheus") / "prometheus.yml"
    result = subprocess.run(
        [_tool("promtool", "prometheus"), "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alerts.yml" in result.stdout
    assert "recording.yml" in result.stdout
    # promtool does not look for password files: check they are there, private.
    rendered = yaml.safe_load(config.read_text(encoding="utf-8"))
    clients = [*rendered["scrape_configs"], *rendered["alerting"]["alertmanagers"]]
    files = {Path(c["basic_auth"]["password_file"]) for c in clients if "basic_auth" in c}
    secrets = prepared_stack.layout.secrets
    assert files == {secrets / "prometheus_password", secrets / "alertmanager_password"}
    for file in files:
        assert len(file.read_text(encoding="utf-8").strip()) >= 32
        assert stat.S_IMODE(file.stat().st_mode) == 0o600


@pytest.mark.parametrize("part", ["prometheus", "alertmanager"])
def test_web_config_passes_promtool_and_is_private(prepared_stack: Stack, part: str) -> None:
    """The web config each server starts with: valid for exporter-toolkit (promtool check
    web-config), mode 600, a bcrypt hash of the password in secrets/, never the password."""
    web = prepared_stack.layout.part(part) / "web.yml"
    result = subprocess.run(
        [_tool("promtool", "prometheus"), "check", "web-config", str(web)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert stat.S_IMODE(web.stat().st_mode) == 0o600
    password = (prepared_stack.layout.secrets / f"{part}_password").read_text().strip()
    [hashed] = yaml.safe_load(web.read_text())["basic_auth_users"].values()
    assert bcrypt.checkpw(password.encode(), hashed.encode())
    assert password not in web.read_text()


def test_rendered_alertmanager_config_passes_amtool(prepared_stack: Stack) -> None:
    config = prepared_stack.layout.part("alertmanager") / "alertmanager.yml"
    result = subprocess.run(
        [_tool("amtool", "prometheus-alertmanager"), "check-config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(prepared_stack.layout.webhook_token) in config.read_text(encoding="utf-8")
