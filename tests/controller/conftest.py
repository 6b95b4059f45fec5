"""A controller per test on each backend: in-process (TestClient) or served by real uvicorn.

Every controller of a test shares one data directory whose admin key file the test wrote
before the first start (the controller registers it), so tests know the key:
``api`` sends it on every request, ``controller_data.headers`` is it for other clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.ports import free_port
from vigil.auth import new_token
from vigil.controller import create_app
from vigil.controller.server import server_config
from vigil.secret_files import write_new_secret
from vigil.settings import Settings

WEBHOOK_TOKEN = "test-webhook-token"


@dataclass(frozen=True)
class ControllerData:
    """A controller's data directory, with the admin key the test put there."""

    directory: Path
    admin_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


@pytest.fixture
def controller_data(tmp_path: Path) -> ControllerData:
    directory = tmp_path / "controller-data"
    token, _ = new_token()
    write_new_secret(directory / "admin.key", token)
    return ControllerData(directory, token)


def controller_settings(store_url: str, data: ControllerData, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": store_url,
        "alert_webhook_token": WEBHOOK_TOKEN,
        "data_dir": data.directory,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def api(store_url: str, controller_data: ControllerData) -> Iterator[TestClient]:
    """The controller on a fresh database of each backend, lifespan run; every request
    carries the admin key (tests of the keys themselves set or drop the header)."""
    app = create_app(controller_settings(store_url, controller_data))
    with TestClient(app, raise_server_exceptions=False, headers=controller_data.headers) as client:
        yield client


@contextmanager
def serve_in_thread(app: FastAPI, settings: Settings | None = None) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn on a free loopback port; yields its base URL.

    With ``settings``, the server is configured as ``vigil serve`` configures it (bounded
    HTTP protocol, connection limit); without, plainly (for apps that are not the controller).
    """
    port = free_port()
    if settings is None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None)
    else:
        config = server_config(app, settings.model_copy(update={"host": "127.0.0.1", "port": port}))
    config.lifespan = "on"
    # Open SSE streams never end by themselves: bound how long shutdown waits for them.
    config.timeout_graceful_shutdown = 1
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def live_controller(
    store_url: str, controller_data: ControllerData
) -> Callable[..., AbstractContextManager[str]]:
    """A factory: ``with live_controller(**settings) as base_url:`` serves a controller
    (send ``controller_data.headers``)."""

    @contextmanager
    def start(**overrides: object) -> Iterator[str]:
        settings = controller_settings(store_url, controller_data, **overrides)
        with serve_in_thread(create_app(settings), settings) as url:
            yield url

    return start
