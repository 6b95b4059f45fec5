"""The stack's secrets: one file each, readable by their owner only, generated once and kept.

Native mode keeps them in ``<state>/secrets/`` (directory 700, files 600); the compose stack's
``secrets-init`` job writes the same names into its ``vigil-secrets`` volume
(:mod:`vigil.stack.compose_secrets`). The names are defined here, once: the config files refer
to them by path (``/etc/prometheus/secrets/prometheus_password`` in prometheus.yml) and
native mode rewrites those paths into the state directory (:mod:`vigil.stack._render`).

Every file is created with ``os.open(..., 0o600)``: a secret is never readable by others, not
even between creating the file and a chmod.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Final

# The Alertmanager -> controller webhook bearer token (Alertmanager's credentials_file).
WEBHOOK_TOKEN: Final = "webhook_token"  # noqa: S105 - a file name
# HTTP basic auth passwords of Prometheus and Alertmanager (user vigil, see _web_config.py).
PROMETHEUS_PASSWORD: Final = "prometheus_password"  # noqa: S105 - a file name
ALERTMANAGER_PASSWORD: Final = "alertmanager_password"  # noqa: S105 - a file name
# PostgreSQL: the superuser `postgres`, the controller's role `vigil`, the role `vigil_readonly`.
POSTGRES_PASSWORD: Final = "postgres_password"  # noqa: S105 - a file name
POSTGRES_APP_PASSWORD: Final = "postgres_vigil_password"  # noqa: S105 - a file name
POSTGRES_READONLY_PASSWORD: Final = "postgres_readonly_password"  # noqa: S105 - a file name

# 32 random bytes, URL-safe base64 (43 characters of [A-Za-z0-9_-]): fits in a URL's userinfo
# and a psql literal unquoted, and under bcrypt's 72-byte input limit.
TOKEN_BYTES: Final = 32


def ensure_secret(path: Path) -> str:
    """The secret in ``path``, generated (mode 600) on first use and kept across runs."""
    if path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            path.chmod(0o600)
            return value
    value = secrets.token_urlsafe(TOKEN_BYTES)
    write_private(path, value + "\n")
    return value


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, readable and writable by its owner only (mode 600).

    Written beside it and renamed over it, so a process reading the file (Prometheus reads its
    web config on every request) sees the old content or the new one, never half of it.
    """
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a stale temporary file keeps its old mode through O_TRUNC
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)
