"""A program run in a fresh interpreter on this checkout's code: for what one process cannot
show of itself (its exit, a fork, a logging config applied after start-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(program: str, *, timeout: float = 60) -> str:
    """Run ``program`` with ``python -c`` (this checkout's backend and tests importable); its
    stdout, once it exited with 0."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "backend"), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
