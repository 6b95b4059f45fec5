"""The endpoint every variant of the overhead benchmark serves, Vigil's and its peers' alike
(no Vigil import: the peers' virtual environment has none)."""

from __future__ import annotations

from fastapi import FastAPI


def build() -> FastAPI:
    """A path-parameter endpoint returning a small JSON object."""
    app = FastAPI()

    @app.get("/items/{item_id}")
    async def get_item(item_id: str) -> dict[str, str]:
        return {"item_id": item_id, "status": "ok"}

    return app
