"""Fixtures of the LangGraph integration tests: the repository's paths, the agent process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
AGENT_MODULE = "tests.integrations.langgraph.agent_process"


def agent_env(**extra: str) -> dict[str, str]:
    """The environment of an agent process: this checkout's code, no VIGIL_/LANGFUSE_ leftovers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "LANGFUSE_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "backend"), str(ROOT)])
    return env | extra


def start_agent(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", AGENT_MODULE, *args],
        cwd=ROOT,
        env=agent_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_agent(*args: str, timeout: float = 120, **env: str) -> str:
    """Run the agent process to its end; its stdout (fails with its stderr)."""
    result = subprocess.run(
        [sys.executable, "-m", AGENT_MODULE, *args],
        cwd=ROOT,
        env=agent_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
