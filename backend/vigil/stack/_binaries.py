"""Finding the native binaries, and installing the Debian packages that provide them."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

POSTGRES_BINARIES = ("initdb", "pg_ctl", "postgres", "psql")


@dataclass(frozen=True)
class Missing:
    """A binary that was not found, and the package that provides it."""

    binary: str
    package: str
    registry: str = "Debian"

    def __str__(self) -> str:
        return f"{self.binary} ({self.registry} package {self.package})"


def which(name: str) -> Path | None:
    """``name`` on PATH, symlinks resolved (so the process is recognised by its real path)."""
    found = shutil.which(name)
    return Path(found).resolve() if found else None


def venv_binary(name: str) -> Path | None:
    """``name`` beside the running interpreter (what a wheel installs into the venv's bin,
    found even when that directory is not on PATH), else on PATH."""
    beside = Path(sys.executable).parent / name
    if os.access(beside, os.X_OK):
        return beside.resolve()
    return which(name)


def _major(path: str) -> int:
    version = Path(path).parent.name
    return int(version) if version.isdigit() else 0


def postgres_bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl, postgres and psql (newest major version first)."""
    candidates = [os.environ.get("VIGIL_PG_BIN", ""), "/usr/local/bin"]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major, reverse=True)
    candidates.append("/usr/bin")
    for candidate in filter(None, candidates):
        directory = Path(candidate)
        if all(os.access(directory / name, os.X_OK) for name in POSTGRES_BINARIES):
            # /usr/local/bin holds symlinks into /usr/lib/postgresql/N/bin: use the real dir.
            return (directory / "postgres").resolve().parent
    return None


def can_install() -> bool:
    """Whether this process may install Debian packages itself."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def install_native_deps(project: Path, say: Callable[[str], None]) -> bool:
    """Run scripts/install-native-deps.sh (root with apt only); True when it succeeded."""
    script = project / "scripts" / "install-native-deps.sh"
    if not script.is_file() or not can_install():
        return False
    say(f"installing missing Debian packages: bash {script.relative_to(project)}")
    result = subprocess.run(  # noqa: S603 - the project's own install script
        ["/bin/bash", str(script)], cwd=project, check=False, capture_output=True, text=True
    )
    for line in (result.stdout + result.stderr).splitlines()[-5:]:
        say(f"  {line}")
    return result.returncode == 0
