"""The endpoint every variant of the overhead benchmark serves, Vigil's and its peers' alike
(no Vigil import: the peers' virtual environment has none)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI


def build() -> FastAPI:
    """A path-parameter endpoint returning a small JSON object."""
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        return {"item_id": item_id, "status": "ok"}

    return app


def built_on_first_use(
    builders: dict[str, Callable[[], FastAPI]], namespace: dict[str, Any]
) -> Callable[[str], FastAPI]:
    """A module ``__getattr__`` (PEP 562) that builds the app named on first access and keeps
    it in ``namespace`` (the module's ``globals()``), so uvicorn's ``module:name`` builds
    only the variant it serves."""

    def module_getattr(name: str) -> FastAPI:
        builder = builders.get(name)
        if builder is None:
            raise AttributeError(name)
        app = namespace[name] = builder()
        return app

    return module_getattr
