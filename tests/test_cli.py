"""The ``vigil`` command line: ``db upgrade`` / ``db current``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def vigil(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_db_upgrade_then_current(tmp_path: Path) -> None:
    """`vigil db upgrade` creates the schema of an empty database and prints its revision;
    `vigil db current` reads it back."""
    url = f"sqlite:///{tmp_path}/data/vigil.db"
    upgraded = vigil("db", "upgrade", "--url", url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    revision = upgraded.stdout.strip().splitlines()[-1]
    assert revision
    current = vigil("db", "current", "--url", url, cwd=tmp_path)
    assert current.stdout.strip().splitlines()[-1] == revision
