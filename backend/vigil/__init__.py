"""Vigil: observability for Python (FastAPI) services and LLM agents.

``vigil.instrument(app, service=...)`` instruments your own service; ``python -m vigil serve``
runs the Vigil controller.
"""

from vigil.instrumentation import (
    HealthProbes,
    Instrumentation,
    configure_logging,
    current_project_id,
    current_request_id,
    instrument,
)

__all__ = [
    "HealthProbes",
    "Instrumentation",
    "configure_logging",
    "current_project_id",
    "current_request_id",
    "instrument",
]
__version__ = "0.1.0"
