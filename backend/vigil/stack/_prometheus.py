"""Prometheus: the compose stack's prometheus.yml and rules, rendered for 127.0.0.1.

Started without ``--web.enable-lifecycle``: with it, anyone who can reach the port may POST
``/-/quit`` or ``/-/reload`` (a form on any web page will do). A config change is loaded with
SIGHUP (``kill -HUP <pid>``), or by ``vigil stack down`` and ``up``. Every endpoint wants HTTP
basic auth (``web.yml``, see ``_web_config.py``); prometheus.yml gives the scrape and alerting
clients their passwords by file.
"""

from __future__ import annotations

import os

from vigil.stack._binaries import Missing, which
from vigil.stack._component import Component, http_ok
from vigil.stack._layout import private_dir
from vigil.stack._process import LaunchSpec
from vigil.stack._render import copy_rules, render_prometheus
from vigil.stack._secrets import (
    ALERTMANAGER_PASSWORD,
    PROMETHEUS_PASSWORD,
    ensure_api_key,
    ensure_secret,
)
from vigil.stack._web_config import BasicAuth, basic_auth, write_web_config
from vigil.stack.errors import StackError

RENDERED_HEADER = "# Rendered by `vigil stack up` from {source}: edit that file, not this one.\n"


class Prometheus(Component):
    name = "prometheus"

    @property
    def port(self) -> int:
        return self.settings.prometheus_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def credentials(self) -> BasicAuth:
        """The basic auth every request to this Prometheus needs."""
        return basic_auth(self.layout.secret(PROMETHEUS_PASSWORD))

    def missing(self) -> list[Missing]:
        return [] if which("prometheus") else [Missing("prometheus", "prometheus")]

    def prepare(self) -> None:
        directory = private_dir(self.layout.part(self.name))
        private_dir(directory / "data")
        write_web_config(directory / "web.yml", self.credentials)
        # prometheus.yml reads Alertmanager's password too (alerting, scraping it), and the
        # controller's scrape key (the controller registers it when it starts).
        ensure_secret(self.layout.secret(ALERTMANAGER_PASSWORD))
        ensure_api_key(self.layout.metrics_key)
        source = self.settings.project() / "prometheus" / "prometheus.yml"
        settings = self.settings
        text = render_prometheus(
            source.read_text(encoding="utf-8"),
            controller=f"127.0.0.1:{settings.controller_port}",
            alertmanager=f"127.0.0.1:{settings.alertmanager_port}",
            prometheus=f"127.0.0.1:{settings.prometheus_port}",
            secrets_dir=self.layout.secrets,
            temporal=f"127.0.0.1:{settings.temporal_metrics_port}",
            temporal_sdk=f"127.0.0.1:{settings.temporal_sdk_metrics_port}",
            scrape_interval=settings.scrape_interval,
            evaluation_interval=settings.evaluation_interval,
            source=str(source),
        )
        header = RENDERED_HEADER.format(source=source)
        (directory / "prometheus.yml").write_text(header + text, encoding="utf-8")
        # rule_files says rules/*.yml, relative to the config file: the copy sits beside it.
        copy_rules(settings.rules(), directory / "rules")

    def launch_spec(self) -> LaunchSpec:
        directory = self.layout.part(self.name)
        binary = which("prometheus")
        if binary is None:
            raise StackError(f"prometheus: missing {self.missing()[0]}")
        return LaunchSpec(
            argv=[
                str(binary),
                f"--config.file={directory / 'prometheus.yml'}",
                f"--web.config.file={directory / 'web.yml'}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # The trace ids the controller puts on its latency histogram (as the compose
                # stack's Prometheus keeps them): 2.42 and 3.x take the same flag.
                "--enable-feature=exemplar-storage",
            ],
            cwd=directory,
            env=os.environ,
        )

    def probe(self) -> bool:
        return http_ok(f"{self.url}/-/ready", self.credentials)

    def owns(self, cmdline: list[str]) -> bool:
        return bool(cmdline) and os.path.basename(cmdline[0]) == "prometheus"
