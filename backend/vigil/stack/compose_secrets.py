"""The compose stack's ``secrets-init`` job: every secret, generated once into its volume.

    python -m vigil.stack.compose_secrets /run/vigil-secrets      (as root: the job is user 0)

The same secrets as native mode's ``.stack/secrets/`` (names and generator from
``_secrets.py``), kept across runs, plus the two web configs with the bcrypt hashes
(``_web_config.py``). The volume is mounted into several containers, so each file is owned by
the container user that reads it, mode 0400, or 0440 when a second one reads it through the
file's group. The uids and gids are the images' own:

- 65534:65534 (nobody): Prometheus and Alertmanager (``USER nobody`` in prometheus/prometheus'
  and prometheus/alertmanager's Dockerfiles; the compose file says so explicitly);
- 10001:10001: the controller (``VIGIL_UID``/``VIGIL_GID`` in backend/Dockerfile);
- 999:999: PostgreSQL's ``postgres`` user (``useradd --uid=999`` in docker-library/postgres'
  Dockerfile): its entrypoint reads ``POSTGRES_PASSWORD_FILE`` and runs the init script;
- 472:0: Grafana (``GF_UID=472``, ``GF_GID=0`` in grafana/grafana's Dockerfile).

Prometheus and Alertmanager share a user, so file modes cannot keep one from reading the
other's files (each other's passwords and web configs); every other service reads only its
own (tests/config/test_compose.py, test_compose_secrets.py). Running one of them as another
uid would separate them; their images' data directories belong to nobody.

Idempotent: existing secrets are kept (PostgreSQL took its passwords at its first start), the
web configs are written again from them, owners and modes set again.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from vigil.stack._secrets import (
    ADMIN_KEY,
    ALERTMANAGER_PASSWORD,
    METRICS_KEY,
    OPS_TOKEN,
    POSTGRES_APP_PASSWORD,
    POSTGRES_PASSWORD,
    POSTGRES_READONLY_PASSWORD,
    PROMETHEUS_PASSWORD,
    WEBHOOK_TOKEN,
    ensure_api_key,
    ensure_secret,
)
from vigil.stack._web_config import BASIC_AUTH_USER, BasicAuth, write_web_config

NOBODY: Final = 65534
CONTROLLER: Final = 10001
POSTGRES: Final = 999
ROOT_GROUP: Final = 0  # Grafana's group

PROMETHEUS_WEB_CONFIG: Final = "prometheus_web.yml"
ALERTMANAGER_WEB_CONFIG: Final = "alertmanager_web.yml"


@dataclass(frozen=True)
class SecretFile:
    """One file of the volume: who owns it, which group may read it too, and its mode."""

    name: str
    uid: int
    gid: int
    mode: int
    api_key: bool = False
    """A controller API key (``vigil_<key_id>_<secret>``), which the controller registers at
    start-up, rather than a random password."""


SECRET_FILES: Final = (
    # Alertmanager's webhook credentials_file; the controller checks the same token.
    SecretFile(WEBHOOK_TOKEN, NOBODY, CONTROLLER, 0o440),
    # Prometheus (scraping itself, its healthcheck); Grafana's datasource, by group.
    SecretFile(PROMETHEUS_PASSWORD, NOBODY, ROOT_GROUP, 0o440),
    # Prometheus (alerting, scraping Alertmanager); Alertmanager's healthcheck; the
    # controller, by group, reconciling its firing alerts with Alertmanager's.
    SecretFile(ALERTMANAGER_PASSWORD, NOBODY, CONTROLLER, 0o440),
    # The superuser `postgres` (POSTGRES_PASSWORD_FILE).
    SecretFile(POSTGRES_PASSWORD, POSTGRES, POSTGRES, 0o400),
    # The controller's role `vigil`: the init script sets it, the controller logs in with it.
    SecretFile(POSTGRES_APP_PASSWORD, POSTGRES, CONTROLLER, 0o440),
    # `vigil_readonly`, for dashboards: set by the init script; Grafana's PostgreSQL
    # datasource, by group.
    SecretFile(POSTGRES_READONLY_PASSWORD, POSTGRES, ROOT_GROUP, 0o440),
    # The controller's admin API key (VIGIL_ADMIN_KEY_FILE): the operator reads it with
    # `docker compose exec controller cat /run/vigil-secrets/admin_key`.
    SecretFile(ADMIN_KEY, CONTROLLER, CONTROLLER, 0o400, api_key=True),
    # Prometheus' scrape key (its credentials_file), registered by the controller.
    SecretFile(METRICS_KEY, NOBODY, CONTROLLER, 0o440, api_key=True),
    # The controller's operations token (POST /ops/backup, GET /ops/backups): the operator
    # reads it with `docker compose exec controller cat /run/vigil-secrets/ops_token`.
    SecretFile(OPS_TOKEN, CONTROLLER, CONTROLLER, 0o400),
)
# Web config -> the password whose hash it holds; each read by its server (nobody) only.
WEB_CONFIGS: Final = {
    PROMETHEUS_WEB_CONFIG: PROMETHEUS_PASSWORD,
    ALERTMANAGER_WEB_CONFIG: ALERTMANAGER_PASSWORD,
}
WEB_CONFIG_FILES: Final = tuple(SecretFile(name, NOBODY, NOBODY, 0o400) for name in WEB_CONFIGS)


def write_compose_secrets(directory: Path, *, chown: bool = True) -> list[SecretFile]:
    """Generate what is missing in ``directory``, write the web configs, set owners (when
    ``chown``) and modes; returns every file it manages."""
    directory.mkdir(parents=True, exist_ok=True)
    # Every container that mounts the volume must get into it; the files protect themselves.
    directory.chmod(0o755)
    values = {
        secret.name: (ensure_api_key if secret.api_key else ensure_secret)(directory / secret.name)
        for secret in SECRET_FILES
    }
    for name, password in WEB_CONFIGS.items():
        write_web_config(directory / name, BasicAuth(BASIC_AUTH_USER, values[password]))
    files = [*SECRET_FILES, *WEB_CONFIG_FILES]
    for file in files:
        path = directory / file.name
        if chown:
            os.chown(path, file.uid, file.gid)
        path.chmod(file.mode)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vigil.stack.compose_secrets",
        description="Write the compose stack's secrets into its volume (the secrets-init job).",
    )
    parser.add_argument("directory", type=Path, help="the mounted vigil-secrets volume")
    parser.add_argument(
        "--no-chown",
        action="store_true",
        help="leave owners alone (a trial as an ordinary user; the containers then cannot read)",
    )
    args = parser.parse_args(argv)
    if not args.no_chown and os.geteuid() != 0:
        parser.error("must run as root to give each file to its reader (or pass --no-chown)")
    for file in write_compose_secrets(args.directory, chown=not args.no_chown):
        print(f"{file.name}: {file.uid}:{file.gid} {file.mode:04o}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
