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

import secrets
from pathlib import Path
from typing import Final

from vigil import secret_files
from vigil.auth import new_token

# The Alertmanager -> controller webhook bearer token (Alertmanager's credentials_file).
WEBHOOK_TOKEN: Final = "webhook_token"  # noqa: S105 - a file name
# HTTP basic auth passwords of Prometheus and Alertmanager (user vigil, see _web_config.py).
PROMETHEUS_PASSWORD: Final = "prometheus_password"  # noqa: S105 - a file name
ALERTMANAGER_PASSWORD: Final = "alertmanager_password"  # noqa: S105 - a file name
# PostgreSQL: the superuser `postgres`, the controller's role `vigil`, the role `vigil_readonly`.
POSTGRES_PASSWORD: Final = "postgres_password"  # noqa: S105 - a file name
POSTGRES_APP_PASSWORD: Final = "postgres_vigil_password"  # noqa: S105 - a file name
POSTGRES_READONLY_PASSWORD: Final = "postgres_readonly_password"  # noqa: S105 - a file name

# SeaweedFS' S3 credentials (its identities file, and the controller's artifact store).
S3_ACCESS_KEY_ID: Final = "s3_access_key_id"
S3_SECRET_ACCESS_KEY: Final = "s3_secret_access_key"  # noqa: S105 - a file name

# The controller's API keys (vigil_<key_id>_<secret>): the operator's admin key, and the key
# Prometheus scrapes /metrics with (scope metrics).
ADMIN_KEY: Final = "admin_key"
METRICS_KEY: Final = "metrics_key"
# The bearer token of the controller's operations endpoints (POST /ops/backup, ...).
OPS_TOKEN: Final = "ops_token"  # noqa: S105 - a file name

# 32 random bytes, URL-safe base64 (43 characters of [A-Za-z0-9_-]): fits in a URL's userinfo
# and a psql literal unquoted, and under bcrypt's 72-byte input limit.
TOKEN_BYTES: Final = 32


def ensure_secret(path: Path) -> str:
    """The password or token in ``path``, generated (mode 600) on first use and kept."""
    return secret_files.ensure_secret(path, lambda: secrets.token_urlsafe(TOKEN_BYTES))


def ensure_api_key(path: Path) -> str:
    """The controller API key in ``path``, generated (mode 600) on first use and kept: the
    controller registers it at start-up (``VIGIL_ADMIN_KEY_FILE``, ``VIGIL_METRICS_KEY_FILE``),
    so the file may exist long before the database does."""
    return secret_files.ensure_secret(path, lambda: new_token()[0])


def ensure_access_key_id(path: Path) -> str:
    """An S3 access key id in ``path`` (``VIGIL`` and 15 random capitals and digits, the
    shape of AWS's), generated on first use and kept. Not a secret, but kept with its
    secret so the two never disagree."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return secret_files.ensure_secret(
        path, lambda: "VIGIL" + "".join(secrets.choice(alphabet) for _ in range(15))
    )


write_private = secret_files.write_private
