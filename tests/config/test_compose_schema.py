"""docker-compose.observability.yml against the Compose Specification's JSON schema.

The schema ships inside check-jsonschema (PyPI) as the built-in ``vendor.compose-spec``: the
same check as ``docker compose config`` for the file's structure, on machines without Docker
(``make compose-config`` keeps the real one for machines with it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.observability.yml"
E2E_OVERRIDE = ROOT / "docker-compose.e2e.yml"


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert tool is not None, "check-jsonschema is a dev dependency (pyproject.toml)"
    return subprocess.run(
        [tool, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_compose_file_follows_the_compose_specification() -> None:
    result = _check(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_e2e_override_follows_the_specification_and_only_publishes_on_loopback() -> None:
    result = _check(E2E_OVERRIDE)
    assert result.returncode == 0, result.stdout + result.stderr
    services = yaml.safe_load(E2E_OVERRIDE.read_text())["services"]
    assert set(services) <= set(yaml.safe_load(COMPOSE.read_text())["services"])
    for service in services.values():
        assert all(str(port).startswith("127.0.0.1:") for port in service.get("ports", []))


def test_a_broken_compose_file_is_refused(tmp_path: Path) -> None:
    """The check can fail: a service with an unknown key and a port of the wrong type."""
    document = yaml.safe_load(COMPOSE.read_text())
    controller = document["services"]["controller"]
    controller["restart_policy_typo"] = "always"
    controller["ports"] = [{"target": "eight thousand"}]
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(document))
    result = _check(broken)
    assert result.returncode != 0
    assert "restart_policy_typo" in result.stdout + result.stderr
