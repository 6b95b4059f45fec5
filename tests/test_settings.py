"""Settings: every variable is documented in .env.example, and defaults need no service."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vigil.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def test_every_setting_is_in_env_example() -> None:
    """Each Settings field has a VIGIL_* line (set or commented) in .env.example."""
    text = ENV_EXAMPLE.read_text()
    documented = set(re.findall(r"^#?\s*(VIGIL_[A-Z0-9_]+)=", text, flags=re.MULTILINE))
    expected = {f"VIGIL_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "add these to .env.example"
    assert documented - expected == set(), "these in .env.example are not settings"


def test_defaults_are_local(monkeypatch: pytest.MonkeyPatch) -> None:
    """With nothing set, the controller binds to loopback:8000 and uses embedded SQLite."""
    for name in Settings.model_fields:
        monkeypatch.delenv(f"VIGIL_{name.upper()}", raising=False)
    settings = Settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.database_url.startswith("sqlite:///")
    assert settings.chaos is False


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    """VIGIL_* variables override defaults, with validation."""
    monkeypatch.setenv("VIGIL_PORT", "9001")
    monkeypatch.setenv("VIGIL_PROJECT_IDS", "a, b,,c")
    settings = Settings()
    assert settings.port == 9001
    assert settings.project_allowlist == ["a", "b", "c"]
    monkeypatch.setenv("VIGIL_PORT", "70000")
    with pytest.raises(ValueError, match="port"):
        Settings()
