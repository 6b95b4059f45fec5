"""Alertmanager: the compose stack's alertmanager.yml, delivering to the local controller.

Its v2 API answers ``Access-Control-Allow-Origin: *`` (there is no flag to change that), so
without authentication any web page a developer opens could POST ``/api/v2/alerts`` and page
someone with a forged alert. Every endpoint wants HTTP basic auth (``web.yml``, see
``_web_config.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

from vigil.stack._binaries import Missing, which
from vigil.stack._component import Component, http_ok
from vigil.stack._layout import private_dir
from vigil.stack._process import LaunchSpec
from vigil.stack._render import render_alertmanager
from vigil.stack._secrets import ALERTMANAGER_PASSWORD
from vigil.stack._web_config import BasicAuth, basic_auth, write_web_config
from vigil.stack.errors import StackError

# Debian ships it as prometheus-alertmanager; upstream tarballs as alertmanager.
BINARY_NAMES = ("prometheus-alertmanager", "alertmanager")
RENDERED_HEADER = "# Rendered by `vigil stack up` from {source}: edit that file, not this one.\n"


class Alertmanager(Component):
    name = "alertmanager"

    @property
    def port(self) -> int:
        return self.settings.alertmanager_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def credentials(self) -> BasicAuth:
        """The basic auth every request to this Alertmanager needs."""
        return basic_auth(self.layout.secret(ALERTMANAGER_PASSWORD))

    def _binary(self) -> Path | None:
        return next(filter(None, map(which, BINARY_NAMES)), None)

    def missing(self) -> list[Missing]:
        return [] if self._binary() else [Missing(BINARY_NAMES[0], "prometheus-alertmanager")]

    def prepare(self) -> None:
        directory = private_dir(self.layout.part(self.name))
        private_dir(directory / "data")
        write_web_config(directory / "web.yml", self.credentials)
        source = self.settings.project() / "alertmanager" / "alertmanager.yml"
        text = render_alertmanager(
            source.read_text(encoding="utf-8"),
            controller=f"127.0.0.1:{self.settings.controller_port}",
            token_file=self.layout.webhook_token,
            group_wait=self.settings.alert_group_wait,
            group_interval=self.settings.alert_group_interval,
            source=str(source),
        )
        header = RENDERED_HEADER.format(source=source)
        (directory / "alertmanager.yml").write_text(header + text, encoding="utf-8")

    def launch_spec(self) -> LaunchSpec:
        directory = self.layout.part(self.name)
        binary = self._binary()
        if binary is None:
            raise StackError(f"alertmanager: missing {self.missing()[0]}")
        return LaunchSpec(
            argv=[
                str(binary),
                f"--config.file={directory / 'alertmanager.yml'}",
                f"--web.config.file={directory / 'web.yml'}",
                f"--storage.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # a single instance: no gossip port
            ],
            cwd=directory,
            env=os.environ,
        )

    def probe(self) -> bool:
        return http_ok(f"{self.url}/-/ready", self.credentials)

    def owns(self, cmdline: list[str]) -> bool:
        return bool(cmdline) and os.path.basename(cmdline[0]) in BINARY_NAMES
