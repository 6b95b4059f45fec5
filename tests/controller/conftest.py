"""A controller per test on each backend: in-process (TestClient) or served by real uvicorn."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from starlette.testclient import TestClient

from tests.ports import free_port
from vigil.controller import create_app
from vigil.settings import Settings

WEBHOOK_TOKEN = "test-webhook-token"


def controller_settings(store_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": store_url,
        "alert_webhook_token": WEBHOOK_TOKEN,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def api(store_url: str) -> Iterator[TestClient]:
    """The controller on a fresh database of each backend, lifespan run."""
    app = create_app(controller_settings(store_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with a real uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    # Open SSE streams never end by themselves: bound how long shutdown waits for them.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
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
def live_controller(store_url: str) -> Callable[..., AbstractContextManager[str]]:
    """A factory: ``with live_controller(**settings) as base_url:`` serves a controller."""

    @contextmanager
    def start(**overrides: object) -> Iterator[str]:
        with serve_in_thread(create_app(controller_settings(store_url, **overrides))) as url:
            yield url

    return start
