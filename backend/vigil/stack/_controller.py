"""The Vigil controller (``vigil serve``), on the stack's PostgreSQL when there is one."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from vigil.stack._binaries import Missing
from vigil.stack._component import Component, http_ok
from vigil.stack._layout import StateLayout, private_dir
from vigil.stack._process import LaunchSpec
from vigil.stack._secrets import ALERTMANAGER_PASSWORD, OPS_TOKEN, ensure_api_key, ensure_secret
from vigil.stack._settings import StackSettings
from vigil.stack._web_config import BASIC_AUTH_USER

SERVE = ["-m", "vigil", "serve"]


class Controller(Component):
    name = "controller"

    def __init__(
        self,
        settings: StackSettings,
        layout: StateLayout,
        database_url: Callable[[], str],
        artifacts_env: Callable[[], dict[str, str]] = dict,
    ) -> None:
        super().__init__(settings, layout)
        self._database_url = database_url
        self._artifacts_env = artifacts_env

    @property
    def port(self) -> int:
        return self.settings.controller_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sqlite_url(self) -> str:
        """The store used when the stack has no PostgreSQL."""
        return f"sqlite:///{self.layout.part(self.name) / 'vigil.db'}"

    def missing(self) -> list[Missing]:
        return []

    def prepare(self) -> None:
        ensure_api_key(self.layout.admin_key)
        ensure_api_key(self.layout.metrics_key)
        private_dir(self.layout.part(self.name))

    def launch_spec(self) -> LaunchSpec:
        env = dict(os.environ)
        env.update(
            # With the role's password: only this process (and root) can read its environment.
            VIGIL_DATABASE_URL=self._database_url(),
            # The token Alertmanager reads from its credentials_file, so both sides agree.
            VIGIL_ALERT_WEBHOOK_TOKEN=ensure_secret(self.layout.webhook_token),
            VIGIL_DATA_DIR=str(self.layout.part(self.name)),
            # API keys generated here (mode 600) and registered by the controller at start-up:
            # the operator's admin key, and the key Prometheus scrapes /metrics with.
            VIGIL_ADMIN_KEY_FILE=str(self.layout.admin_key),
            VIGIL_METRICS_KEY_FILE=str(self.layout.metrics_key),
            VIGIL_METRICS_AUTH="key",
            # Firing alerts Alertmanager no longer holds (after its restart) get resolved.
            VIGIL_ALERTMANAGER_URL=f"http://127.0.0.1:{self.settings.alertmanager_port}",
            VIGIL_ALERTMANAGER_USERNAME=BASIC_AUTH_USER,
            VIGIL_ALERTMANAGER_PASSWORD_FILE=str(self.layout.secret(ALERTMANAGER_PASSWORD)),
            # A span per request in the stack's PostgreSQL (GET /traces/{id}); its trace id
            # on the log lines and the latency exemplars Prometheus keeps. Needs the tracing
            # extra; `controller_env` may turn it off.
            VIGIL_TRACING_ENABLED="true",
            # POST /ops/backup and GET /ops/backups answer this token (secrets/ops_token).
            VIGIL_OPS_TOKEN=ensure_secret(self.layout.secret(OPS_TOKEN)),
            # A backup whenever the newest is older than a day: into SeaweedFS' bucket
            # vigil-backups when it runs, else <controller data>/backups.
            VIGIL_BACKUP_SCHEDULE="daily",
        )
        # SeaweedFS' endpoint, bucket and key id, and its secret as a file (mode 600).
        env.update(self._artifacts_env())
        env.update(self.settings.controller_env)
        argv = [sys.executable, *SERVE, "--host", "127.0.0.1", "--port", str(self.port)]
        return LaunchSpec(argv=argv, cwd=self.settings.project(), env=env)

    def probe(self) -> bool:
        return http_ok(f"{self.url}/health/startup")

    def owns(self, cmdline: list[str]) -> bool:
        return cmdline[1:4] == SERVE
