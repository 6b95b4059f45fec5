"""A small instrumented app exercising the shapes the instrumentation must handle."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import APIRouter, FastAPI, Request
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

import vigil
from vigil import Instrumentation, configure_logging, flush_logs


@dataclass
class InstrumentedApp:
    app: FastAPI
    client: TestClient
    instrumentation: Instrumentation
    read_logs: Callable[[], list[dict[str, object]]]

    def sample(self, name: str, **labels: str) -> float | None:
        self.settle()
        return self.instrumentation.registry.get_sample_value(name, labels)

    def settle(self, timeout_s: float = 2.0) -> None:
        """Wait until no request is in progress.

        TestClient hands back the response as soon as the last body message is sent, while the
        app's task (in the client's portal thread) still records metrics and the access log.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            in_progress = sum(
                sample.value
                for metric in self.instrumentation.registry.collect()
                if metric.name == "requests_in_progress"
                for sample in metric.samples
            )
            if in_progress == 0:
                return
            time.sleep(0.005)
        raise AssertionError("requests still in progress")


def build_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        return {"item_id": item_id}

    @app.post("/items")
    async def create_item(payload: dict[str, int]) -> dict[str, int]:
        return payload

    @app.get("/projects/{project_id}/things")
    def project_things(project_id: str) -> list[str]:
        return []

    @app.get("/in-progress")
    async def in_progress(request: Request) -> dict[str, float | None]:
        registry = request.app.state.vigil.registry
        labels = {"service": "test-svc", "method": "GET"}
        return {"in_progress": registry.get_sample_value("requests_in_progress", labels)}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom with password=hunter2")

    runs = APIRouter(prefix="/runs")

    @runs.get("/{run_id}")
    def get_run(run_id: str) -> dict[str, str]:
        return {"run_id": run_id}

    app.include_router(runs, prefix="/v1")
    return app


@pytest.fixture
def instrumented() -> Iterator[InstrumentedApp]:
    app = build_app()
    instrumentation = vigil.instrument(
        app, service="test-svc", registry=CollectorRegistry(), configure_logs=False
    )
    stream = io.StringIO()
    configure_logging("test-svc", stream=stream)

    def read_logs() -> list[dict[str, object]]:
        instrumented_app.settle()
        flush_logs()
        lines = stream.getvalue().splitlines()
        stream.seek(0)
        stream.truncate()
        return [json.loads(line) for line in lines if line.strip()]

    with TestClient(app, raise_server_exceptions=False) as client:
        instrumented_app = InstrumentedApp(app, client, instrumentation, read_logs)
        yield instrumented_app


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Vigil's JSON lines into a string, buffered (``flush_interval`` 0.2 s), DEBUG and up."""
    out = io.StringIO()
    configure_logging("svc", "DEBUG", stream=out, flush_interval=0.2)
    yield out
    configure_logging("svc", "INFO", stream=io.StringIO(), flush_interval=0)
