"""The Vigil controller: the instrumented FastAPI service that records agent runs."""

from vigil.controller.app import create_app

__all__ = ["create_app"]
