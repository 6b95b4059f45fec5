"""Vigil's instrumentation library: apply it to any FastAPI/Starlette service.

Imported on first use (PEP 562): the SDK reads the request id from ``request_id`` without
loading FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from vigil.instrumentation._instrument import Instrumentation, instrument
    from vigil.instrumentation.json_logging import configure_logging, flush_logs
    from vigil.instrumentation.probes import HealthProbes
    from vigil.instrumentation.project_label import current_project_id
    from vigil.instrumentation.request_id import current_request_id

_HOMES: Final = {
    "HealthProbes": "vigil.instrumentation.probes",
    "Instrumentation": "vigil.instrumentation._instrument",
    "configure_logging": "vigil.instrumentation.json_logging",
    "flush_logs": "vigil.instrumentation.json_logging",
    "current_project_id": "vigil.instrumentation.project_label",
    "current_request_id": "vigil.instrumentation.request_id",
    "instrument": "vigil.instrumentation._instrument",
}

__all__ = [
    "HealthProbes",
    "Instrumentation",
    "configure_logging",
    "current_project_id",
    "current_request_id",
    "flush_logs",
    "instrument",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'vigil.instrumentation' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
