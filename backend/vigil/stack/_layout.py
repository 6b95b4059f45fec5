"""Where each thing lives in the state directory (``.stack/`` by default).

- ``settings.json``: what the last ``up`` ran with (``status`` and ``down`` read it)
- ``logs/<name>.log``: stdout and stderr of each process
- ``run/<name>.pid``: pid of each process (leader of its own process group)
- ``secrets/``: one file per secret (directory 700, files 600; names in ``_secrets.py``):
  ``webhook_token`` (Alertmanager -> controller), ``prometheus_password`` and
  ``alertmanager_password`` (basic auth, user ``vigil``), ``postgres_password`` (superuser
  ``postgres``), ``postgres_vigil_password`` (the controller's role ``vigil``),
  ``postgres_readonly_password`` (``vigil_readonly``)
- ``prometheus/``: rendered prometheus.yml, a copy of the rules, ``data/``
- ``alertmanager/``: rendered alertmanager.yml, ``data/``
- ``postgres/data/``: the cluster (initdb on first run)
- ``controller/``: the SQLite file when PostgreSQL is not available
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vigil.stack._secrets import WEBHOOK_TOKEN


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

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid_file(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def part(self, name: str) -> Path:
        """The directory of one component's config and data."""
        return self.root / name

    def create(self) -> None:
        """Create the shared directories (components create their own)."""
        for directory in (self.root, self.logs, self.run):
            directory.mkdir(parents=True, exist_ok=True)
        self.secrets.mkdir(mode=0o700, exist_ok=True)
        self.secrets.chmod(0o700)
