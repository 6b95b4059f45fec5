"""Vigil: observability for Python (FastAPI) services and LLM agents.

``vigil.instrument(app, service=...)`` instruments your own service; ``python -m vigil serve``
runs the Vigil controller.

The names below are imported on first use (PEP 562), so that ``import vigil.sdk`` in an agent
does not load FastAPI: ``tests/test_public_api.py`` pins both the names and that.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigil.instrumentation import (
        HealthProbes,
        Instrumentation,
        configure_logging,
        current_project_id,
        current_request_id,
        flush_logs,
        instrument,
    )

__all__ = [
    "HealthProbes",
    "Instrumentation",
    "configure_logging",
    "current_project_id",
    "current_request_id",
    "flush_logs",
    "instrument",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("vigil.instrumentation"), name)
    raise AttributeError(f"module 'vigil' has no attribute {name!r}")
