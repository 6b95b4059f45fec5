"""Files that hold secrets (API keys, passwords, tokens): created private, never widened.

A file is created with ``O_CREAT | O_EXCL`` and mode 0600 in one call, so it is never
readable by others, not even for the instant between creating and chmod-ing it; its
directory is made 0700 when Vigil creates it. Reading strips the trailing newline.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def write_new_secret(path: Path, secret: str) -> bool:
    """Write ``secret`` into a new private file; False (nothing written) if ``path`` exists."""
    if not path.parent.exists():
        path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(secret + "\n")
    return True


def read_secret(path: Path) -> str | None:
    """The secret in ``path`` (None when the file is missing or empty)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None
