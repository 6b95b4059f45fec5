"""Render the compose stack's config files for processes on 127.0.0.1.

Native mode runs the very files the compose stack mounts. Only these change, by text, so the
rest (comments included) stays byte-for-byte the same:

* whole ``host:port`` strings of compose service names (``controller:8000``,
  ``alertmanager:9093``, ``temporal:7235``), Prometheus' own ``localhost:9090`` and the Docker
  host's Temporal worker (``host.docker.internal:9464``) become loopback addresses; a bare
  word such as the job name ``vigil-controller`` is never touched;
* the Alertmanager credentials_file path becomes the state directory's token file, and the
  basic auth password_file paths of prometheus.yml (compose: ``/etc/prometheus/secrets/NAME``)
  the state directory's ``secrets/NAME``;
* on request (tests), every scrape/evaluation interval and Alertmanager group timing.

A string that is no longer in the file is an error: a renamed service must not silently leave
the native stack scraping nothing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from vigil import durations
from vigil.stack._secrets import ALERTMANAGER_PASSWORD, METRICS_KEY, PROMETHEUS_PASSWORD
from vigil.stack.errors import RenderError

COMPOSE_CONTROLLER = "controller:8000"
COMPOSE_ALERTMANAGER = "alertmanager:9093"
PROMETHEUS_SELF = "localhost:9090"
COMPOSE_TEMPORAL = "temporal:7235"
# A Temporal worker is the agent's own process, on the Docker host in compose.
COMPOSE_TEMPORAL_SDK = "host.docker.internal:9464"
COMPOSE_TOKEN_FILE = "/etc/alertmanager/secrets/webhook_token"  # noqa: S105 - a path, no secret
# Where the compose Prometheus mounts the secrets volume, and the files prometheus.yml reads.
COMPOSE_PROMETHEUS_SECRETS = "/etc/prometheus/secrets"
PROMETHEUS_SECRET_FILES = (PROMETHEUS_PASSWORD, ALERTMANAGER_PASSWORD, METRICS_KEY)


def parse_duration(text: str) -> int:
    """A Prometheus/Alertmanager duration such as ``1m30s``, in milliseconds."""
    try:
        return durations.parse_duration(text)
    except ValueError as exc:
        raise RenderError(str(exc)) from None


def replace_exact(text: str, old: str, new: str, *, source: str) -> str:
    """Replace every whole occurrence of ``old`` (not inside a longer name or number)."""
    pattern = re.compile(rf"(?<![\w.-]){re.escape(old)}(?![\w.-])")
    result, count = pattern.subn(lambda _: new, text)
    if count == 0:
        raise RenderError(f"{source}: expected {old!r} to rewrite for native mode, found none")
    return result


def _set_key(text: str, key: str, value: str, *, source: str, cap: str | None = None) -> str:
    """Set every ``key: <duration>`` line to ``value`` (or to min(current, cap) with ``cap``)."""
    pattern = re.compile(rf"^(?P<lead>[ \t]*{re.escape(key)}:[ \t]*)(?P<value>[^\s#]+)", re.M)

    def sub(match: re.Match[str]) -> str:
        new = value
        if cap is not None and parse_duration(match.group("value")) <= parse_duration(cap):
            new = match.group("value")
        return match.group("lead") + new

    result, count = pattern.subn(sub, text)
    if count == 0 and cap is None:
        raise RenderError(f"{source}: no {key!r} to override")
    return result


def render_prometheus(
    text: str,
    *,
    controller: str,
    alertmanager: str,
    prometheus: str,
    secrets_dir: Path,
    temporal: str,
    temporal_sdk: str,
    scrape_interval: str | None = None,
    evaluation_interval: str | None = None,
    source: str = "prometheus.yml",
) -> str:
    """prometheus.yml with each ``host:port`` replaced by the given ``127.0.0.1:PORT`` and each
    password file read from ``secrets_dir``; ``temporal`` is the Temporal server's metrics,
    ``temporal_sdk`` where an agent's worker serves the SDK's."""
    text = replace_exact(text, COMPOSE_CONTROLLER, controller, source=source)
    text = replace_exact(text, COMPOSE_TEMPORAL, temporal, source=source)
    text = replace_exact(text, COMPOSE_TEMPORAL_SDK, temporal_sdk, source=source)
    text = replace_exact(text, COMPOSE_ALERTMANAGER, alertmanager, source=source)
    text = replace_exact(text, PROMETHEUS_SELF, prometheus, source=source)
    for name in PROMETHEUS_SECRET_FILES:
        compose_path = f"{COMPOSE_PROMETHEUS_SECRETS}/{name}"
        text = replace_exact(text, compose_path, str(secrets_dir / name), source=source)
    if scrape_interval is not None:
        parse_duration(scrape_interval)
        text = _set_key(text, "scrape_interval", scrape_interval, source=source)
        # Prometheus rejects a scrape_timeout longer than the interval.
        text = _set_key(text, "scrape_timeout", scrape_interval, source=source, cap=scrape_interval)
    if evaluation_interval is not None:
        parse_duration(evaluation_interval)
        text = _set_key(text, "evaluation_interval", evaluation_interval, source=source)
    return text


def render_alertmanager(
    text: str,
    *,
    controller: str,
    token_file: Path,
    group_wait: str | None = None,
    group_interval: str | None = None,
    source: str = "alertmanager.yml",
) -> str:
    """alertmanager.yml delivering to ``controller`` with the token read from ``token_file``."""
    text = replace_exact(text, COMPOSE_CONTROLLER, controller, source=source)
    text = replace_exact(text, COMPOSE_TOKEN_FILE, str(token_file), source=source)
    for key, value in (("group_wait", group_wait), ("group_interval", group_interval)):
        if value is not None:
            parse_duration(value)
            text = _set_key(text, key, value, source=source)
    return text


def copy_rules(rules_dir: Path, target: Path) -> list[Path]:
    """Make ``target`` hold exactly the ``*.yml`` files of ``rules_dir``; returns the copies."""
    sources = sorted(rules_dir.glob("*.yml"))
    if not sources:
        raise RenderError(f"no *.yml rule files in {rules_dir}")
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.yml"):
        stale.unlink()
    return [Path(shutil.copy2(source, target / source.name)) for source in sources]
