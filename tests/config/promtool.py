"""promtool for the config tests: found on PATH, or the test fails saying how to install it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool not found on PATH: install the Debian package 'prometheus' "
            "(sudo scripts/install-native-deps.sh)"
        )
    return path


def check_recording_rules(
    directory: Path, group: str, rules: list[dict[str, str]]
) -> subprocess.CompletedProcess[str]:
    """``promtool check rules`` on one group of recording rules written to ``directory``."""
    rule_file = directory / f"{group}.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": group, "rules": rules}]}))
    return subprocess.run(
        [promtool(), "check", "rules", str(rule_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
