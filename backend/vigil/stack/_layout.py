"""Where each thing lives in the state directory (``.stack/`` by default).

- ``settings.json``: what the last ``up`` ran with (``status`` and ``down`` read it)
- ``logs/<name>.log``: stdout and stderr of each process
- ``run/<name>.pid``: pid of each process (leader of its own process group)
- ``secrets/webhook_token``: Alertmanager -> controller bearer token (dir 700, file 600)
- ``secrets/admin.key``: the controller's admin API key (file 600), for the operator
- ``prometheus/``: rendered prometheus.yml, a copy of the rules, ``data/``
- ``alertmanager/``: rendered alertmanager.yml, ``data/``
- ``postgres/data/``: the cluster (initdb on first run)
- ``controller/``: the SQLite file when PostgreSQL is not available
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
        return self.secrets / "webhook_token"

    @property
    def admin_key(self) -> Path:
        return self.secrets / "admin.key"

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
