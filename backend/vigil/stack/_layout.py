"""Where each thing lives in the state directory (``.stack/`` by default).

- ``settings.json``: what the last ``up`` ran with (``status`` and ``down`` read it)
- ``logs/<name>.log``: stdout and stderr of each process, rotated by size to ``<name>.log.1``
  ... (directory 700, files 600)
- ``run/<name>.pid``: pid of each process (leader of its own process group)
- ``secrets/``: one file per secret (directory 700, files 600; names in ``_secrets.py``):
  ``webhook_token`` (Alertmanager -> controller), ``prometheus_password`` and
  ``alertmanager_password`` (basic auth, user ``vigil``), ``postgres_password`` (superuser
  ``postgres``), ``postgres_vigil_password`` (the controller's role ``vigil``),
  ``postgres_readonly_password`` (``vigil_readonly``); ``admin_key`` and ``metrics_key``, the
  controller's admin API key and Prometheus' scrape key (the controller registers both);
  ``ops_token``, the bearer token of the controller's operations endpoints (``/ops/backup``);
  ``s3_access_key_id`` and ``s3_secret_access_key``, SeaweedFS' S3 credentials (the controller
  gets the same pair)
- ``prometheus/`` (700): rendered prometheus.yml, web.yml (600), a copy of the rules, ``data/``
- ``alertmanager/`` (700): rendered alertmanager.yml, web.yml (600), ``data/``
- ``postgres/data/`` (700): the cluster (initdb on first run)
- ``seaweedfs/`` (700): identities.json (600, the S3 credentials), ``data/`` (700)
- ``controller/`` (700): the SQLite file when PostgreSQL is not available, and the artifacts
  when SeaweedFS is not

The state directory itself stays searchable: as root, PostgreSQL runs as the ``postgres``
account, which must reach ``postgres/`` through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vigil.stack._secrets import ADMIN_KEY, METRICS_KEY, WEBHOOK_TOKEN


@dataclass(frozen=True)
class StateLayout:
    """Paths under one state directory."""

    root: Path

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def webhook_token(self) -> Path:
        return self.secret(WEBHOOK_TOKEN)

    def secret(self, name: str) -> Path:
        """The file of one secret (a name from ``_secrets.py``)."""
        return self.secrets / name

    @property
    def admin_key(self) -> Path:
        return self.secret(ADMIN_KEY)

    @property
    def metrics_key(self) -> Path:
        return self.secret(METRICS_KEY)

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def part(self, name: str) -> Path:
        """The directory of one component's config and data."""
        return self.root / name

    def create(self) -> None:
        """Create the shared directories (components create their own)."""
        for directory in (self.root, self.run):
            directory.mkdir(parents=True, exist_ok=True)
        for private in (self.logs, self.secrets):
            private_dir(private)


def private_dir(path: Path) -> Path:
    """``path`` as a directory only its owner may enter (mode 700), created if missing."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # an existing one (from an older version) is tightened too
    return path
