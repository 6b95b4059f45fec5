"""The endpoint label against the pinned FastAPI: prefixes of included routers and mounts."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from starlette.testclient import TestClient

import vigil


def endpoints(registry: CollectorRegistry) -> set[str]:
    return {
        sample.labels["endpoint"]
        for metric in registry.collect()
        if metric.name == "request_count"
        for sample in metric.samples
    }


def test_nested_routers_and_mounts() -> None:
    """Nested include_router prefixes and mounted sub-apps appear in the template."""
    app = FastAPI()
    outer = APIRouter(prefix="/outer")
    inner = APIRouter(prefix="/inner")

    @inner.get("/{x}/leaf")
    def leaf(x: str) -> str:
        return x

    outer.include_router(inner)
    app.include_router(outer, prefix="/api")

    sub = FastAPI()

    @sub.get("/things/{k}")
    def thing(k: str) -> str:
        return k

    app.mount("/sub", sub)

    @app.get("/plain/{p}")
    def plain(p: str) -> str:
        return p

    registry = CollectorRegistry()
    vigil.instrument(app, service="svc", registry=registry, configure_logs=False)
    client = TestClient(app)
    assert client.get("/api/outer/inner/1/leaf").status_code == 200
    assert client.get("/sub/things/2").status_code == 200
    assert client.get("/plain/3").status_code == 200
    assert endpoints(registry) == {"/api/outer/inner/{x}/leaf", "/sub/things/{k}", "/plain/{p}"}
