"""The ``vigil`` command line: ``db upgrade`` / ``db current``; commands of missing extras."""

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


AGENT_ONLY = """
import sys
# An agent's install: the core and the langgraph extra, none of the controller's libraries.
for name in ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "bcrypt", "boto3"):
    sys.modules[name] = None
from vigil.cli import main
sys.exit(main(sys.argv[1:]))
"""


def without_the_controller(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", AGENT_ONLY, *args],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_commands_of_a_missing_extra_say_which_extra(tmp_path: Path) -> None:
    """Without the controller's libraries `vigil` still starts: `checkpoints` works, and the
    controller's commands name the extra they need instead of failing at import."""
    listing = without_the_controller("--help", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "(needs pip install 'vigil[stack]')" in listing.stdout
    served = without_the_controller("serve", cwd=tmp_path)
    assert served.returncode == 2
    assert "vigil serve needs the 'controller' extra" in served.stdout
    keys = without_the_controller("keys", "list", cwd=tmp_path)
    assert keys.returncode == 2
    assert "'controller' extra" in keys.stdout
    url = f"sqlite:///{tmp_path}/data/vigil.db"
    pruned = without_the_controller("checkpoints", "prune", "--idle-days", "30", "--url", url,
                                    cwd=tmp_path)  # fmt: skip
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert pruned.stdout == "0 threads idle for more than 30 days deleted\n"
