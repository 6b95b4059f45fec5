"""The webhook bearer token shared by Alertmanager (credentials_file) and the controller."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def ensure_webhook_token(path: Path) -> str:
    """The token in ``path``, generated (mode 600) on first use and kept across runs."""
    if path.is_file():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            path.chmod(0o600)
            return token
    token = secrets.token_urlsafe(32)
    # O_CREAT with 0o600: the token is never readable by others, not even for an instant.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    path.chmod(0o600)
    return token
